# root controls any user's session (README.md, "Live control"): a service
# running as another user (here `nobody`) is armed, listed and disarmed by
# root directly, without runuser; a third user still cannot touch it; and a
# process root starts under the shim never takes rules from a segment that
# another user can write.

trap cleanup_test EXIT
check "the test runs as root" test "$(id -u)" -eq 0
if [ "$(id -u)" -eq 0 ]; then
    # faultline and the shim where nobody can run them.
    bin=$TEST_TMP/bin
    mkdir -p "$bin"
    chmod 755 "$TEST_TMP" "$bin"
    cp "$FAULTLINE" "$SHIM" "$bin/"
    s=$(new_session)
    TEST_SESSIONS+=("$s")
    # The service: waits for a file, then allocates 2 GiB (MemoryError under
    # root's rule, exit 1; fine without it, exit 0).
    go=$TEST_TMP/go
    runuser -u nobody -- env FAULTLINE_DB=none "$bin/faultline" run -s "$s" -- "$PYTHON" -c '
import os, sys, time
for _ in range(200):
    if os.path.exists(sys.argv[1]): break
    time.sleep(0.05)
try:
    bytearray(2 << 30)
    print("allocated")
except MemoryError:
    print("MemoryError")
    sys.exit(1)' "$go" >"$TEST_TMP/service.out" 2>&1 &
    svc=$!
    TEST_PIDS+=("$svc")
    check "the service's session appears" wait_until test -e "/dev/shm/faultline.$s"
    expect_eq "the segment is nobody's" nobody "$(stat -c %U "/dev/shm/faultline.$s")"
    check "root arms a rule in it" bash -c "'$FAULTLINE' enable -s '$s' 'mem.fail min=1GiB name=big' >/dev/null"
    check "root lists it" bash -c "'$FAULTLINE' list -s '$s' | grep -q 'big .*armed'"
    check "root sees its process" bash -c "'$FAULTLINE' status -s '$s' | grep -q python3"
    check "root sees it among the sessions" bash -c "'$FAULTLINE' sessions | grep -q '$s'"
    runuser -u daemon -- "$bin/faultline" list -s "$s" >/dev/null 2>"$TEST_TMP/daemon.err"
    expect_eq "another user cannot list it: exit 2" 2 $?
    check "and is told why" grep -q 'belongs to another user' "$TEST_TMP/daemon.err"
    "$FAULTLINE" run -o none -s "$s" -- true 2>"$TEST_TMP/join.err"
    expect_eq "root cannot start programs into it: exit 2" 2 $?
    check "and is told why" grep -q 'belongs to nobody: programs started by another user' "$TEST_TMP/join.err"
    # A root process told to join it stays out (nobody could fault root's
    # processes otherwise): its 2 GiB allocation is not failed.
    FAULTLINE_SESSION=$s LD_PRELOAD=$SHIM "$PYTHON" -c 'bytearray(2 << 30); print("allocated")' \
        >"$TEST_TMP/root.out" 2>"$TEST_TMP/root.err"
    expect_eq "a root process does not join nobody's session" allocated "$(cat "$TEST_TMP/root.out")"
    check "and warns" grep -q 'belongs to another user' "$TEST_TMP/root.err"
    touch "$go"
    wait_pid "$svc" 20
    expect_eq "the service saw root's rule: MemoryError, exit 1" "1 MemoryError" \
        "$WAIT_RC $(cat "$TEST_TMP/service.out")"
    check "the service's run removed its session" wait_until test ! -e "/dev/shm/faultline.$s"
fi
