# The faultline version in every recording (docs/recording.md, "The file"):
#  - a session recorded by `faultline run` stores the version that
#    `faultline --version` prints, in sessions.version; the file's schema
#    (meta 'schema') is 2;
#  - a file of schema 1 (no sessions.version: made here from a new one by
#    dropping the column) is still read by `faultline report`; a new
#    recording into it adds the column and bumps the schema: its old session
#    keeps NULL, the new one has the version; `report` reads it.

db=$TEST_TMP/version.db
version=$("$FAULTLINE" --version | sed -n 's/^faultline //p')
check "faultline --version prints a version" test -n "$version"

"$FAULTLINE" run -o "$db" -- true
expect_eq "run -o: exit 0" 0 $?
expect_eq "the session's version is faultline's" "$version" \
    "$(sqlite3 "$db" 'SELECT version FROM sessions')"
expect_eq "the file's schema is 2" 2 "$(sqlite3 "$db" "SELECT value FROM meta WHERE key = 'schema'")"

# A recording of schema 1, as older faultlines wrote it.
sqlite3 "$db" "ALTER TABLE sessions DROP COLUMN version; UPDATE meta SET value = '1' WHERE key = 'schema'"
expect_eq "schema 1: no version column" 0 \
    "$(sqlite3 "$db" "SELECT count(*) FROM pragma_table_info('sessions') WHERE name = 'version'")"
"$FAULTLINE" report -o "$db" --format json >/dev/null
expect_eq "report reads a schema-1 recording" 0 $?

"$FAULTLINE" run -o "$db" -- true
expect_eq "run -o into a schema-1 recording: exit 0" 0 $?
expect_eq "its old session has no version, the new one faultline's" "none|$version" \
    "$(sqlite3 "$db" "SELECT COALESCE(version, 'none') FROM sessions ORDER BY id" | paste -sd '|')"
expect_eq "the file's schema is now 2" 2 \
    "$(sqlite3 "$db" "SELECT value FROM meta WHERE key = 'schema'")"
"$FAULTLINE" report -o "$db" --format json >/dev/null
expect_eq "report reads the migrated recording" 0 $?
