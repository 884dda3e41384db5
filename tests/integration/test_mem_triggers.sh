# The common trigger keys on a real program (docs/rules.md "Keys every rule
# takes" and "Order of evaluation"): the target
# (tests/targets/mem_seq.cpp) makes a sequence of malloc(12345) calls and
# prints the numbers of those that failed (and, when spaced out, when each
# one was made). The rules select exactly these calls by size.
#   nth=, after=, every=, after= + every=, times= (the rule retires:
#   `faultline list` says so), start= (nothing fails before), for= (nothing
#   fails after), start= + for= (a window), proc= (in a bash pipeline of two
#   different programs in one session, only the named one fails).

T=$TARGETS/mem_seq
sel='min=12345 max=12345'
sessions=()
trap 'remove_sessions "${sessions[@]}"; cleanup_tmp' EXIT

# failed RULE [COUNT]: the target's "failed:" line under RULE.
failed() {
    LD_PRELOAD=$SHIM FAULTLINE_RULES="$1 $sel" "$T" "${2:-20}" 2>&1 | grep '^failed:'
}
# next_session: a fresh session name in $name, removed at exit.
next_session() {
    name=$(new_session)
    sessions+=("$name")
}
# in_session NAME RULE CMD...: runs CMD in a session the shim creates (it
# outlives the process, so that `faultline list` can read it afterwards).
in_session() {
    LD_PRELOAD=$SHIM FAULTLINE_SESSION=$1 FAULTLINE_RULES=$2 "${@:3}" 2>&1
}
rule_json() {
    "$FAULTLINE" list -s "$1" --json | "$PYTHON" -c '
import json, sys
r = json.load(sys.stdin)[0]
print(" ".join(f"{k}={r[k]}" for k in sys.argv[1:]))' "${@:2}"
}

expect_eq "no trigger key: every call fails" "failed: 1 2 3 4 5" "$(failed 'mem.fail' 5)"
expect_eq "nth=5: only call 5" "failed: 5" "$(failed 'mem.fail nth=5')"
expect_eq "after=15: calls 16-20" "failed: 16 17 18 19 20" "$(failed 'mem.fail after=15')"
expect_eq "every=6: calls 6, 12, 18" "failed: 6 12 18" "$(failed 'mem.fail every=6')"
expect_eq "after=3 every=4: calls 7, 11, 15, 19" "failed: 7 11 15 19" "$(failed 'mem.fail after=3 every=4')"
expect_eq "after=2 times=2: calls 3, 4" "failed: 3 4" "$(failed 'mem.fail after=2 times=2')"
expect_eq "every=2 times=3: calls 2, 4, 6" "failed: 2 4 6" "$(failed 'mem.fail every=2 times=3')"
expect_eq "nth=25 of 20 calls: none" "failed:" "$(failed 'mem.fail nth=25')"

# times= retires the rule; a retired rule is no longer seen.
next_session
out=$(in_session "$name" "mem.fail times=3 $sel name=t3" "$T" 20)
expect_eq "times=3: calls 1, 2, 3" "failed: 1 2 3" "$(grep '^failed:' <<<"$out")"
expect_eq "times=3: list shows the rule retired after 3" "state=retired injected=3 matched=3 seen=3" \
    "$(rule_json "$name" state injected matched seen)"

# nth= and after= count matching calls session-wide: across processes too.
next_session
out=$(in_session "$name" "mem.fail nth=7 $sel" bash -c "'$T' 5; '$T' 5")
expect_eq "nth=7 over two processes of 5 calls: the second's call 2" \
    $'failed:\nfailed: 2' "$(grep '^failed:' <<<"$out")"
next_session
out=$(in_session "$name" "mem.fail after=3 every=3 $sel" bash -c "'$T' 5; '$T' 5")
expect_eq "after=3 every=3 over two processes: calls 6 and 9 of the session" \
    $'failed:\nfailed: 1 4' "$(grep '^failed:' <<<"$out")"

# start=/for=: 80 calls 10 ms apart; "call I T_MS ok|null". The rule is armed
# by the shim a little before main() (T_MS counts from main): the checks
# leave 100 ms for that and for scheduling.
# calls_between OUT LO HI STATE: how many calls in [LO, HI) ms were STATE.
calls_between() {
    awk -v lo="$2" -v hi="$3" -v st="$4" '$1 == "call" && $3 >= lo && $3 < hi && $4 == st { n++ }
        END { print n + 0 }' <<<"$1"
}
calls_in() { calls_between "$1" "$2" "$3" ok; }
nulls_in() { calls_between "$1" "$2" "$3" null; }

next_session
out=$(in_session "$name" "mem.fail start=400ms $sel name=st" "$T" 80 12345 10)
expect_eq "start=400ms: no call before 300 ms failed" 0 "$(nulls_in "$out" 0 300)"
check "start=400ms: calls before 300 ms were made" test "$(calls_in "$out" 0 300)" -ge 20
expect_eq "start=400ms: no call from 400 ms on succeeded" 0 "$(calls_in "$out" 400 100000)"
check "start=400ms: calls from 400 ms on failed" test "$(nulls_in "$out" 400 100000)" -ge 20

next_session
out=$(in_session "$name" "mem.fail for=400ms $sel name=fo" "$T" 80 12345 10)
expect_eq "for=400ms: no call before 300 ms succeeded" 0 "$(calls_in "$out" 0 300)"
check "for=400ms: calls before 300 ms failed" test "$(nulls_in "$out" 0 300)" -ge 20
expect_eq "for=400ms: no call from 400 ms on failed" 0 "$(nulls_in "$out" 400 100000)"
check "for=400ms: calls from 400 ms on succeeded" test "$(calls_in "$out" 400 100000)" -ge 20
expect_eq "for=400ms: list shows the rule retired" "state=retired" "$(rule_json "$name" state)"

out=$(LD_PRELOAD=$SHIM FAULTLINE_RULES="mem.fail start=200ms for=200ms $sel" "$T" 60 12345 10 2>&1)
expect_eq "start=200ms for=200ms: nothing failed before 100 ms" 0 "$(nulls_in "$out" 0 100)"
expect_eq "start=200ms for=200ms: everything in [200, 300) ms failed" 0 "$(calls_in "$out" 200 300)"
check "start=200ms for=200ms: calls in [200, 300) ms were made" test "$(nulls_in "$out" 200 300)" -ge 5
expect_eq "start=200ms for=200ms: nothing failed from 400 ms on" 0 "$(nulls_in "$out" 400 100000)"

# proc=: one session, a bash pipeline of two different programs that both
# allocate 4 MiB blocks; the rule names one of them.
pipeline="'$T' 10 4194304 | { '$TARGETS/mem_new_throw'; cat; }"
next_session
out=$(in_session "$name" 'mem.fail min=4MiB max=4MiB proc=mem_seq name=p' bash -c "$pipeline")
expect_eq "proc=mem_seq: mem_seq's ten 4 MiB calls fail" "failed: 1 2 3 4 5 6 7 8 9 10" \
    "$(grep '^failed:' <<<"$out")"
expect_match "proc=mem_seq: mem_new_throw allocates its 4 MiB" '(^|'$'\n'')vector: allocated 4194304 bytes' "$out"
expect_eq "proc=mem_seq: list counts only mem_seq's calls as matched" "matched=10 injected=10" \
    "$(rule_json "$name" matched injected)"

next_session
out=$(in_session "$name" 'mem.fail min=4MiB max=4MiB proc=mem_new* name=p' bash -c "$pipeline")
expect_eq "proc=mem_new*: mem_seq's calls succeed" "failed:" "$(grep '^failed:' <<<"$out")"
expect_match "proc=mem_new*: mem_new_throw catches std::bad_alloc" 'vector: caught std::bad_alloc' "$out"
expect_match "proc=mem_new*: and its new(nothrow) gets nullptr" 'new\(nothrow\): nullptr' "$out"
