# Helpers for test_transparency*.sh (sourced; not a test itself): run
# modules of python3's own test suite (Debian: libpython3.11-testsuite,
# installed by scripts/install-deps) and an sqlite3 script, under the shim.

# python_suite DESC RUN-PREFIX... :: MODULE...: runs `python3 -m unittest
# test.MODULE...` under RUN-PREFIX (e.g. "$FAULTLINE" run --) in a scratch
# directory and checks unittest's own verdict: "OK" and at least 500 tests.
python_suite() {
    local what=$1 prefix=() modules=() dir out rc ran
    shift
    while [ $# -gt 0 ] && [ "$1" != :: ]; do prefix+=("$1"); shift; done
    shift
    for m in "$@"; do modules+=("test.$m"); done
    if ! "$PYTHON" -c 'import test.test_json' 2>/dev/null; then
        check "$what: python3's test suite is installed (libpython3.11-testsuite)" false
        return
    fi
    dir=$(mktemp -d "$TEST_TMP/suite.XXXXXX")
    out=$dir/unittest.out
    (cd "$dir" && timeout -k 5 90 "${prefix[@]}" "$PYTHON" -m unittest "${modules[@]}" >"$out" 2>&1)
    rc=$?
    ran=$(sed -n 's/^Ran \([0-9]*\) tests\? in .*/\1/p' "$out" | tail -1)
    expect_eq "$what: exit 0" 0 "$rc"
    expect_match "$what: unittest says OK" '^OK( \(.*\))?$' "$(tail -1 "$out")"
    check "$what: ran ${ran:-no} tests (500 at least)" test "${ran:-0}" -ge 500
    if [ "$rc" != 0 ]; then
        grep -E '^(FAIL|ERROR):' "$out" | head -20 | sed 's/^/      | /'
    fi
}

# The sqlite3 script: a table, inserts in a transaction, an index, selects,
# an aggregate, an update, integrity_check, and a dump of the result.
sqlite_script() {
    cat <<'EOF2'
PRAGMA journal_mode=WAL;
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, blob BLOB);
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
INSERT INTO t(name, score, blob) SELECT 'row' || i, i * 1.5, zeroblob(i % 300) FROM n;
COMMIT;
CREATE INDEX t_score ON t(score);
SELECT count(*), sum(score), max(length(blob)), sum(length(blob)) FROM t;
SELECT id, name FROM t WHERE score BETWEEN 100 AND 106 ORDER BY id;
UPDATE t SET name = upper(name) WHERE id % 1000 = 0;
SELECT group_concat(name, ',') FROM t WHERE id % 1000 = 0;
BEGIN;
DELETE FROM t WHERE id > 4990;
ROLLBACK;
SELECT count(*) FROM t;
PRAGMA integrity_check;
SELECT name, score FROM t ORDER BY score DESC LIMIT 3;
EOF2
}

# sqlite_run DB RUN-PREFIX...: the script through sqlite3 on DB, then a .dump.
sqlite_run() {
    local db=$1
    shift
    sqlite_script | "$@" sqlite3 -batch -bail "$db" 2>&1
    echo "rc=$?"
    "$@" sqlite3 -batch "$db" .dump 2>&1 | md5sum
}
