# --seed makes p= reproducible (README.md run --seed, docs/rules.md "p= draws
# from a per-thread stream seeded from the session seed, the process name ...
# and the order in which the process's threads first reached a slow path"):
#  - single-threaded target (tests/targets/mem_seq.cpp), mem.fail p=0.1: the
#    same seed gives the same failed call numbers twice, a different seed a
#    different list; through `faultline run --seed` and through
#    FAULTLINE_SEED with FAULTLINE_RULES;
#  - multi-threaded target (tests/targets/mem_threads.cpp): which thread gets
#    which stream depends on scheduling, but the set of per-thread NULL
#    counts is the same for the same seed.

source ./mem_live.sh

T=$TARGETS/mem_seq
rule='mem.fail p=0.1 min=12345 max=12345'
run_seed() { "$FAULTLINE" run --seed "$1" -r "$rule" -- "$T" 2000 2>&1 | grep '^failed:'; }

a=$(run_seed 42)
b=$(run_seed 42)
c=$(run_seed 43)
n=$(wc -w <<<"$a")
n=$((n - 1))
check "seed 42: about 10% of 2000 calls failed ($n)" test "$n" -gt 140 -a "$n" -lt 260
expect_eq "seed 42 twice: the same failed calls" "$a" "$b"
check "seed 43: a different list" test "$a" != "$c"
n=$(wc -w <<<"$c")
check "seed 43: also about 10% ($((n - 1)))" test "$n" -gt 141 -a "$n" -lt 261

# Without the controller: FAULTLINE_SEED seeds the private session.
env_seed() { LD_PRELOAD=$SHIM FAULTLINE_SEED=$1 FAULTLINE_RULES=$rule "$T" 2000 2>&1 | grep '^failed:'; }
a=$(env_seed 7)
expect_eq "FAULTLINE_SEED=7 twice: the same failed calls" "$a" "$(env_seed 7)"
check "FAULTLINE_SEED=8: a different list" test "$a" != "$(env_seed 8)"
# ...and a session the shim creates (FAULTLINE_SESSION) too.
ses_seed() {
    local s
    s=$(new_session)
    LD_PRELOAD=$SHIM FAULTLINE_SESSION=$s FAULTLINE_SEED=$1 FAULTLINE_RULES=$rule "$T" 2000 2>&1 |
        grep '^failed:'
    rm -f "/dev/shm/faultline.$s"
}
expect_eq "FAULTLINE_SESSION + FAULTLINE_SEED=7: the same failed calls" "$a" "$(ses_seed 7)"

# No seed: two runs differ (a fresh random seed each time).
check "no --seed: two runs differ" test "$("$FAULTLINE" run -r "$rule" -- "$T" 2000 | grep '^failed:')" \
    != "$("$FAULTLINE" run -r "$rule" -- "$T" 2000 | grep '^failed:')"

# Threads: 4 workers x 50000 mallocs, p=0.01 armed live so that only their
# calls draw. Sets COUNTS to the sorted per-thread NULL counts for one seed
# (not in $(...): the live helpers must run in this shell).
thread_counts() {
    local name out
    name=$(new_session)
    out=$TEST_TMP/$name.out
    COUNTS=
    start_live "$name" "$out" --seed "$1" -- "$TARGETS/mem_threads" 4 50000 || return 1
    "$FAULTLINE" enable -s "$name" 'mem.fail p=0.01' >/dev/null
    go_live "$name"
    wait_for_line "$out" '^thread 3 ' 10
    finish_live "$name"
    COUNTS=$(sed -n 's/^thread [0-9]* nulls=//p' "$out" | sort -n | tr '\n' ' ')
}
thread_counts 42
a=$COUNTS
thread_counts 42
b=$COUNTS
thread_counts 43
c=$COUNTS
expect_match "threads: four per-thread counts ($a)" '^([0-9]+ ){4}$' "$a"
expect_eq "threads, seed 42 twice: the same per-thread NULL counts" "$a" "$b"
check "threads, seed 43: different counts ($c)" test "$a" != "$c"
