# Transparency with a rule armed that matches nothing (`mem.fail min=1GiB`):
# every allocation takes the shim's slow path (rule evaluation, counters,
# per-thread state) and the host must not notice (docs/pitfalls.md items 2
# reentrancy, 3 TLS, 5 fork, 7 threads, 8 errno).
#
#  - 19 modules of python3's own test suite, unittest's verdict OK;
#  - the sqlite3 script of test_transparency.sh prints exactly what it
#    prints without the shim.
# Needs libpython3.11-testsuite (scripts/install-deps).

source ./transparency_lib.sh

python_suite "python3 test suite under mem.fail min=1GiB" \
    "$FAULTLINE" run -r 'mem.fail min=1GiB' -- :: \
    test_json test_list test_dict test_set test_re test_struct test_bytes test_gc \
    test_weakref test_pickle test_thread test_threading_local test_mmap test_tempfile \
    test_sys test_hashlib test_wait4 test_posix test_select

plain=$(sqlite_run "$TEST_TMP/plain.db")
expect_match "sqlite3 script: integrity ok" $'(^|\n)ok(\n|$)' "$plain"
shimmed=$(sqlite_run "$TEST_TMP/rule.db" "$FAULTLINE" run -r 'mem.fail min=1GiB' --)
expect_eq "sqlite3 script: identical output and dump under a non-matching rule" "$plain" "$shimmed"
shimmed=$(sqlite_run "$TEST_TMP/env.db" env LD_PRELOAD="$SHIM" FAULTLINE_RULES='mem.fail min=1GiB; mem.delay delay=1us min=2GiB')
expect_eq "sqlite3 script: identical under FAULTLINE_RULES (two rules, no match)" "$plain" "$shimmed"
