# The sqlite3 command-line program under file-layer faults (docs/rules.md
# "SQLite": db.io, db.corrupt; docs/pitfalls.md item 13: a wrapping VFS lets
# SQLite react
# by itself, as to a real disk fault).
#
#  - db.io op=write rc=FULL: sqlite3 reports "database or disk is full" and
#    exits 13, exactly as it does for a real SQLITE_FULL (the control reaches
#    one with PRAGMA max_page_count, no shim);
#  - db.io op=read: "disk I/O error" (as it opens the file, exit 1);
#  - db.corrupt: "database disk image is malformed", exit 11;
#  - without rules, the same commands succeed under the shim;
#  - afterwards (no shim) the file passes PRAGMA integrity_check, holds the
#    rows it held before, and the db.corrupt run left it byte for byte
#    unchanged: the corruption was in what SQLite read, not on disk.

db=$TEST_TMP/cli.db
sqlite3 "$db" "CREATE TABLE t(i INTEGER PRIMARY KEY, pad TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
INSERT INTO t SELECT i, printf('%0400d', i) FROM n;"
insert="INSERT INTO t(pad) SELECT pad FROM t WHERE i <= 50"
count="SELECT count(*), sum(length(pad)) FROM t"

# under [RULE...] -- SQL...: sqlite3 on $db under `faultline run -r RULE...`;
# sets out (stdout+stderr) and rc.
under() {
    local run=("$FAULTLINE" run)
    while [ "$1" != -- ]; do run+=(-r "$1"); shift; done
    shift
    out=$("${run[@]}" -- sqlite3 -batch "$db" "$@" 2>&1)
    rc=$?
}

# Control, no shim: what a real SQLITE_FULL looks like to sqlite3.
cp "$db" "$TEST_TMP/real_full.db"
real=$(sqlite3 -batch "$TEST_TMP/real_full.db" "PRAGMA max_page_count=40" "$insert" 2>&1)
real_rc=$?
expect_eq "control: a real SQLITE_FULL, sqlite3 exits 13" 13 "$real_rc"
expect_match "control: and says 'database or disk is full'" 'Error: .*database or disk is full' "$real"

# The shim loaded, no rule: everything works.
under -- "$count"
expect_eq "no rule: SELECT exit 0" 0 "$rc"
expect_eq "no rule: SELECT sees 300 rows" "300|120000" "$out"

under 'db.io op=write rc=FULL' -- "$insert"
expect_eq "db.io op=write rc=FULL: sqlite3 exits 13 (SQLITE_FULL)" 13 "$rc"
expect_match "db.io op=write rc=FULL: 'database or disk is full'" \
    '^Error: .*database or disk is full' "$out"
expect_eq "db.io op=write rc=FULL: same message as the real one" \
    "$(sed -n 's/^Error: //p' <<<"$real")" "$(sed -n 's/^Error: //p' <<<"$out")"
check "no journal left behind" test ! -e "$db-journal"

under 'db.io op=read' -- "$count"
# The shell reads the schema as it opens the file: it fails there (exit 1).
expect_eq "db.io op=read: sqlite3 exits 1" 1 "$rc"
expect_match "db.io op=read: 'disk I/O error'" '^Error: .*disk I/O error' "$out"

before=$(md5sum <"$db")
under 'db.corrupt' -- "$count"
expect_eq "db.corrupt: sqlite3 exits 11 (SQLITE_CORRUPT)" 11 "$rc"
expect_match "db.corrupt: 'database disk image is malformed'" \
    '^Error: .*database disk image is malformed' "$out"
expect_eq "db.corrupt: the file on disk is unchanged" "$before" "$(md5sum <"$db")"
under 'db.corrupt' -- "PRAGMA integrity_check"
check "db.corrupt: integrity_check under the rule does not say ok" test "$out" != ok

# The same commands with the rules' files filtered away: they succeed.
under 'db.io op=write rc=FULL file=*/other.db' 'db.corrupt file=*/other.db' -- "$insert"
expect_eq "rules for another file: the INSERT succeeds" 0 "$rc"

# Afterwards, without the shim.
expect_eq "afterwards: integrity_check ok" ok "$(sqlite3 "$db" 'PRAGMA integrity_check')"
expect_eq "afterwards: the faulted INSERT left nothing, the unfaulted one its 50 rows" \
    "350|140000" "$(sqlite3 "$db" "$count")"
