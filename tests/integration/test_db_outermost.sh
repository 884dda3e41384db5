# SQLite API faults at the outermost call only, and the filters on=, file=,
# sql= (docs/rules.md "SQLite": "SQLite calling its own API ... is neither
# counted nor faulted"; docs/pitfalls.md item 13: Debian's libsqlite3 calls
# sqlite3_prepare_v2 and sqlite3_step through its own PLT, so sqlite3_exec's
# inner calls do reach the shim's wrappers).
#
#  - sqlite3_exec of a 5-statement script (tests/targets/db_exec.cpp):
#    on=exec fails it once, at the exec level: rc, errcode, extended_errcode,
#    errmsg and exec's *errmsg agree, no statement ran (no table afterwards),
#    the rule saw 2 calls (open, exec), matched and injected 1; the
#    per-function counters show no prepare/step call at all;
#    sql='create*' (the script's text, any op) does the same;
#    on=prepare and on=step do NOT match exec's inner prepares and steps: the
#    script runs whole (3 result rows, 2 rows inserted), matched = 0;
#    db.delay with no on= delays open and exec once each (2 x 150 ms), not
#    the 10 inner prepares and steps (which would add 1.5 s).
#  - file= picks the connection (python3, two databases), sql= the statement
#    (case-insensitive, leading white space ignored), as python3 sees it.
#  - on=open: the sqlite3 CLI cannot open the database, and says so as it
#    does for a real CANTOPEN (control: a path in a missing directory).

name=$(new_session)
trap 'rm -f /dev/shm/faultline.$name; cleanup_tmp' EXIT

lib=$(ldd "$TARGETS/db_exec" | awk '/libsqlite3/ {print $3}')
check "precondition: $lib calls sqlite3_prepare_v2 and sqlite3_step through its PLT" \
    test "$(readelf -rW "$lib" | grep -cE 'JUMP_SLOT .* sqlite3_(prepare_v2|step) ')" -eq 2

script='CREATE TABLE t(x); INSERT INTO t VALUES(1); INSERT INTO t VALUES(2);
        SELECT count(*) FROM t; SELECT x FROM t ORDER BY x'

# exec_under RULE DB: db_exec on DB under RULE (named r) in session $name;
# sets out, rc, and counters ("seen matched injected" of r, then the calls
# of sqlite3_exec, sqlite3_prepare_v2, sqlite3_step). Removes the session.
exec_under() {
    out=$(LD_PRELOAD=$SHIM FAULTLINE_SESSION=$name FAULTLINE_RULES="$1 name=r" \
        "$TARGETS/db_exec" "$2" "$script" 2>&1)
    rc=$?
    counters=$("$PYTHON" -c '
import json, sys
r = json.loads(sys.argv[1])[0]
f = {x["function"]: x["calls"] for x in json.loads(sys.argv[2])["functions"]}
print(r["seen"], r["matched"], r["injected"], "exec=%d prepare_v2=%d step=%d" %
      (f["db.sqlite3_exec"], f["db.sqlite3_prepare_v2"], f["db.sqlite3_step"]))' \
        "$("$FAULTLINE" list -s "$name" --json)" "$("$FAULTLINE" status -s "$name" --json)")
    rm -f "/dev/shm/faultline.$name"
}
ok_exec='exec rc=0 errcode=0 extended=0 errmsg=not an error exec_errmsg=- rows=3'
failed_exec='exec rc=1 errcode=1 extended=1 errmsg=SQL logic error exec_errmsg=SQL logic error rows=0'

for rule in "db.error rc=ERROR on=exec" "db.error rc=ERROR sql='create*'"; do
    db=$TEST_TMP/exec$RANDOM.db
    exec_under "$rule" "$db"
    expect_eq "$rule: sqlite3_exec fails once, every report agreeing" \
        "open rc=0"$'\n'"$failed_exec" "$out"
    expect_eq "$rule: exit status = exec's rc" 1 "$rc"
    expect_eq "$rule: no statement ran (no table t)" 0 \
        "$(sqlite3 "$db" "SELECT count(*) FROM sqlite_schema WHERE name = 't'")"
    expect_eq "$rule: seen 2 (open, exec), matched 1, injected 1; no inner call counted" \
        "2 1 1 exec=1 prepare_v2=0 step=0" "$counters"
done

for rule in "db.error rc=ERROR on=prepare" "db.error rc=ERROR on=step"; do
    db=$TEST_TMP/exec$RANDOM.db
    exec_under "$rule" "$db"
    expect_eq "$rule: exec's inner calls are not faulted, the script runs whole" \
        "open rc=0"$'\n'"$ok_exec" "$out"
    expect_eq "$rule: both rows are in the file" "1,2" "$(sqlite3 "$db" 'SELECT group_concat(x) FROM t')"
    expect_eq "$rule: seen 2, matched 0, injected 0" "2 0 0 exec=1 prepare_v2=0 step=0" "$counters"
done

start=$(date +%s%N)
exec_under "db.delay delay=150ms" "$TEST_TMP/delay.db"
elapsed=$((($(date +%s%N) - start) / 1000000))
expect_eq "db.delay (all ops): the script runs" "open rc=0"$'\n'"$ok_exec" "$out"
expect_eq "db.delay (all ops): injected twice (open, exec)" "2 2 2" "${counters% exec*}"
check "db.delay (all ops): took ${elapsed} ms, 300..1000 (not +1.5 s of inner calls)" \
    test "$elapsed" -ge 300 -a "$elapsed" -lt 1000

# file= and sql=, through python3 (prepare_v2 + step, RTLD_LOCAL library).
a=$TEST_TMP/a.db
b=$TEST_TMP/b.db
for f in "$a" "$b"; do sqlite3 "$f" 'CREATE TABLE t(x); CREATE TABLE u(x)'; done
cat >"$TEST_TMP/filters.py" <<'EOF'
import sqlite3, sys
statements = ["SELECT count(*) FROM t", "  \n\tinsert INTO t(x) VALUES(1)",
              "INSERT INTO u(x) VALUES(1)", "REPLACE INTO t(x) VALUES(2)"]
for path in sys.argv[1:]:
    name = path.rsplit("/", 1)[1]
    try:
        c = sqlite3.connect(path, isolation_level=None)
    except sqlite3.Error as e:
        print("%s connect: %s: %s" % (name, type(e).__name__, e))
        continue
    for s in statements:
        try:
            c.execute(s).fetchall()
            r = "ok"
        except sqlite3.Error as e:
            r = "%s: %s" % (type(e).__name__, e)
        print("%s %s: %s" % (name, " ".join(s.split()[:3]), r))
EOF
filters() {
    "$FAULTLINE" run -r "$1" -- "$PYTHON" "$TEST_TMP/filters.py" "$a" "$b" 2>&1
}
all_ok=$(filters 'db.error rc=READONLY file=*/nothing.db')
expect_eq "control: a rule for another file changes nothing" \
    "$("$PYTHON" "$TEST_TMP/filters.py" "$a" "$b" 2>&1)" "$all_ok"
expect_eq "control: 8 statements, all ok" "8 8" \
    "$(grep -c . <<<"$all_ok") $(grep -c ': ok$' <<<"$all_ok")"
ro='OperationalError: attempt to write a readonly database'
expect_eq "file=*/b.db on=prepare,step: every statement on b.db fails, none on a.db" \
    "$(sed "/^b\\.db/s/: ok\$/: $ro/" <<<"$all_ok")" \
    "$(filters 'db.error rc=READONLY file=*/b.db on=prepare,step')"
expect_eq "file=*/b.db (all ops): python3 cannot even connect to b.db" \
    "$(grep '^a\.db' <<<"$all_ok")"$'\n'"b.db connect: $ro" \
    "$(filters 'db.error rc=READONLY file=*/b.db')"
expect_eq "sql='insert into t*': only the INSERTs into t fail, on both files" \
    "$(sed "/insert INTO t/s/: ok\$/: IntegrityError: constraint failed/" <<<"$all_ok")" \
    "$(filters "db.error rc=CONSTRAINT sql='insert into t*'")"
expect_eq "file= and sql= together: only b.db's INSERT into t fails" \
    "$(sed "/^b\\.db insert INTO t/s/: ok\$/: IntegrityError: constraint failed/" <<<"$all_ok")" \
    "$(filters "db.error rc=CONSTRAINT file=*/b.db sql='insert into t*'")"

# on=open: the sqlite3 CLI.
real=$(sqlite3 "$TEST_TMP/missing/x.db" 'SELECT 1' 2>&1)
expect_eq "control: a real CANTOPEN, sqlite3 exits 1" 1 $?
out=$("$FAULTLINE" run -r 'db.error rc=CANTOPEN on=open' -- sqlite3 "$a" 'SELECT 1' 2>&1)
expect_eq "on=open: sqlite3 exits 1" 1 $?
expect_eq "on=open: sqlite3 says it cannot open the database, as for a real CANTOPEN" \
    "${real/$TEST_TMP\/missing\/x.db/$a}" "$out"
out=$("$FAULTLINE" run -r 'db.error rc=CANTOPEN on=open file=*/b.db' -- sqlite3 "$a" 'SELECT 1' 2>&1)
expect_eq "on=open file=*/b.db: sqlite3 opens a.db and answers" 1 "$out"
