# A C++ program linked with -lsqlite3 recovers from db.error rc=BUSY p=30%
# with its own retry-with-exponential-backoff (docs/rules.md "SQLite",
# db.error; docs/pitfalls.md item 13: errcode/extended_errcode/errmsg and
# reset agree with an
# injected return value; faults at the outermost call only).
#
# tests/targets/db_retry.cpp opens, creates a table with sqlite3_exec,
# prepares one INSERT and steps it N times, then counts the rows, retrying
# every SQLITE_BUSY. Asserted on what the program and the file say:
#  - all N rows are in the table (the program's own count, and sqlite3's
#    afterwards, without the shim: 1..N, no duplicate);
#  - the program retried (> 0), and its retry count equals the rule's
#    `injected`: every BUSY it saw was injected, every injection was seen
#    once (it calls nothing that could be faulted without checking it);
#  - the rule's `seen` = the program's outermost API calls: N + 5 + retries
#    (open, exec, 2 prepares, N+1 steps, one more call per retry); close,
#    finalize, reset, errcode and exec's own prepares/steps are not counted;
#  - every failure was reported consistently by the connection
#    (mismatches=0 over checks > 0).
# The session is shim-created (FAULTLINE_SESSION + FAULTLINE_RULES) so that
# its counters outlive the program; removed at exit.

name=$(new_session)
trap 'rm -f /dev/shm/faultline.$name; cleanup_tmp' EXIT
N=300

out=$("$TARGETS/db_retry" "$TEST_TMP/plain.db" $N 2>&1)
expect_eq "no shim: the program inserts $N rows without a retry" \
    "rows=$N retries=0 open=0 exec=0 prepare=0 step=0 checks=0 mismatches=0 other=0" "$out"

# field KEY TEXT: the value of KEY=... in TEXT.
field() { sed -n "s/.*\\b$1=\\([0-9-]*\\).*/\\1/p" <<<"$2"; }

for seed in 1 2; do
    db=$TEST_TMP/retry$seed.db
    out=$(LD_PRELOAD=$SHIM FAULTLINE_SESSION=$name FAULTLINE_SEED=$seed \
        FAULTLINE_RULES='db.error rc=BUSY p=30% name=busy' "$TARGETS/db_retry" "$db" $N 2>&1)
    rc=$?
    echo "      | seed $seed: $out"
    expect_eq "seed $seed: the program exits 0 (all rows, no mismatch, nothing but BUSY)" 0 "$rc"
    retries=$(field retries "$out")
    expect_eq "seed $seed: its own count is $N rows" $N "$(field rows "$out")"
    check "seed $seed: it retried (retries=$retries > 0)" test "${retries:-0}" -gt 0
    expect_eq "seed $seed: errcode/extended/errmsg/reset agreed" 0 "$(field mismatches "$out")"
    check "seed $seed: and were checked" test "$(field checks "$out")" -gt 0
    json=$("$FAULTLINE" list -s "$name" --json)
    counters=$("$PYTHON" -c 'import json, sys; r = json.loads(sys.argv[1])[0]
print(r["seen"], r["matched"], r["injected"])' "$json")
    read -r seen matched injected <<<"$counters"
    expect_eq "seed $seed: rule's injected = the program's retries" "$retries" "$injected"
    expect_eq "seed $seed: rule's seen = the program's outermost calls (N + 5 + retries)" \
        $((N + 5 + retries)) "$seen"
    expect_eq "seed $seed: matched = seen (no filter)" "$seen" "$matched"
    expect_eq "seed $seed: the file (no shim) holds rows 1..$N once each" "$N|$N|1|$N" \
        "$(sqlite3 "$db" 'SELECT count(*), count(DISTINCT i), min(i), max(i) FROM t')"
    rm -f "/dev/shm/faultline.$name"
done
