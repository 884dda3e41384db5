# Bad input is refused whole (README.md "Commands": exit codes and error
# format; docs/rules.md: "A bad rule is refused whole, naming the offending
# token ... none is armed if one is bad"; segment checks: docs/segment.md,
# docs/pitfalls.md item 19).
#
#  - bad rules given to enable and run: exit 2, "faultline: CMD: ..." names
#    the offending token, `faultline list` shows nothing new, `run` does not
#    start its command and leaves no segment behind;
#  - the same through FAULTLINE_RULES: one warning, the program runs with no
#    fault;
#  - bad segments (bad magic, ABI version, size, group/other write, another
#    owner): list/status/enable/disable/run refuse with exit 2 and say why,
#    sessions marks them invalid, gc leaves them alone, and a program under
#    the shim with FAULTLINE_SESSION=NAME runs normally, unfaulted, with one
#    warning.

name=$(new_session)
bad_names=()
bad_cleanup() {
    [ -n "${base_pid:-}" ] && kill "$base_pid" 2>/dev/null
    remove_sessions "$name" "${bad_names[@]}"
}
trap 'bad_cleanup; cleanup_tmp' EXIT

# A live session with one rule that matches nothing, held by a sleeping
# process under the shim.
FAULTLINE_SESSION=$name FAULTLINE_RULES='mem.fail min=1GiB name=base' LD_PRELOAD=$SHIM \
    sleep 60 &
base_pid=$!
if ! wait_until test -e "/dev/shm/faultline.$name"; then
    check "the base session exists" false
    return 0
fi
rules_now() { "$FAULTLINE" list -s "$name" --json | "$PYTHON" -c 'import json, sys; print(" ".join(r["name"] for r in json.load(sys.stdin)))'; }
expect_eq "the base session holds one rule" base "$(rules_now)"

# refused DESC TOKEN RULE...: enable RULE... must exit 2, name TOKEN on
# stderr as "faultline: enable: ...", and arm nothing.
refused() {
    local what=$1 token=$2 err rc
    shift 2
    err=$("$FAULTLINE" enable -s "$name" "$@" 2>&1 >/dev/null)
    rc=$?
    expect_eq "$what: exit 2" 2 "$rc"
    checks=$((checks + 1))
    if [[ $err == "faultline: enable: "* && $err == *"$token"* ]]; then
        printf '    ok   %s: the error names %s\n' "$what" "$token"
    else
        printf '    FAIL %s: the error should name %s: [%s]\n' "$what" "$token" "$err"
        failures=$((failures + 1))
    fi
    expect_eq "$what: nothing armed" base "$(rules_now)"
}
refused "unknown kind" "mem.explode" 'mem.explode min=1MiB name=x'
refused "unknown key" "bogus=1" 'mem.fail bogus=1 name=x'
refused "bad size unit" "min=12parsecs" 'mem.fail min=12parsecs name=x'
refused "bad duration unit" "delay=5fortnights" 'mem.delay delay=5fortnights name=x'
refused "p=2" "p=2" 'mem.fail p=2 name=x'
refused "p=150%" "p=150%" 'mem.fail p=150% name=x'
refused "key given twice" "min=2KiB" 'mem.fail min=1KiB min=2KiB name=x'
refused "a rule that can never fire" "acts on recv only" 'net.corrupt on=send name=x'
refused "net.loss on=dns" "never fires" 'net.loss p=1 on=dns name=x'
out=$("$FAULTLINE" run -o none -r 'net.refuse on=recv' -- true 2>&1)
expect_eq "run refuses a rule that can never fire: exit 2" 2 "$?"
expect_match "... and says why" "net.refuse acts on connect only" "$out"
refused "key of another kind" "delay=1ms" 'mem.fail delay=1ms name=x'
refused "a required key missing" "limit=" 'mem.limit name=x'
refused "not KEY=VALUE" "minimal" 'mem.fail minimal name=x'
refused "unknown fn= item" "fn=mallocx" 'mem.fail fn=mallocx name=x'
refused "times=0" "times=0" 'mem.fail times=0 name=x'
refused "second rule of two arguments bad" "zz=1" 'mem.fail min=1MiB name=x' 'mem.fail zz=1 name=y'
refused "second rule of 'A; B' bad" "zz=1" 'mem.fail min=1MiB name=x; mem.fail zz=1 name=y'
# A name already armed is bad input too (exit 2), and the error says which.
refused "name already armed" "base" 'mem.fail min=1MiB name=base'
refused "one name twice in one enable" "twin" 'mem.fail min=1MiB name=twin' 'mem.fail min=2MiB name=twin'

# Usage errors of enable/disable.
"$FAULTLINE" enable -s "$name" >/dev/null 2>&1
expect_eq "enable without a rule: exit 2" 2 $?
err=$("$FAULTLINE" disable -s "$name" nosuchrule 2>&1)
expect_eq "disable of an unknown rule: exit 2" 2 $?
expect_match "disable names the unknown rule" 'nosuchrule' "$err"
expect_eq "still only the base rule" base "$(rules_now)"

# run with a bad rule: exit 2, the command never starts, no segment left.
marker=$TEST_TMP/started
err=$("$FAULTLINE" run -s "$name-run" -r 'mem.fail min=1MiB' -r 'mem.fial' -- touch "$marker" 2>&1)
expect_eq "run with a bad rule: exit 2" 2 $?
expect_match "run names the bad token" "^faultline: run: .*mem\.fial" "$err"
check "run with a bad rule does not start the command" test ! -e "$marker"
check "run with a bad rule leaves no segment" test ! -e "/dev/shm/faultline.$name-run"

# FAULTLINE_RULES: refused whole, one warning naming the token, no fault.
out=$(LD_PRELOAD=$SHIM FAULTLINE_RULES='mem.fail min=64MiB; mem.fail p=2' "$PYTHON" -c '
try:
    bytearray(100 << 20)
    print("ok")
except MemoryError:
    print("MemoryError")' 2>"$TEST_TMP/err")
expect_eq "FAULTLINE_RULES with a bad rule: nothing armed, python3 allocates" ok "$out"
expect_match "FAULTLINE_RULES: the warning names the token" 'faultline: shim: .*p=2' "$(cat "$TEST_TMP/err")"
expect_eq "FAULTLINE_RULES: warned once" 1 "$(grep -c 'FAULTLINE_RULES' "$TEST_TMP/err")"

# -- bad segments -------------------------------------------------------------------
# A valid segment to copy from: created by the shim, kept in $TEST_TMP
# (gc below would remove it from /dev/shm: nobody is attached).
good=$(new_session)
bad_names+=("$good")
FAULTLINE_SESSION=$good LD_PRELOAD=$SHIM /bin/true
size=$(stat -c %s "/dev/shm/faultline.$good" 2>/dev/null)
check "the shim created a segment to copy ($size bytes, mode 0600)" \
    test "$(stat -c %a "/dev/shm/faultline.$good" 2>/dev/null)" = 600
cp "/dev/shm/faultline.$good" "$TEST_TMP/good.seg"
rm -f "/dev/shm/faultline.$good"

# make_bad KIND NAME: a copy of the good segment named NAME, broken as KIND.
make_bad() {
    local f=/dev/shm/faultline.$2
    cp "$TEST_TMP/good.seg" "$f"
    case $1 in
    magic) printf 'NOTFAULT' | dd of="$f" conv=notrunc status=none ;;
    version) printf '\x63\x00\x00\x00' | dd of="$f" bs=1 seek=8 conv=notrunc status=none ;;
    size) truncate -s 4096 "$f" ;;
    mode) chmod 0620 "$f" ;;
    othermode) chmod 0602 "$f" ;;
    owner) chown nobody "$f" ;;
    esac
}

probe='
try:
    bytearray(100 << 20)
    print("ok")
except MemoryError:
    print("MemoryError")'
kinds="magic version size mode othermode"
for kind in $kinds; do
    case $kind in
    magic) why='bad magic' ;;
    version) why='version' ;;
    size) why='size' ;;
    mode | othermode) why='writable by group or others' ;;
    esac
    s=$(new_session)-$kind
    bad_names+=("$s")
    make_bad "$kind" "$s"
    rm -f "$marker"
    for cmd in list status; do
        err=$("$FAULTLINE" "$cmd" -s "$s" 2>&1)
        expect_eq "bad $kind: $cmd exits 2" 2 $?
        expect_match "bad $kind: $cmd says why" "^faultline: $cmd: session '$s': .*$why" "$err"
    done
    err=$("$FAULTLINE" enable -s "$s" 'mem.fail min=64MiB' 2>&1)
    expect_eq "bad $kind: enable exits 2" 2 $?
    expect_match "bad $kind: enable says why" "$why" "$err"
    "$FAULTLINE" disable -s "$s" --all 2>/dev/null
    expect_eq "bad $kind: disable --all exits 2" 2 $?
    "$FAULTLINE" run -s "$s" -- touch "$marker" 2>/dev/null
    expect_eq "bad $kind: run exits 2" 2 $?
    check "bad $kind: run does not start the command" test ! -e "$marker"
    state=$("$FAULTLINE" sessions --json | "$PYTHON" -c '
import json, sys
s = [x for x in json.load(sys.stdin) if x["name"] == sys.argv[1]]
print("valid" if s and s[0]["valid"] else "invalid:" + (s[0]["problem"] if s else "missing"))' "$s")
    expect_match "bad $kind: sessions marks it invalid" "^invalid:.*$why" "$state"
    "$FAULTLINE" gc >/dev/null
    check "bad $kind: gc leaves it alone" test -e "/dev/shm/faultline.$s"

    # A program under the shim that names it: runs, unfaulted, one warning.
    out=$(FAULTLINE_SESSION=$s FAULTLINE_RULES='mem.fail min=64MiB' LD_PRELOAD=$SHIM \
        "$PYTHON" -c "$probe" 2>"$TEST_TMP/err")
    expect_eq "bad $kind: python3 under the shim allocates 100 MiB" ok "$out"
    expect_eq "bad $kind: one warning naming the session" 1 \
        "$(grep -c "^faultline: shim: session $s" "$TEST_TMP/err")"
    expect_match "bad $kind: the warning says why" "$why" "$(cat "$TEST_TMP/err")"
done

# Another user's segment: root's CLI may control it (test_cli_root_control.sh),
# but root does not start programs into it, and a program under the shim
# never takes its rules.
if [ "$(id -u)" != 0 ]; then
    echo "    note: not root: cannot chown a segment to nobody; 'another owner' not tested"
else
    s=$(new_session)-owner
    bad_names+=("$s")
    make_bad owner "$s"
    rm -f "$marker"
    "$FAULTLINE" run -s "$s" -- touch "$marker" 2>"$TEST_TMP/err"
    expect_eq "another owner: run exits 2" 2 $?
    check "another owner: run does not start the command" test ! -e "$marker"
    check "another owner: run says whose it is" grep -q "belongs to nobody" "$TEST_TMP/err"
    out=$(FAULTLINE_SESSION=$s FAULTLINE_RULES='mem.fail min=64MiB' LD_PRELOAD=$SHIM \
        "$PYTHON" -c "$probe" 2>"$TEST_TMP/err")
    expect_eq "another owner: python3 under the shim allocates 100 MiB" ok "$out"
    expect_match "another owner: the shim's warning says why" 'another user' "$(cat "$TEST_TMP/err")"
fi
