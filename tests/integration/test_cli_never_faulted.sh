# The faultline CLI is never faulted, even when a faulted script calls it
# with LD_PRELOAD and FAULTLINE_SESSION in its environment (README.md
# "Commands": every live command takes -s from FAULTLINE_SESSION).
#
# The script runs under two rules: `mem.fail min=1KiB proc=faultline` would
# break any process named faultline that allocates 1 KiB (the CLI does: rule
# tables, stdio buffers), and `mem.fail min=64MiB proc=python3` shows the
# session is live. From inside the script, without -s: list, status, enable,
# disable all work; the rule aimed at the CLI never even matched one of its
# calls; the CLI did not attach to the session. The control: a copy of
# python3 named "faultline" (same comm, no marker) is broken by the same
# rule, and only then does the rule count matches and injections.

name=$(new_session)
trap 'rm -f "/dev/shm/faultline.$name"; cleanup_tmp' EXIT

fake=$TEST_TMP/faultline # python3 under the CLI's name
cp "$PYTHON" "$fake"

script=$TEST_TMP/faulted.sh
cat >"$script" <<EOF
fl=$FAULTLINE
py=$PYTHON
fake=$fake
tmp=$TEST_TMP
EOF
cat >>"$script" <<'EOF'
say() { printf '%s\n' "$*"; }
say "env: $(env | grep -c -E '^LD_PRELOAD=.*libfaultline|^FAULTLINE_SESSION=')"
"$py" -c '
try:
    bytearray(100 << 20)
    print("python3: ok")
except MemoryError:
    print("python3: MemoryError")'

"$fl" list >"$tmp/list.txt" 2>&1
say "list rc=$?"
"$fl" status --json >"$tmp/status.json" 2>&1 &
status_pid=$!
wait "$status_pid"
say "status rc=$? pid=$status_pid"
id=$("$fl" enable 'mem.fail min=32MiB max=33MiB name=inner' 2>&1)
say "enable rc=$? id=$id"
"$fl" disable inner 2>&1
say "disable rc=$?"
"$fl" list --json >"$tmp/list1.json" 2>&1
say "list --json rc=$?"
"$fl" hooks >/dev/null 2>&1
say "hooks rc=$?"
"$fl" sessions >/dev/null 2>&1
say "sessions rc=$?"

# The control: the same rule breaks a process named faultline without the
# marker. Either python3 cannot even start, or it cannot allocate.
"$fake" -c 'bytearray(4096); print("fake: alive")' >"$tmp/fake.out" 2>&1
say "fake rc=$?"
"$fl" list --json >"$tmp/list2.json" 2>&1
say "list after fake rc=$?"
EOF

out=$("$FAULTLINE" run -s "$name" -r 'mem.fail min=1KiB proc=faultline name=cli' \
    -r 'mem.fail min=64MiB proc=python3 name=py' -- bash "$script" 2>&1)
rc=$?
expect_eq "the faulted script exits 0" 0 "$rc"
expect_match "the CLI runs with the shim and the session in its environment" $'(^|\n)env: 2(\n|$)' "$out"
expect_match "the session injects (python3 raised MemoryError)" $'\npython3: MemoryError\n' "$out"
expect_match "list works from inside (exit 0)" $'\nlist rc=0\n' "$out"
check "list shows both rules" grep -q -E 'cli .*proc=faultline' "$TEST_TMP/list.txt"
expect_match "status works from inside (exit 0)" $'\nstatus rc=0 pid=[0-9]+\n' "$out"
expect_match "enable works from inside (exit 0, prints the id)" $'\nenable rc=0 id=3\n' "$out"
expect_match "disable works from inside (exit 0)" $'\ndisable rc=0\n' "$out"
expect_match "list --json, hooks, sessions work from inside" \
    $'\nlist --json rc=0\nhooks rc=0\nsessions rc=0\n' "$out"

# The CLI did not attach itself to the session.
status_pid=$(sed -n 's/^status rc=0 pid=//p' <<<"$out")
attached=$("$PYTHON" -c '
import json, sys
print(" ".join(str(p["pid"]) for p in json.load(open(sys.argv[1]))["processes"]))' \
    "$TEST_TMP/status.json" 2>&1)
expect_match "status lists the script's processes" '^[0-9]+( [0-9]+)*$' "$attached"
check "the CLI's own pid ($status_pid) is not attached" test -n "$status_pid" -a "${attached/$status_pid/}" = "$attached"

# rule_of FILE NAME FIELD
rule_of() {
    "$PYTHON" -c '
import json, sys
print([r for r in json.load(open(sys.argv[1])) if r["name"] == sys.argv[2]][0][sys.argv[3]])' "$@" 2>&1
}
expect_eq "after 7 CLI calls: the rule aimed at the CLI matched nothing" 0 "$(rule_of "$TEST_TMP/list1.json" cli matched)"
expect_eq "after 7 CLI calls: and injected nothing" 0 "$(rule_of "$TEST_TMP/list1.json" cli injected)"
expect_eq "the inner rule armed from inside is listed, disarmed" retired "$(rule_of "$TEST_TMP/list1.json" inner state)"

# Control.
expect_match "control: a python3 named faultline is broken by the rule" \
    $'\nfake rc=[1-9][0-9]*\n' "$out"
check "control: it never printed" test "$(grep -c 'fake: alive' "$TEST_TMP/fake.out")" = 0
check "control: the rule matched its calls" test "$(rule_of "$TEST_TMP/list2.json" cli matched)" -gt 0
check "control: the rule injected" test "$(rule_of "$TEST_TMP/list2.json" cli injected)" -gt 0
