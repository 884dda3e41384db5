# What a CI gate is given by mistake is refused with a message and exit 2,
# never read as "nothing to do" nor crashed on (README.md "Commands";
# docs/recording.md "The file"):
#  - an empty rule ("", " ; ") to enable, run -r and an experiment's rules:
#    an unset shell variable, not "no rules"; run does not start its command;
#  - -o '' to run, record, report and experiment;
#  - a recording file that is another program's SQLite database, one whose
#    faultline tables have the wrong columns, one of a newer schema, or not
#    a database at all: run and report say so (exit 2, no abort, no core);
#    all but the damaged one (whose missing tables may have been added) are
#    left as they were.

name=$(new_session)
TEST_SESSIONS+=("$name")
trap 'cleanup_test KILL' EXIT
marker=$TEST_TMP/started

# refused DESC CMD...: CMD exits 2 and says something on stderr.
refused() {
    local what=$1 rc
    shift
    "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
    rc=$?
    expect_eq "$what: exit 2" 2 "$rc"
    expect_match "$what: says why" '^faultline: [a-z]+: .+' "$(head -1 "$TEST_TMP/err")"
}

refused "run -r ''" "$FAULTLINE" run -o none -r '' -- touch "$marker"
expect_match "run -r '': the message names the empty rule" "rule '': empty" "$(cat "$TEST_TMP/err")"
refused "run -r ' ; '" "$FAULTLINE" run -o none -r ' ; ' -- touch "$marker"
refused "run -r 'mem.fail' -r ''" "$FAULTLINE" run -o none -r 'mem.fail nth=1000000' -r '' -- touch "$marker"
check "run started no command for an empty rule" test ! -e "$marker"

FAULTLINE_SESSION=$name LD_PRELOAD=$SHIM sleep 30 &
TEST_PIDS+=($!)
check "a live session to enable into" wait_until test -e "/dev/shm/faultline.$name"
refused "enable ''" "$FAULTLINE" enable -s "$name" ''
refused "enable 'mem.fail' ''" "$FAULTLINE" enable -s "$name" 'mem.fail nth=1000000' ''
rules=$("$FAULTLINE" list -s "$name" --json | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)))')
expect_eq "enable with an empty rule armed nothing" 0 "$rules"

cat >"$TEST_TMP/empty.toml" <<TOML
[target]
command = ["true"]
[[phase]]
name = "p"
duration = "100ms"
rules = [""]
TOML
refused "experiment with rules = [\"\"]" "$FAULTLINE" experiment "$TEST_TMP/empty.toml" -o "$TEST_TMP/x.db"

refused "run -o ''" "$FAULTLINE" run -o '' -- touch "$marker"
check "run -o '' started nothing" test ! -e "$marker"
refused "record -o ''" "$FAULTLINE" record -s "$name" -o '' --for 100ms
refused "report -o ''" "$FAULTLINE" report -o ''
refused "experiment -o ''" "$FAULTLINE" experiment "$TEST_TMP/empty.toml" -o ''

# foreign DESC FILE [same]: run -o FILE and report -o FILE refuse it (exit
# 2, a message, no abort); with `same`, the file is left as it was.
foreign() {
    local what=$1 db=$2 before
    before=$(sha256sum "$db")
    refused "$what: run -o" "$FAULTLINE" run -o "$db" -- touch "$marker"
    check "$what: run started nothing" test ! -e "$marker"
    refused "$what: report -o" "$FAULTLINE" report -o "$db"
    [ "${3:-}" = same ] && expect_eq "$what: the file is left as it was" "$before" "$(sha256sum "$db")"
}
sqlite3 "$TEST_TMP/old.db" 'create table processes(a,b,c,d,e)'
foreign "another program's database" "$TEST_TMP/old.db" same
expect_match "another program's database: named as such" "not a faultline recording" \
    "$(cat "$TEST_TMP/err")"
sqlite3 "$TEST_TMP/cols.db" "create table meta(key primary key, value); insert into meta values('schema','2');
    create table processes(a,b,c,d,e)"
foreign "faultline's tables with other columns" "$TEST_TMP/cols.db"
sqlite3 "$TEST_TMP/new.db" "create table meta(key primary key, value); insert into meta values('schema','99')"
foreign "a newer schema" "$TEST_TMP/new.db" same
expect_match "a newer schema: says so" "newer faultline \(schema 99" "$(cat "$TEST_TMP/err")"
head -c 4096 /dev/urandom >"$TEST_TMP/noise.db"
foreign "not a database" "$TEST_TMP/noise.db" same

# A file faultline made is still taken (the checks refuse only the others).
"$FAULTLINE" run -o "$TEST_TMP/ok.db" -- true
expect_eq "a new file: run exits 0" 0 $?
"$FAULTLINE" run -o "$TEST_TMP/ok.db" -- true
expect_eq "the same file again: run exits 0" 0 $?
expect_eq "it holds both sessions" 2 "$(sqlite3 "$TEST_TMP/ok.db" 'select count(*) from sessions')"
