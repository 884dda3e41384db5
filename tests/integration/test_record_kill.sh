# SIGKILL of the recorder mid-run (docs/recording.md: the recorder commits as
# it goes; the target never depends on the controller).
#
# `faultline run -o DB -r 'db.error ... p=0.3'` starts a python3 worker that
# inserts rows for ~5 s, counting its own results, and writes a completion
# file at the end. ~2 s in, the test kills the faultline process (only it)
# with SIGKILL. Then:
# - the recording is a sound SQLite file holding what was committed before
#   the kill: the session, the rule, samples and events;
# - the worker, untouched, finishes its work and its completion file is
#   right (every execute accounted for, the table holds the inserts that
#   succeeded);
# - `faultline report` reads the interrupted recording;
# - `faultline record` takes the session over while the worker still runs:
#   the dead recorder does not block it.

trap 'cleanup_test KILL' EXIT

cat >"$TEST_TMP/worker.py" <<'EOF'
# ~5 s of INSERTs (~100/s), each counted as it ended; then the table's
# count and a completion file.
import os, sqlite3, sys, time
path, done = sys.argv[1], sys.argv[2]
c = sqlite3.connect(path, isolation_level=None)
c.execute("PRAGMA journal_mode=WAL")
c.execute("PRAGMA synchronous=OFF")
c.execute("CREATE TABLE t(i INTEGER PRIMARY KEY, v TEXT)")
print("ready pid=%d" % os.getpid(), flush=True)
start = time.monotonic()
n = ok = fail = 0
while time.monotonic() - start < 5:
    n += 1
    try:
        c.execute("INSERT INTO t(v) VALUES(?)", ("row%d" % n,))
        ok += 1
    except sqlite3.OperationalError:
        fail += 1
    time.sleep(0.01)
rows = c.execute("SELECT count(*) FROM t").fetchone()[0]
with open(done + ".tmp", "w") as f:
    f.write("executes=%d ok=%d fail=%d rows=%d seconds=%.1f\n" % (n, ok, fail, rows, time.monotonic() - start))
os.rename(done + ".tmp", done)
EOF

name=$(new_session)
TEST_SESSIONS+=("$name")
db=$TEST_TMP/rec.db
done_file=$TEST_TMP/worker.done
"$FAULTLINE" run -s "$name" -o "$db" -r "db.error rc=BUSY p=0.3 on=step sql='INSERT*' name=busy" \
    -- "$PYTHON" "$TEST_TMP/worker.py" "$TEST_TMP/work.db" "$done_file" >"$TEST_TMP/run.out" 2>&1 &
run=$!
TEST_PIDS+=("$run")
worker_ready() { grep -q '^ready pid=' "$TEST_TMP/run.out"; }
check "worker started under faultline run" wait_until worker_ready
worker=$(sed -n 's/^ready pid=//p' "$TEST_TMP/run.out" | head -1)
TEST_PIDS+=("${worker:-0}")
sleep 2
check "faultline run still recording after 2 s" kill -0 "$run"
kill -9 "$run"
{ wait "$run"; } 2>/dev/null
expect_eq "faultline run died of SIGKILL" 137 $?
check "the worker outlived the recorder" kill -0 "${worker:-0}"

# The dead recorder does not hold the session: `record` takes over.
"$FAULTLINE" record -s "$name" -o "$db" --for 1s >"$TEST_TMP/record.out" 2>&1
rc=$?
expect_eq "faultline record takes the session over after the recorder died (exit 0)" 0 "$rc"
[ "$rc" -eq 0 ] || sed 's/^/        /' "$TEST_TMP/record.out"
check "the worker was still running during the takeover" kill -0 "${worker:-0}"

check "the worker finished (bounded: 10 s)" wait_exit "${worker:-0}" 10
check "the worker wrote its completion file" test -f "$done_file"
cat >"$TEST_TMP/check_done.py" <<'EOF'
import re, sys
def chk(cond, what): print(("1 " if cond else "0 ") + what)
text = open(sys.argv[1]).read().strip() if len(sys.argv) > 1 else ""
m = re.fullmatch(r"executes=(\d+) ok=(\d+) fail=(\d+) rows=(\d+) seconds=([\d.]+)", text)
chk(m is not None, "completion file well formed (%r)" % text)
if m:
    n, ok, fail, rows = map(int, m.groups()[:4])
    chk(n == ok + fail, "every execute accounted for: %d = %d ok + %d failed" % (n, ok, fail))
    chk(rows == ok, "the table holds exactly the successful inserts (%d rows, %d ok)" % (rows, ok))
    chk(n >= 150, "the worker kept working to the end (%d executes in %s s)" % (n, m.group(5)))
    chk(fail > 0, "faults were injected into the worker (%d)" % fail)
EOF
py_checks "$TEST_TMP/check_done.py" "$done_file"
expect_eq "the worker's database passes integrity_check" ok \
    "$(sqlite3 "$TEST_TMP/work.db" 'PRAGMA integrity_check' 2>&1)"

# The recording as the kill left it (session 1), then the takeover (2).
expect_eq "recording passes integrity_check" ok "$(sqlite3 "$db" 'PRAGMA integrity_check' 2>&1)"
cat >"$TEST_TMP/check_db.py" <<'EOF'
import sqlite3, sys
def chk(cond, what): print(("1 " if cond else "0 ") + what)
con = sqlite3.connect(sys.argv[1])
name = sys.argv[2]
s = con.execute("SELECT id, name, ended_s FROM sessions ORDER BY id").fetchall()
chk(len(s) == 2 and all(x[1] == name for x in s), "two session rows: the killed run and the takeover (%r)" % s)
killed = s[0][0] if s else -1
chk(bool(s) and s[0][2] is None, "the killed session was never closed (ended_s NULL)")
q = lambda sql, sid: con.execute(sql, (sid,)).fetchone()[0]
n = q("SELECT count(*) FROM sample_times WHERE session = ?", killed)
last = q("SELECT max(t_s) FROM sample_times WHERE session = ?", killed) or 0
chk(n >= 8 and last >= 1.0, "samples committed before the kill (%d, the last at %.2f s)" % (n, last))
ev = q("SELECT count(*) FROM events WHERE session = ?", killed)
chk(ev > 0, "events committed before the kill (%d)" % ev)
calls = q("SELECT sum(calls) FROM samples WHERE session = ? AND function = 'sqlite3_step'", killed) or 0
chk(calls > 0, "sqlite3_step calls sampled before the kill (%d)" % calls)
rule = con.execute("SELECT name, injected FROM rules WHERE session = ?", (killed,)).fetchall()
chk(len(rule) == 1 and rule[0][0] == "busy", "the rule armed by run is recorded (%r)" % rule)
procs = q("SELECT count(*) FROM processes WHERE session = ?", killed)
chk(procs > 0, "process samples committed before the kill (%d)" % procs)
if len(s) == 2:
    took = s[1][0]
    n2 = q("SELECT count(*) FROM sample_times WHERE session = ?", took)
    c2 = q("SELECT sum(calls) FROM samples WHERE session = ? AND function = 'sqlite3_step'", took) or 0
    chk(n2 >= 5 and c2 > 0, "the takeover recorded samples of the running worker (%d samples, %d steps)" % (n2, c2))
    chk(s[1][2] is not None and 0.9 <= s[1][2] - q("SELECT recorded_from_s FROM sessions WHERE id = ?", took) <= 2.5,
        "the takeover stopped after --for 1s and closed its session")
EOF
py_checks "$TEST_TMP/check_db.py" "$db" "$name"

# The report reads the interrupted session (the first row of that name is
# reached through the file's sessions: -s picks the latest, so read the
# killed one from a copy without the takeover).
cp "$db" "$TEST_TMP/killed.db"
sqlite3 "$TEST_TMP/killed.db" "DELETE FROM sessions WHERE id = (SELECT max(id) FROM sessions)"
"$FAULTLINE" report -o "$TEST_TMP/killed.db" --format json >"$TEST_TMP/killed.json" 2>"$TEST_TMP/killed.err"
expect_eq "report on the killed recording exits 0" 0 $?
check "its json parses" "$PYTHON" -c 'import json, sys; json.load(open(sys.argv[1]))' "$TEST_TMP/killed.json"
cat >"$TEST_TMP/check_report.py" <<'EOF'
import json, sys
def chk(cond, what): print(("1 " if cond else "0 ") + what)
r = json.load(open(sys.argv[1]))
w = r["windows"]
chk(r["session"] == sys.argv[2], "report of the killed session (%r)" % r["session"])
f = [x for x in w if x["name"] == "busy"]
chk(len(f) == 1 and f[0]["injected"] > 0, "its fault window shows the injections (%r)" % [(x["name"], x["injected"]) for x in w])
chk(len(f) == 1 and f[0]["success_rate"] is not None and 0.4 <= f[0]["success_rate"] < 1,
    "its success rate from the calls recorded before the kill (%r)" % (f[0]["success_rate"] if f else None))
chk(len(f) == 1 and f[0]["recovery_s"] is None, "no recovery: the rule was armed when the recording stopped")
EOF
py_checks "$TEST_TMP/check_report.py" "$TEST_TMP/killed.json" "$name"
"$FAULTLINE" report -o "$db" -s "$name" --format json >"$TEST_TMP/took.json" 2>&1
expect_eq "report on the file with both sessions exits 0" 0 $?
check "its json parses" "$PYTHON" -c 'import json, sys; json.load(open(sys.argv[1]))' "$TEST_TMP/took.json"
