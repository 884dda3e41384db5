# Events leave the shim's ring only once the recorder committed them
# (docs/recording.md "The recorder's loop"): a recorder SIGKILLed between two
# commits loses none. A python3 worker whose INSERTs fail half the time under
# db.error runs ~4 s; ~1.5 s in, the recording `faultline run` is SIGKILLed,
# and `faultline record` takes the session over until the worker ends. Every
# injection is then in the file, once: the events of both sessions plus the
# drops counted are exactly the injections the shim counted and the
# failures python3 saw. (Before: 21-28 events vanished per kill, with
# dropped_events 0.)

trap 'cleanup_test KILL' EXIT

cat >"$TEST_TMP/worker.py" <<'PY'
import os, sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("PRAGMA journal_mode=WAL")
c.execute("PRAGMA synchronous=OFF")
c.execute("CREATE TABLE t(i INTEGER PRIMARY KEY)")
print("ready pid=%d" % os.getpid(), flush=True)
end = time.monotonic() + float(sys.argv[3])
n = fail = 0
while time.monotonic() < end:
    n += 1
    try:
        c.execute("INSERT INTO t VALUES(NULL)")
    except sqlite3.OperationalError:
        fail += 1
    if n % 8 == 0:
        time.sleep(0.001)
open(sys.argv[2], "w").write("%d %d\n" % (n, fail))
PY

name=$(new_session)
TEST_SESSIONS+=("$name")
db=$TEST_TMP/rec.db
"$FAULTLINE" run -s "$name" -o "$db" -r "db.error rc=BUSY p=0.5 on=step sql='INSERT*' name=busy" \
    -- "$PYTHON" "$TEST_TMP/worker.py" "$TEST_TMP/work.db" "$TEST_TMP/done" 4 >"$TEST_TMP/run.out" 2>&1 &
run=$!
TEST_PIDS+=("$run")
check "the worker started" wait_until grep -q '^ready' "$TEST_TMP/run.out"
worker=$(sed -n 's/^ready pid=//p' "$TEST_TMP/run.out")
TEST_PIDS+=("${worker:-0}")
sleep 1.5
kill -9 "$run"
{ wait "$run"; } 2>/dev/null
expect_eq "faultline run died of SIGKILL" 137 $?
"$FAULTLINE" record -s "$name" -o "$db" >"$TEST_TMP/record.out" 2>&1
expect_eq "faultline record took over until the worker ended (exit 0)" 0 $?
check "the worker wrote its counts" wait_until test -s "$TEST_TMP/done"

cat >"$TEST_TMP/check.py" <<'PY'
import sqlite3, sys
def chk(cond, what): print(("1 " if cond else "0 ") + what)
con = sqlite3.connect(sys.argv[1])
n, fail = map(int, open(sys.argv[2]).read().split())
s = [r[0] for r in con.execute("SELECT id FROM sessions ORDER BY id")]
chk(len(s) == 2, "two sessions: the killed run and the takeover (%r)" % s)
if len(s) == 2:
    q = lambda sql, *a: con.execute(sql, a).fetchone()[0]
    ev1 = q("SELECT count(*) FROM events WHERE session = ?", s[0])
    ev2 = q("SELECT count(*) FROM events WHERE session = ?", s[1])
    dropped = q("SELECT dropped_events FROM sessions WHERE id = ?", s[1])
    injected = q("SELECT injected FROM rules WHERE session = ? AND name = 'busy'", s[1])
    chk(ev1 > 100 and ev2 > 100, "both sessions hold events (%d killed, %d takeover)" % (ev1, ev2))
    chk(injected == fail, "the shim's injection count is python3's failures (%d, %d of %d)" % (injected, fail, n))
    chk(ev1 + ev2 + dropped == injected,
        "every injection is an event or a counted drop: %d + %d + %d dropped = %d injected (%d missing)"
        % (ev1, ev2, dropped, injected, injected - ev1 - ev2 - dropped))
    dup = q("SELECT count(*) FROM (SELECT t_s, tid FROM events GROUP BY t_s, tid, session HAVING count(*) > 1)")
    chk(dup == 0, "no event stored twice in one session (%d)" % dup)
PY
py_checks "$TEST_TMP/check.py" "$db" "$TEST_TMP/done"
