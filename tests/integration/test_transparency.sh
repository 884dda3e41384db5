# Transparency with no rule armed (the shim never crashes, deadlocks or
# corrupts its host; docs/pitfalls.md items 4-9, 14): test suites nobody
# here wrote pass unchanged under `faultline run`.
#
#  - 21 modules of python3's own test suite (threads, fork, signals, mmap,
#    ptys, subprocess via os.popen, the allocator through every container
#    type), unittest's verdict must be OK;
#  - sqlite3 running a script (a table, 5000 inserts in a transaction, an
#    index, selects, an aggregate, a rolled-back delete, integrity_check,
#    then .dump) prints exactly what it prints without the shim.
# test_transparency_rule.sh does the same with a rule armed that matches
# nothing. Needs libpython3.11-testsuite (scripts/install-deps).

source ./transparency_lib.sh

python_suite "python3 test suite under faultline run, no rule" "$FAULTLINE" run -- :: \
    test_json test_list test_dict test_set test_re test_struct test_bytes test_array \
    test_memoryview test_gc test_threading test_thread test_threading_local test_os \
    test_mmap test_popen test_pty test_fcntl test_resource test_exceptions test_zlib

plain=$(sqlite_run "$TEST_TMP/plain.db")
expect_match "sqlite3 script: integrity ok" $'(^|\n)ok(\n|$)' "$plain"
expect_match "sqlite3 script: counted 5000 rows" $'(^|\n)5000\\|' "$plain"
shimmed=$(sqlite_run "$TEST_TMP/shim.db" "$FAULTLINE" run --)
expect_eq "sqlite3 script: identical output and dump under faultline run" "$plain" "$shimmed"
shimmed=$(sqlite_run "$TEST_TMP/preload.db" env LD_PRELOAD="$SHIM")
expect_eq "sqlite3 script: identical under LD_PRELOAD alone" "$plain" "$shimmed"
