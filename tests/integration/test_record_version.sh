# The faultline version in every recording (docs/recording.md, "The file"):
#  - a session recorded by `faultline run` stores the version that
#    `faultline --version` prints, in sessions.version; the file's schema
#    (meta 'schema') is 4;
#  - a file of schema 1 (no sessions.version, no exits table: made here
#    from a new one by dropping them) is still read by `faultline report`; a
#    new recording into it adds both and bumps the schema to 4: its old
#    session keeps NULL, the new one has the version; `report` reads it;
#  - a file of schema 2 (no exits table) likewise: read, then migrated;
#  - a file of schema 3 (no exchanges table) likewise.

db=$TEST_TMP/version.db
version=$("$FAULTLINE" --version | sed -n 's/^faultline //p')
check "faultline --version prints a version" test -n "$version"

"$FAULTLINE" run -o "$db" -- true
expect_eq "run -o: exit 0" 0 $?
expect_eq "the session's version is faultline's" "$version" \
    "$(sqlite3 "$db" 'SELECT version FROM sessions')"
expect_eq "the file's schema is 4" 4 "$(sqlite3 "$db" "SELECT value FROM meta WHERE key = 'schema'")"
cp "$db" "$TEST_TMP/v2.db"
cp "$db" "$TEST_TMP/v3.db"

# A recording of schema 1, as older faultlines wrote it.
sqlite3 "$db" "ALTER TABLE sessions DROP COLUMN version; DROP TABLE exits; DROP TABLE exchanges; UPDATE meta SET value = '1' WHERE key = 'schema'"
expect_eq "schema 1: no version column" 0 \
    "$(sqlite3 "$db" "SELECT count(*) FROM pragma_table_info('sessions') WHERE name = 'version'")"
"$FAULTLINE" report -o "$db" --format json >/dev/null
expect_eq "report reads a schema-1 recording" 0 $?

"$FAULTLINE" run -o "$db" -- true
expect_eq "run -o into a schema-1 recording: exit 0" 0 $?
expect_eq "its old session has no version, the new one faultline's" "none|$version" \
    "$(sqlite3 "$db" "SELECT COALESCE(version, 'none') FROM sessions ORDER BY id" | paste -sd '|')"
expect_eq "the file's schema is now 4" 4 \
    "$(sqlite3 "$db" "SELECT value FROM meta WHERE key = 'schema'")"
"$FAULTLINE" report -o "$db" --format json >/dev/null
expect_eq "report reads the migrated recording" 0 $?
expect_eq "the migrated file has the exits table" 1 \
    "$(sqlite3 "$db" "SELECT count(*) FROM sqlite_master WHERE name = 'exits'")"

# Schema 2: no exits table.
db=$TEST_TMP/v2.db
sqlite3 "$db" "DROP TABLE exits; DROP TABLE exchanges; UPDATE meta SET value = '2' WHERE key = 'schema'"
"$FAULTLINE" report -o "$db" --format json >"$TEST_TMP/v2.json"
expect_eq "report reads a schema-2 recording" 0 $?
expect_eq "with no exits" "[]" "$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["exits"])' "$TEST_TMP/v2.json")"
"$FAULTLINE" run -o "$db" -- sh -c 'exit 4'
expect_eq "run -o into a schema-2 recording: the target's exit 4" 4 $?
expect_eq "migrated to 4" 4 "$(sqlite3 "$db" "SELECT value FROM meta WHERE key = 'schema'")"
expect_eq "the new session's exit is recorded" "sh|4|1" "$(sqlite3 "$db" "SELECT comm, status, target FROM exits")"

# Schema 3: no exchanges table.
db=$TEST_TMP/v3.db
sqlite3 "$db" "DROP TABLE exchanges; UPDATE meta SET value = '3' WHERE key = 'schema'"
"$FAULTLINE" report -o "$db" --format json >"$TEST_TMP/v3.json"
expect_eq "report reads a schema-3 recording" 0 $?
expect_eq "... its operations are calls (no exchanges)" calls \
    "$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["source"])' "$TEST_TMP/v3.json")"
"$FAULTLINE" run -o "$db" -- true
expect_eq "run -o into a schema-3 recording: exit 0" 0 $?
expect_eq "migrated to 4, with the exchanges table" "4|1" \
    "$(sqlite3 "$db" "SELECT (SELECT value FROM meta WHERE key = 'schema'), (SELECT count(*) FROM sqlite_master WHERE name = 'exchanges')")"
