# db.error enabled live on a running python3 (README.md live control;
# docs/rules.md "SQLite"; docs/pitfalls.md items 10: python3's _sqlite3
# loads libsqlite3 RTLD_LOCAL, 13:
# errcode/errmsg agree with the injected code).
#
# python3 keeps inserting into a table and counting it, logging every
# outcome as python3 saw it. `enable db.error rc=BUSY on=step sql='INSERT*'`
# makes every INSERT raise `sqlite3.OperationalError: database is locked`
# while the SELECTs keep working (and see no new row); after `disable` the
# INSERTs succeed again. The rule's `injected` equals the failures python3
# logged, and the file holds exactly the rows python3 saw inserted.
#
# Each log line says which phase it ran in. Around each change the test
# writes the phase file twice: "0-1" before `enable`, "1" after it returned
# (then "1-2", disable, "2"). python3 reads the file before and after its
# INSERT+SELECT and tags the line with the phase only when both readings
# agree: a "0" line ended before enable began, a "1" line began after enable
# returned. Other lines ran across a change (tagged T or 0-1/1-2): not
# asserted on, but counted in the injected total.

source ./mem_live.sh

name=$(new_session)
db=$TEST_TMP/busy.db
phase=$TEST_TMP/$name.phase
out=$TEST_TMP/busy.out
cat >"$TEST_TMP/busy.py" <<'EOF'
import os, sqlite3, sys, time
path, phase_file = sys.argv[1], sys.argv[2]
done_file = os.environ["TARGET_DONE"]
c = sqlite3.connect(path, isolation_level=None)
c.execute("CREATE TABLE IF NOT EXISTS t(i INTEGER PRIMARY KEY, v TEXT)")
print("ready pid=%d" % os.getpid(), flush=True)

def phase():
    try:
        with open(phase_file) as f:
            return f.read().strip() or "0"
    except OSError:
        return "0"

n = 0
deadline = time.monotonic() + 60
while not os.path.exists(done_file) and time.monotonic() < deadline:
    n += 1
    before = phase()
    try:
        c.execute("INSERT INTO t(v) VALUES(?)", ("row%d" % n,))
        ins = "ok"
    except Exception as e:
        ins = "%s: %s" % (type(e).__name__, e)
    try:
        sel = "ok %d" % c.execute("SELECT count(*) FROM t").fetchone()[0]
    except Exception as e:
        sel = "%s: %s" % (type(e).__name__, e)
    after = phase()
    print("phase=%s insert=[%s] select=[%s]" % (before if before == after else "T", ins, sel),
          flush=True)
    time.sleep(0.02)
print("end", flush=True)
EOF

# lines PHASE: the log lines of that phase.
lines() { grep "^phase=$1 " "$out"; }
at_least() { [ "$(lines "$1" | wc -l)" -ge "$2" ]; }

start_live "$name" "$out" -- "$PYTHON" "$TEST_TMP/busy.py" "$db" "$phase"
check "python3 started under faultline run" test -n "$LIVE_TARGET"
check "phase 0 (no rule): 3 iterations logged" wait_until at_least 0 3

echo 0-1 >"$phase"
"$FAULTLINE" enable -s "$name" "db.error rc=BUSY on=step sql='INSERT*' name=busy" >/dev/null
check "enable succeeded" test $? -eq 0
echo 1 >"$phase"
check "phase 1 (rule armed): 8 iterations logged" wait_until at_least 1 8

echo 1-2 >"$phase"
"$FAULTLINE" disable -s "$name" busy
check "disable succeeded" test $? -eq 0
echo 2 >"$phase"
check "phase 2 (disabled): 5 iterations logged" wait_until at_least 2 5

injected=$(rule_field "$name" busy injected)
finish_live "$name"
expect_eq "python3 (and faultline run) exit 0" 0 "$LIVE_RC"

p0=$(lines 0)
p1=$(lines 1)
p2=$(lines 2)
expect_eq "phase 0: every INSERT succeeded" "" "$(grep -v 'insert=\[ok\]' <<<"$p0")"
expect_eq "phase 1: every INSERT raised OperationalError: database is locked" "" \
    "$(grep -v 'insert=\[OperationalError: database is locked\]' <<<"$p1")"
expect_eq "phase 1: every SELECT succeeded meanwhile" "" "$(grep -v 'select=\[ok ' <<<"$p1")"
counts1=$(sed -n 's/.*select=\[ok \([0-9]*\)\]/\1/p' <<<"$p1" | sort -u)
expect_match "phase 1: the SELECTs saw no new row" '^[0-9]+$' "$counts1"
expect_eq "phase 2: every INSERT succeeded again" "" "$(grep -v 'insert=\[ok\]' <<<"$p2")"
counts2=$(sed -n 's/.*select=\[ok \([0-9]*\)\]/\1/p' <<<"$p2")
check "phase 2: the count grows by one per iteration" \
    "$PYTHON" -c 'import sys; c = list(map(int, sys.argv[1].split())); sys.exit(not (len(c) >= 5 and all(b == a + 1 for a, b in zip(c, c[1:]))))' "$counts2"

failed=$(grep -c '^phase=.* insert=\[OperationalError' "$out")
succeeded=$(grep -c '^phase=.* insert=\[ok\]' "$out")
expect_eq "rule's injected = INSERT failures python3 logged" "$failed" "$injected"
expect_eq "the file holds exactly the rows python3 saw inserted" "$succeeded" \
    "$(sqlite3 "$db" 'SELECT count(*) FROM t')"
expect_eq "the file passes integrity_check" ok "$(sqlite3 "$db" 'PRAGMA integrity_check')"
