# Durability under file-layer faults (docs/rules.md "SQLite" db.io: SQLite
# itself reacts as to a real disk fault; docs/pitfalls.md item 13: the
# wrapping VFS).
#
# python3 commits numbered transactions one by one (BEGIN; 4 INSERTs of
# (txn, k); COMMIT; synchronous=FULL) and prints "ok N" for each COMMIT it saw
# succeed, "fail N <error>" otherwise (then tries ROLLBACK), under
# `db.io op=write,sync p=20%` and separately `... rc=FULL`, in
# rollback-journal mode and in WAL mode (wal_autocheckpoint=8 so that
# checkpoints run, and fail, along the way). Afterwards, without the shim:
#  - PRAGMA integrity_check says ok;
#  - every transaction python3 saw committed is there, all 4 rows;
#  - no transaction it saw fail is there in part; in rollback-journal mode
#    none is there at all (the journal's deletion is the commit point and is
#    never faulted). In WAL mode a COMMIT whose frames were written but whose
#    sync failed is reported failed, yet a later reader that recovers the WAL
#    may find it whole: an indeterminate commit, as on a real disk; counted,
#    allowed only whole;
#  - no row of a transaction never attempted.
# The runs must have seen both outcomes (>= 3 commits, >= 3 failures) and only
# the error the rule asks for (disk I/O error, database or disk is full).
# --seed makes each run's injection sequence reproducible.

TXNS=150
ROWS=4
cat >"$TEST_TMP/commits.py" <<'EOF'
import sqlite3, sys
path, txns, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = sqlite3.connect(path, isolation_level=None)
c.execute("PRAGMA synchronous=FULL")
c.execute("PRAGMA wal_autocheckpoint=8")
for n in range(1, txns + 1):
    try:
        c.execute("BEGIN")
        for k in range(rows):
            c.execute("INSERT INTO t(txn, k, pad) VALUES(?, ?, randomblob(50))", (n, k))
        c.execute("COMMIT")
        print("ok", n, flush=True)
    except sqlite3.Error as e:
        print("fail", n, "%s: %s" % (type(e).__name__, e), flush=True)
        try:
            c.execute("ROLLBACK")
        except sqlite3.Error:
            pass
c.close()
EOF

# Compares what python3 saw (argv[1]) with "txn|count" rows from the file
# (argv[2]); prints key=value facts.
cat >"$TEST_TMP/verify.py" <<'EOF'
import sys
ok, fail, msgs = set(), set(), set()
for line in open(sys.argv[1]):
    w = line.split(None, 2)
    if w[0] == "ok":
        ok.add(int(w[1]))
    elif w[0] == "fail":
        fail.add(int(w[1]))
        msgs.add(w[2].strip())
have = {}
for line in open(sys.argv[2]):
    t, n = line.strip().split("|")
    have[int(t)] = int(n)
rows = int(sys.argv[3])
print("ok=%d" % len(ok))
print("fail=%d" % len(fail))
print("messages=%s" % ";".join(sorted(msgs)))
print("committed_missing=%s" % sorted(n for n in ok if have.get(n) != rows))
print("failed_partial=%s" % sorted(n for n in fail if have.get(n, 0) not in (0, rows)))
print("failed_whole=%d" % sum(1 for n in fail if have.get(n) == rows))
print("strays=%s" % sorted(n for n in have if n not in ok and n not in fail))
EOF

for mode in delete wal; do
    for variant in "io:db.io op=write,sync p=20%:disk I/O error" \
        "full:db.io op=write,sync p=20% rc=FULL:database or disk is full"; do
        IFS=: read -r tag rule message <<<"$variant"
        what="$mode journal, $rule"
        db=$TEST_TMP/$mode-$tag.db
        sqlite3 "$db" "PRAGMA journal_mode=$mode; CREATE TABLE t(txn INTEGER, k INTEGER, pad BLOB)" >/dev/null
        "$FAULTLINE" run --seed 7 -r "$rule" -- "$PYTHON" "$TEST_TMP/commits.py" "$db" $TXNS $ROWS \
            >"$db.out" 2>&1
        expect_eq "$what: python3 handled every failure (exit 0)" 0 $?
        expect_eq "$what: afterwards, integrity_check ok" ok "$(sqlite3 "$db" 'PRAGMA integrity_check')"
        sqlite3 "$db" 'SELECT txn, count(*) FROM t GROUP BY txn' >"$db.rows"
        facts=$("$PYTHON" "$TEST_TMP/verify.py" "$db.out" "$db.rows" $ROWS)
        fact() { sed -n "s/^$1=//p" <<<"$facts"; }
        echo "      | $what: $(fact ok) committed, $(fact fail) failed, $(fact failed_whole) failed but whole"
        check "$what: python3 saw >= 3 commits succeed" test "$(fact ok)" -ge 3
        check "$what: python3 saw >= 3 commits fail" test "$(fact fail)" -ge 3
        expect_eq "$what: every failure was '$message'" "OperationalError: $message" "$(fact messages)"
        expect_eq "$what: every commit it saw succeed is in the file, whole" "[]" "$(fact committed_missing)"
        expect_eq "$what: no failed transaction is there in part" "[]" "$(fact failed_partial)"
        [ "$mode" = delete ] &&
            expect_eq "$what: no failed transaction is there at all" 0 "$(fact failed_whole)"
        expect_eq "$what: no row from elsewhere" "[]" "$(fact strays)"
    done
done
