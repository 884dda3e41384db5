# 8 threads × 200000 mallocs of mixed sizes under `mem.fail p=0.01`: each
# thread counts the NULLs it got; the rule's counters must agree with the
# program exactly: injected == the NULLs the program saw, matched == seen ==
# the mallocs it made. The rule is armed live (faultline enable) while the
# threads wait on a barrier, so nothing else in the process (start-up, stdio,
# thread creation) reaches it. Proves that counting is exact under threads
# (docs/pitfalls.md item 7: per-thread slots, atomics) and that p= injects
# about p (docs/rules.md "Keys every rule takes", README.md list). Then
# times=, every=, nth= and
# after=, which count session-wide, give exact NULL totals under 4 threads.
# Target: tests/targets/mem_threads.cpp.

source ./mem_live.sh

name=$(new_session)
out=$TEST_TMP/threads.out
if ! start_live "$name" "$out" -- "$TARGETS/mem_threads" 8 200000; then
    check "target ready" false
    sed 's/^/      | /' "$out"
    return 0
fi
id=$("$FAULTLINE" enable -s "$name" 'mem.fail p=0.01 name=threads')
expect_match "enable prints the rule id" '^[0-9]+$' "$id"
go_live "$name"
check "the threads finish (10 s at most)" wait_for_line "$out" '^calls=' 10

calls=$(sed -n 's/^calls=\([0-9]*\) .*/\1/p' "$out")
nulls=$(sed -n 's/^calls=[0-9]* nulls=\([0-9]*\)$/\1/p' "$out")
expect_eq "the program made 8 x 200000 mallocs" 1600000 "$calls"
# p=0.01 of 1.6 M calls: 16000 expected, sd ~126; ±1500 is ~12 sd.
check "the program saw about 1% NULLs ($nulls)" test "${nulls:-0}" -gt 14500 -a "${nulls:-0}" -lt 17500
check "every thread saw NULLs" test "$(grep -c -E '^thread [0-9] nulls=[1-9]' "$out")" -eq 8

injected=$(rule_field "$name" threads injected)
matched=$(rule_field "$name" threads matched)
seen=$(rule_field "$name" threads seen)
expect_eq "list: injected == NULLs the program saw" "$nulls" "$injected"
expect_eq "list: matched == mallocs the program made" "$calls" "$matched"
expect_eq "list: seen == mallocs the program made" "$calls" "$seen"

# status counts per function too; its injections are the program's NULLs.
malloc_injected=$("$FAULTLINE" status -s "$name" --json | "$PYTHON" -c '
import json, sys
print([f for f in json.load(sys.stdin)["functions"] if f["function"] == "mem.malloc"][0]["injected"])')
expect_eq "status: mem.malloc injected == NULLs the program saw" "$nulls" "$malloc_injected"

finish_live "$name"
expect_eq "target and faultline run exit 0" 0 "$LIVE_RC"
check "faultline run removed its session" test ! -e "/dev/shm/faultline.$name"

# Session-wide counting under threads: times=, every= and nth= are exact no
# matter how the 4 x 50000 calls interleave.
# threads_under RULE: runs the target with RULE armed live; sets NULLS (the
# program's total) and STATE (the rule's state in `faultline list`).
threads_under() {
    local name out
    name=$(new_session)
    out=$TEST_TMP/$name.out
    NULLS=
    STATE=
    start_live "$name" "$out" -- "$TARGETS/mem_threads" 4 50000 || return 1
    "$FAULTLINE" enable -s "$name" "$1 name=r" >/dev/null
    go_live "$name"
    wait_for_line "$out" '^calls=' 10
    NULLS=$(sed -n 's/^calls=200000 nulls=//p' "$out")
    STATE=$(rule_field "$name" r state)
    finish_live "$name"
}
threads_under 'mem.fail times=1000'
expect_eq "times=1000 under 4 threads: exactly 1000 NULLs" 1000 "$NULLS"
expect_eq "times=1000: the rule retired" retired "$STATE"
threads_under 'mem.fail every=1000'
expect_eq "every=1000 under 4 threads: exactly 200 NULLs" 200 "$NULLS"
threads_under 'mem.fail nth=123456'
expect_eq "nth=123456 under 4 threads: exactly one NULL" 1 "$NULLS"
threads_under 'mem.fail after=199990'
expect_eq "after=199990 under 4 threads: exactly 10 NULLs" 10 "$NULLS"
