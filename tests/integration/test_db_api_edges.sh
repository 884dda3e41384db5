# Edges of the SQLite API layer where the shim's view and SQLite's can part
# (docs/rules.md "SQLite" filters and db.error; docs/pitfalls.md item 13).
# Each part has a
# control showing what SQLite itself says.
#
#  1. An injected code must not outlive SQLite's own next error: after an
#     injected INSERT failure, python3's blobopen() on a missing column
#     must raise SQLite's "no such column", not the injected "database is
#     locked" (sqlite3_blob_open is not hooked; it sets the connection's
#     error, and errcode/errmsg must report that).
#  2. file= selects a connection by its database path whatever the open's
#     argument looked like: the glob of the absolute path that selects a
#     connection's prepares (and its file operations) must also select its
#     open when the program opened a relative path or a file: URI.
#  3. sql= sees the statement SQLite prepares, i.e. the first nByte bytes of
#     sqlite3_prepare_v2's text, not whatever follows it in the caller's
#     buffer (tests/targets/db_prepare_len.cpp; reading past nByte also
#     reads past buffers that are not NUL-terminated).

cd "$TEST_TMP" || exit 1

# 1. A stale injected code.
sqlite3 edges.db 'CREATE TABLE t(x)'
cat >stale.py <<'EOF'
import sqlite3
c = sqlite3.connect("edges.db", isolation_level=None)
try:
    c.execute("INSERT INTO t VALUES(1)")
    print("insert: ok")
except sqlite3.Error as e:
    print("insert:", e)
try:
    c.blobopen("t", "nosuch", 1)
except sqlite3.Error as e:
    print("blobopen:", e)
EOF
expect_eq "control (no shim): blobopen reports SQLite's own error" \
    $'insert: ok\nblobopen: no such column: "nosuch"' "$("$PYTHON" stale.py 2>&1)"
expect_eq "after an injected INSERT failure, blobopen still reports SQLite's own error" \
    $'insert: database is locked\nblobopen: no such column: "nosuch"' \
    "$("$FAULTLINE" run -r "db.error rc=BUSY on=step sql='INSERT*'" -- "$PYTHON" stale.py 2>&1)"

# 2. file= and the open's argument.
sqlite3 rel.db 'CREATE TABLE t(x)'
abs=$TEST_TMP/rel.db
# opens RULE DB-ARGUMENT: sqlite3's exit status and first line of output.
opens() {
    local out rc
    out=$("$FAULTLINE" run -r "$1" -- sqlite3 "$2" 'SELECT 1' 2>&1)
    rc=$?
    echo "$rc ${out%%$'\n'*}"
}
expect_match "control: file=<absolute path> on=prepare selects a relatively opened connection" \
    '^1 Error: in prepare, SQL logic error' "$(opens "db.error rc=ERROR on=prepare file=$abs" rel.db)"
expect_match "control: db.io file=<absolute path> selects its file too" \
    '^1 Error: .*disk I/O error' "$(opens "db.io op=read file=$abs" rel.db)"
expect_match "control: file=<absolute path> on=open, opened by that path: cannot open" \
    '^1 Error: unable to open database' "$(opens "db.error rc=CANTOPEN on=open file=$abs" "$abs")"
expect_match "file=<absolute path> on=open, opened as a relative path: cannot open" \
    '^1 Error: unable to open database' "$(opens "db.error rc=CANTOPEN on=open file=$abs" rel.db)"
expect_match "file=*/rel.db on=open, opened as file:rel.db?mode=rw: cannot open" \
    '^1 Error: unable to open database' \
    "$(opens "db.error rc=CANTOPEN on=open file=*/rel.db" 'file:rel.db?mode=rw')"

# 3. sql= and prepare's nByte.
script='SELECT 1; CREATE TABLE t(x); SELECT 2'
expect_eq "control: without a rule every statement prepares" \
    $'prepare SELECT 1 rc=0\nprepare CREATE TABLE t(x) rc=0\nprepare SELECT 2 rc=0' \
    "$("$TARGETS/db_prepare_len" "$script" 2>&1)"
expect_eq "sql='*create*' fails the CREATE only, not the SELECT before it in the buffer" \
    $'prepare SELECT 1 rc=0\nprepare CREATE TABLE t(x) rc=1\nprepare SELECT 2 rc=0' \
    "$("$FAULTLINE" run -r "db.error rc=ERROR on=prepare sql='*create*'" -- \
        "$TARGETS/db_prepare_len" "$script" 2>&1)"
expect_eq "sql='*2' (a suffix) fails SELECT 2 only" \
    $'prepare SELECT 1 rc=0\nprepare CREATE TABLE t(x) rc=0\nprepare SELECT 2 rc=1' \
    "$("$FAULTLINE" run -r "db.error rc=ERROR on=prepare sql='*2'" -- \
        "$TARGETS/db_prepare_len" "$script" 2>&1)"
