# Calls that reach the shim at awkward moments (calls made before its own
# constructor all work; docs/pitfalls.md items 4 order, 7 threads, 8
# signals).
#
#  - early_ctor links libearly_alloc.so, whose constructor runs before the
#    shim's (checked with LD_DEBUG) and calls malloc, calloc, realloc,
#    posix_memalign, aligned_alloc, memalign, strdup, new, and whose
#    destructor allocates after the shim's destructor. Blocks allocated
#    before the shim's constructor are checked, grown and freed after it.
#    The program runs the same with no rule, with rules armed (mem.fail,
#    mem.limit, mem.delay) through FAULTLINE_RULES and through faultline run,
#    and a rule armed before the shim is initialised never applies to the
#    constructor's calls, only to later ones.
#  - signal_alloc: a signal handler calls malloc/free (the hook runs inside
#    the handler) while 3 threads are busy in malloc under a p=50% rule: no
#    deadlock, errno untouched on calls that were not faulted, and the
#    rule's counters equal the calls and NULLs the program counted.
# Targets: tests/targets/libearly_alloc.cpp, early_ctor.cpp, signal_alloc.cpp.

source ./mem_live.sh

early=$TARGETS/early_ctor

# The scenario is real: the library's constructor runs before the shim's,
# its destructor after the shim's.
order=$(LD_DEBUG=files LD_PRELOAD=$SHIM "$early" 2>&1 | sed -n 's/.*calling \(init\|fini\): \(.*\/\)\?\([^ /]*\).*/\1 \3/p' |
    grep -E 'libearly_alloc|libfaultline' | tr '\n' ' ')
expect_eq "ld.so: libearly_alloc's ctor before the shim's, its dtor after" \
    "init libearly_alloc.so init libfaultline.so fini libfaultline.so fini libearly_alloc.so " "$order"

expected_plain="ctor ok=10 bad=0
release bad=0
main big=ok small=ok
dtor ok"
expected_faulted="ctor ok=10 bad=0
release bad=0
main big=null small=ok
dtor ok"

out=$(timeout 10 "$early" 2>&1)
expect_eq "without the shim" "$expected_plain" "$out"
out=$(LD_PRELOAD=$SHIM timeout 10 "$early" 2>&1)
expect_eq "under the shim, no rule" "$expected_plain" "$out"
out=$(timeout 10 "$FAULTLINE" run -- "$early" 2>&1)
expect_eq "under faultline run, no rule" "$expected_plain" "$out"

# mem.fail min=1MiB: the constructor's 2 MiB malloc ran before the shim was
# initialised and must not fail; main's 2 MiB malloc must.
out=$(LD_PRELOAD=$SHIM FAULTLINE_RULES='mem.fail min=1MiB' timeout 10 "$early" 2>&1)
expect_eq "FAULTLINE_RULES mem.fail min=1MiB: only main's 2 MiB fails" "$expected_faulted" "$out"
out=$(timeout 10 "$FAULTLINE" run -r 'mem.fail min=1MiB' -- "$early" 2>&1)
expect_eq "faultline run mem.fail min=1MiB: only main's 2 MiB fails" "$expected_faulted" "$out"
name=$(new_session)
LIVE_SESSIONS+=("$name")
out=$(LD_PRELOAD=$SHIM FAULTLINE_SESSION=$name FAULTLINE_RULES='mem.fail min=1MiB' timeout 10 "$early" 2>&1)
expect_eq "shim-created named session, mem.fail min=1MiB" "$expected_faulted" "$out"
rm -f "/dev/shm/faultline.$name"

# mem.limit tracks blocks; pre-init blocks freed and realloc'ed after init
# were never tracked and must not confuse it.
out=$(LD_PRELOAD=$SHIM FAULTLINE_RULES='mem.limit limit=1MiB' timeout 10 "$early" 2>&1)
expect_eq "mem.limit limit=1MiB: pre-init blocks released, 2 MiB refused" "$expected_faulted" "$out"
# mem.delay: every call takes the slow path, none fails.
out=$(LD_PRELOAD=$SHIM FAULTLINE_RULES='mem.delay delay=1us' timeout 10 "$early" 2>&1)
expect_eq "mem.delay delay=1us: everything succeeds" "$expected_plain" "$out"
# A rule that faults most small calls after init: the pre-init blocks'
# frees still work (the process may print less, but must not crash).
LD_PRELOAD=$SHIM FAULTLINE_RULES='mem.fail max=64 p=50%' FAULTLINE_SEED=7 timeout 10 "$early" >/dev/null 2>&1
rc=$?
check "mem.fail max=64 p=50%: no crash (exit $rc)" test "$rc" -lt 124

# -- signal handlers and threads ---------------------------------------------------
name=$(new_session)
out=$TEST_TMP/signal.out
if start_live "$name" "$out" -- "$TARGETS/signal_alloc" 3 5000; then
    "$FAULTLINE" enable -s "$name" 'mem.fail min=1000 max=1000 p=50% name=coin' >/dev/null
    go_live "$name"
    check "signal_alloc finishes (10 s at most)" wait_for_line "$out" '^worker_calls=' 10
    line=$(grep '^worker_calls=' "$out")
    field() { grep -o "\b$1=[0-9]*" <<<"$line" | cut -d= -f2; }
    wc=$(field worker_calls) wn=$(field worker_nulls) hc=$(field handler_calls) hn=$(field handler_nulls)
    expect_eq "the handler ran once per signal" 5000 "$hc"
    check "the handler's malloc was faulted sometimes ($hn of $hc)" test "${hn:-0}" -gt 1500 -a "${hn:-0}" -lt 3500
    check "the workers' mallocs were faulted ($wn of $wc)" test "${wn:-0}" -gt 0
    expect_eq "errno untouched by calls that were not faulted" 0 "$(field clobbered)"
    expect_eq "list: matched == the program's calls" "$((wc + hc))" "$(rule_field "$name" coin matched)"
    expect_eq "list: injected == the program's NULLs" "$((wn + hn))" "$(rule_field "$name" coin injected)"
    finish_live "$name"
    expect_eq "signal_alloc exits 0" 0 "$LIVE_RC"
else
    check "signal_alloc ready" false
    sed 's/^/      | /' "$out"
fi
