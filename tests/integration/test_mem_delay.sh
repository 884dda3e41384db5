# mem.delay as the program measures it (docs/rules.md "Memory"; delay
# accuracy): the target (tests/targets/mem_delay.cpp) times each of its own
# malloc(12345) calls with CLOCK_MONOTONIC. times= bounds how many calls
# stall, jitter= spreads them uniformly over delay ± jitter, size filters
# leave other allocations alone, and a delayed call still succeeds.

T=$TARGETS/mem_delay
sel='min=12345 max=12345' # the target's calls only, not start-up's
# durations OUT: the microseconds of each "call I US" line, one per line.
durations() { awk '$1 == "call" { print $3 }' <<<"$1"; }
count_if() { awk -v lo="$2" -v hi="$3" '$1 >= lo && $1 < hi { n++ } END { print n + 0 }' <<<"$1"; }
median() { sort -n <<<"$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

out=$("$FAULTLINE" run -r "mem.delay delay=20ms times=5 $sel" -- "$T" 20 2>&1)
expect_eq "delay=20ms times=5: exit 0" 0 "$?"
d=$(durations "$out")
expect_eq "20 calls timed" 20 "$(wc -l <<<"$d")"
expect_eq "exactly calls 1-5 took >= 20 ms" "1 2 3 4 5" \
    "$(awk '$1 == "call" && $3 >= 20000 { printf "%s%s", s, $2; s = " " }' <<<"$out")"
expect_eq "the 5 delayed calls took < 50 ms" 5 "$(count_if "$(head -5 <<<"$d")" 20000 50000)"
med=$(median "$(head -5 <<<"$d")")
check "median delayed call within 2 ms of 20 ms (${med} us)" test "$med" -lt 22000
expect_eq "calls 6-20 were not delayed (< 5 ms)" 15 "$(count_if "$(tail -15 <<<"$d")" 0 5000)"
expect_match "delayed calls still succeed" $'\nnulls=0$' "$out"

# Outside the size filter nothing stalls.
out=$(LD_PRELOAD=$SHIM FAULTLINE_RULES="mem.delay delay=20ms $sel" "$T" 20 100 2>&1)
expect_eq "malloc(100) under min=12345: no call delayed" 20 "$(count_if "$(durations "$out")" 0 5000)"

# jitter: 40 calls spread over [10 ms, 30 ms].
out=$(LD_PRELOAD=$SHIM FAULTLINE_RULES="mem.delay delay=20ms jitter=10ms $sel" "$T" 40 2>&1)
d=$(durations "$out")
expect_eq "jitter=10ms: every call took >= 10 ms (and < 40 ms)" 40 "$(count_if "$d" 10000 40000)"
check "jitter=10ms: some calls in [10, 15) ms" test "$(count_if "$d" 10000 15000)" -gt 0
check "jitter=10ms: some calls in [25, 40) ms" test "$(count_if "$d" 25000 40000)" -gt 0
mean=$(awk '{ s += $1 } END { printf "%d", s / NR }' <<<"$d")
check "jitter=10ms: mean within 3 ms of 20 ms (${mean} us)" test "$mean" -gt 17000 -a "$mean" -lt 23000

# jitter larger than delay: never more than delay + jitter, never negative.
out=$(LD_PRELOAD=$SHIM FAULTLINE_RULES="mem.delay delay=5ms jitter=10ms $sel" "$T" 40 2>&1)
d=$(durations "$out")
expect_eq "delay=5ms jitter=10ms: every call < 15 ms (+5 ms slack)" 40 "$(count_if "$d" 0 20000)"
check "delay=5ms jitter=10ms: some calls not delayed at all (< 1 ms)" test "$(count_if "$d" 0 1000)" -gt 0
