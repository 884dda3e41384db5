# Recording and reports end to end on real programs (docs/recording.md
# "Marks and probes", docs/metrics.md).
#
# (a) Marks. A python3 client under `faultline run` makes a request to a
#     local line server about 50 times a second, logs each outcome itself
#     (wall-clock time, ok/fail) and reports it with one `faultline mark` per
#     request (the session from FAULTLINE_SESSION). The test arms
#     net.refuse p=0.5 live for ~2 s between a ~1.5 s baseline and a ~2 s
#     recovery. The report's fault window must start and end when
#     enable/disable ran, hold every injection, and agree with what the
#     program itself logged: success in the window and in the baseline, and
#     a short recovery.
# (b) Calls (no marks). python3's sqlite3 module inserts ~100 rows a second
#     and counts its own failed executes; `db.error rc=SQLITE_BUSY p=0.5
#     on=step` is armed live for ~2 s. The calls-based success rate of the
#     window agrees with the program's own failure fraction in that phase,
#     the ops/s change with the program's own rate change (its call rate
#     does not change: a BUSY step returns at once), and the throughput
#     change (goodput) with the change of its successful executes per
#     second (about -50%). The program
#     warms up for 1 s before its first operation: that second is not part
#     of its steady-state throughput.
# (c) Verdicts: a window whose rule never injected is "inconclusive" and
#     `report --min-success` exits 2; a tolerance tighter than what (a)
#     measured deviates (exit 1); a looser one holds (exit 0).
#
# Session-relative times: sessions.started_wall_ns is the segment's creation
# (t = 0) on the wall clock, which the test and the programs read too.

source ./net_lib.sh

wall() { date +%s.%N; }

cat >"$TEST_TMP/client.py" <<'EOF'
# A client making ~50 requests/s; each outcome goes to its own log and to
# `faultline mark` (one process per request, not waited for in the loop so
# that the pace holds; all are reaped before exit).
import os, socket, subprocess, sys, time
faultline, port, log, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
out = open(log, "w", buffering=1)
print("ready pid=%d" % os.getpid(), flush=True)
pending, n = [], 0
nxt = time.monotonic()
deadline = nxt + 40
while not os.path.exists(stop) and time.monotonic() < deadline:
    n += 1
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"ping %d\n" % n)
            ok = s.makefile("rb").readline() == b"PING %d\n" % n
    except OSError:
        ok = False
    out.write("%.6f %s req%d\n" % (time.time(), "ok" if ok else "fail", n))
    pending.append(subprocess.Popen([faultline, "mark", "ok" if ok else "fail", "req%d" % n]))
    pending = [p for p in pending if p.poll() is None]
    nxt += 0.02
    time.sleep(max(0.0, nxt - time.monotonic()))
bad = sum(p.wait() != 0 for p in pending)
print("end requests=%d bad_marks=%d" % (n, bad), flush=True)
EOF

cat >"$TEST_TMP/dbloop.py" <<'EOF'
# ~100 INSERTs a second through python3's sqlite3 module (autocommit: one
# sqlite3_step each); every outcome logged with its wall-clock time. Like
# many services it warms up first (WARMUP seconds, loading whatever it
# loads) before its first operation.
import os, sqlite3, sys, time
path, log, stop, warmup = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
time.sleep(warmup)
c = sqlite3.connect(path, isolation_level=None)
c.execute("PRAGMA journal_mode=WAL")
c.execute("PRAGMA synchronous=OFF")
c.execute("CREATE TABLE IF NOT EXISTS t(i INTEGER PRIMARY KEY, v TEXT)")
out = open(log, "w", buffering=1)
print("ready pid=%d" % os.getpid(), flush=True)
n = 0
nxt = time.monotonic()
deadline = nxt + 40
while not os.path.exists(stop) and time.monotonic() < deadline:
    n += 1
    try:
        c.execute("INSERT INTO t(v) VALUES(?)", ("row%d" % n,))
        ok = "ok"
    except sqlite3.OperationalError as e:
        ok = "fail" if "locked" in str(e) else "other:" + str(e).replace(" ", "_")
    out.write("%.6f %s\n" % (time.time(), ok))
    nxt += 0.01
    time.sleep(max(0.0, nxt - time.monotonic()))
print("end executes=%d" % n, flush=True)
EOF

# ---- (a) marks ------------------------------------------------------------------

echo_server port
check "line server listening on 127.0.0.1" test -n "$port"
name=$(new_session)
NET_SESSIONS+=("$name")
db_a=$TEST_TMP/marks.db
log_a=$TEST_TMP/client.log
"$FAULTLINE" run -s "$name" -o "$db_a" -- "$PYTHON" "$TEST_TMP/client.py" "$FAULTLINE" "$port" \
    "$log_a" "$TEST_TMP/stop_a" >"$TEST_TMP/run_a.out" 2>&1 &
run_a=$!
NET_PIDS+=("$run_a")
check "(a) client started and logged its first request" wait_until lines_at_least "$log_a" 1
sleep 1.5
en0=$(wall)
"$FAULTLINE" enable -s "$name" "net.refuse peer=127.0.0.1:$port p=0.5 name=refuse" >/dev/null
check "(a) enable net.refuse p=0.5" test $? -eq 0
en1=$(wall)
sleep 2
dis0=$(wall)
"$FAULTLINE" disable -s "$name" --all
check "(a) disable --all" test $? -eq 0
dis1=$(wall)
sleep 2
touch "$TEST_TMP/stop_a"
wait_pid "$run_a" 15
expect_eq "(a) faultline run (the client) exits 0" 0 "$WAIT_RC"
expect_match "(a) every mark process exited 0" 'bad_marks=0$' "$(grep '^end ' "$TEST_TMP/run_a.out")"

"$FAULTLINE" report -o "$db_a" --format json >"$TEST_TMP/a.json" 2>"$TEST_TMP/a.err"
expect_eq "(a) report --format json exits 0" 0 $?

cat >"$TEST_TMP/check_a.py" <<'EOF'
import json, sqlite3, sys
report, db, log, en0, en1, dis0, dis1 = sys.argv[1:8]
en0, en1, dis0, dis1 = map(float, (en0, en1, dis0, dis1))
def chk(cond, what): print(("1 " if cond else "0 ") + what)
r = json.load(open(report))
con = sqlite3.connect(db)
t0 = con.execute("SELECT started_wall_ns FROM sessions").fetchone()[0] / 1e9
rel = lambda wall: wall - t0
reqs = [l.split() for l in open(log)]
reqs = [(float(t), ok == "ok", label) for t, ok, label in reqs]
def own(a, b):
    xs = [ok for t, ok, _ in reqs if a <= t <= b]
    return (sum(xs) / len(xs) if xs else None), len(xs)

chk(r["source"] == "outcomes", "(a) report's operations are the marks (source %r)" % r["source"])
w = r["windows"]
chk(len(w) == 2, "(a) two windows: baseline and the fault (%d)" % len(w))
b, f = w[0], w[-1]
chk(b["name"] == "baseline" and b["start_s"] == 0, "(a) windows[0] is the baseline from 0 (%r at %s)" % (b["name"], b["start_s"]))
chk(f["name"] == "refuse", "(a) the fault window is named after the rule (%r)" % f["name"])
armed, retired, injected = con.execute("SELECT armed_s, retired_s, injected FROM rules").fetchone()
chk(rel(en0) - 0.3 <= f["start_s"] <= rel(en1) + 0.3,
    "(a) window starts when enable ran: %.3f in [%.3f, %.3f] +-0.3" % (f["start_s"], rel(en0), rel(en1)))
chk(retired is not None and rel(dis0) - 0.3 <= f["end_s"] <= rel(dis1) + 0.3,
    "(a) window ends when disable ran: %.3f in [%.3f, %.3f] +-0.3" % (f["end_s"], rel(dis0), rel(dis1)))
chk(abs(b["end_s"] - f["start_s"]) < 1e-6, "(a) the baseline ends where the fault begins (%.3f)" % b["end_s"])
chk(abs(f["start_s"] - armed) < 1e-3 and abs(f["end_s"] - (retired or -1)) < 1e-3,
    "(a) window = the rule's armed_s..retired_s in the rules table (%s..%s)" % (armed, retired))
fails = sum(not ok for _, ok, _ in reqs)
chk(f["injected"] > 0, "(a) the window injected (%d)" % f["injected"])
chk(f["injected"] == fails == injected,
    "(a) injected (report %d, rules table %d) = the client's failed requests (%d)" % (f["injected"], injected, fails))
events = con.execute("SELECT count(*) FROM events WHERE function = 'connect'").fetchone()[0]
chk(events == injected, "(a) one event per injection, on connect (%d events)" % events)
marks = con.execute("SELECT count(*), sum(ok) FROM marks").fetchone()
chk(marks[0] == len(reqs) and marks[1] == len(reqs) - fails,
    "(a) every request's mark was recorded: %s marks, %s ok (client: %d, %d ok)" % (marks[0], marks[1], len(reqs), len(reqs) - fails))
own_f, n_f = own(en1, dis0)
chk(n_f >= 50, "(a) the client made >= 50 requests during the fault (%d)" % n_f)
chk(f["success_rate"] is not None and own_f is not None and abs(f["success_rate"] - own_f) <= 0.1,
    "(a) window success %s agrees with the client's own %.3f (+-0.1)" % (f["success_rate"], own_f or -1))
chk(own_f is not None and 0.2 <= own_f <= 0.8, "(a) the client saw about half its requests fail (%.3f)" % (own_f or -1))
own_b, n_b = own(0, en0)
chk(n_b >= 30 and own_b == 1.0, "(a) the client's baseline requests all succeeded (%d, %s)" % (n_b, own_b))
chk(b["success_rate"] is not None and abs(b["success_rate"] - own_b) < 1e-9,
    "(a) baseline success %s = the client's own %s" % (b["success_rate"], own_b))
chk(isinstance(f["recovery_s"], (int, float)) and 0 <= f["recovery_s"] < 1.5,
    "(a) recovery_s is a number below 1.5 s (%r)" % f["recovery_s"])
own_r, n_r = own(dis1, 1e18)
chk(n_r >= 30 and own_r == 1.0, "(a) after disable the client's requests all succeeded (%d, %s)" % (n_r, own_r))
chk(b["verdict"] is None and f["verdict"] is None, "(a) no verdicts without tolerances")
EOF
py_checks "$TEST_TMP/check_a.py" "$TEST_TMP/a.json" "$db_a" "$log_a" "$en0" "$en1" "$dis0" "$dis1"

# ---- (b) calls, no marks --------------------------------------------------------

name_b=$(new_session)
NET_SESSIONS+=("$name_b")
db_b=$TEST_TMP/calls.db
log_b=$TEST_TMP/dbloop.log
"$FAULTLINE" run -s "$name_b" -o "$db_b" -- "$PYTHON" "$TEST_TMP/dbloop.py" "$TEST_TMP/work.db" \
    "$log_b" "$TEST_TMP/stop_b" 1 >"$TEST_TMP/run_b.out" 2>&1 &
run_b=$!
NET_PIDS+=("$run_b")
check "(b) sqlite loop started and logged its first execute" wait_until lines_at_least "$log_b" 1
sleep 1.5
en0=$(wall)
"$FAULTLINE" enable -s "$name_b" "db.error rc=SQLITE_BUSY p=0.5 on=step name=busy" >/dev/null
check "(b) enable db.error rc=SQLITE_BUSY p=0.5 on=step" test $? -eq 0
en1=$(wall)
sleep 2
dis0=$(wall)
"$FAULTLINE" disable -s "$name_b" busy
check "(b) disable busy" test $? -eq 0
dis1=$(wall)
sleep 1.5
touch "$TEST_TMP/stop_b"
wait_pid "$run_b" 15
expect_eq "(b) faultline run (the sqlite loop) exits 0" 0 "$WAIT_RC"
"$FAULTLINE" report -o "$db_b" -s "$name_b" --format json >"$TEST_TMP/b.json" 2>"$TEST_TMP/b.err"
expect_eq "(b) report -s NAME --format json exits 0" 0 $?

cat >"$TEST_TMP/check_b.py" <<'EOF'
import json, sqlite3, sys
report, db, log, work, en0, en1, dis0, dis1 = sys.argv[1:9]
en0, en1, dis0, dis1 = map(float, (en0, en1, dis0, dis1))
def chk(cond, what): print(("1 " if cond else "0 ") + what)
r = json.load(open(report))
con = sqlite3.connect(db)
rows = [l.split() for l in open(log)]
rows = [(float(t), s) for t, s in rows]
chk(all(s in ("ok", "fail") for _, s in rows), "(b) every execute either succeeded or raised 'database is locked'")
def own(a, b):
    xs = [s == "ok" for t, s in rows if a <= t <= b]
    return (sum(xs) / len(xs) if xs else None), len(xs)

chk(r["source"] == "calls" and r["families"] == ["db"],
    "(b) without marks the operations are the db calls (%r %r)" % (r["source"], r["families"]))
w = r["windows"]
chk(len(w) == 2 and w[0]["name"] == "baseline" and w[1]["name"] == "busy",
    "(b) windows: baseline, busy (%r)" % [x["name"] for x in w])
f = w[-1]
fails = sum(s == "fail" for _, s in rows)
chk(f["injected"] > 0 and f["injected"] == fails,
    "(b) injected %d = the program's failed executes %d" % (f["injected"], fails))
stored = sqlite3.connect(work).execute("SELECT count(*) FROM t").fetchone()[0]
chk(stored == len(rows) - fails, "(b) the table holds the program's successful inserts (%d, %d)" % (stored, len(rows) - fails))
own_f, n_f = own(en1, dis0)
chk(n_f >= 100, "(b) >= 100 executes during the fault (%d)" % n_f)
chk(f["success_rate"] is not None and own_f is not None and abs(f["success_rate"] - own_f) <= 0.1,
    "(b) window success %s (from calls) agrees with the program's own %.3f (+-0.1)" % (f["success_rate"], own_f or -1))
chk(w[0]["success_rate"] == 1, "(b) baseline success from calls is 1 (%r)" % w[0]["success_rate"])
tc = f["throughput_change"]
chk(isinstance(tc, (int, float)), "(b) throughput_change is a number (%r)" % tc)
# The program's own rate: executes per second from its first execute to
# enable (its warm-up before that did no operations: no throughput to
# compare with), and during the fault. A BUSY step returns at once: the pace
# holds, the change is about 0. Its goodput: the successful ones, about
# half as many during the fault.
first = rows[0][0]
n_base = sum(1 for t, _ in rows if t < en0)
ok_base = sum(1 for t, st in rows if t < en0 and st == "ok")
ok_f = sum(1 for t, st in rows if en1 <= t < dis0 and st == "ok")
own_rate = (n_f / (dis0 - en1)) / (n_base / (en0 - first)) - 1
own_tc = (ok_f / (dis0 - en1)) / (ok_base / (en0 - first)) - 1
rate = f["ops_per_s"] / w[0]["ops_per_s"] - 1 if f["ops_per_s"] and w[0]["ops_per_s"] else None
chk(rate is not None and abs(rate - own_rate) <= 0.3,
    "(b) the ops/s change %r agrees with the program's own rate change %.3f (+-0.3)" % (rate, own_rate))
chk(isinstance(tc, (int, float)) and abs(tc - own_tc) <= 0.3,
    "(b) throughput_change %r agrees with the program's own goodput change %.3f (+-0.3)" % (tc, own_tc))
chk(isinstance(f["recovery_s"], (int, float)) and f["recovery_s"] < 1.5,
    "(b) recovery_s is a number below 1.5 s (%r)" % f["recovery_s"])
EOF
py_checks "$TEST_TMP/check_b.py" "$TEST_TMP/b.json" "$db_b" "$log_b" "$TEST_TMP/work.db" \
    "$en0" "$en1" "$dis0" "$dis1"

# ---- (c) verdicts ---------------------------------------------------------------

# A rule on a function the program never calls: it never injects.
name_c=$(new_session)
NET_SESSIONS+=("$name_c")
db_c=$TEST_TMP/never.db
"$FAULTLINE" run -s "$name_c" -o "$db_c" -- "$PYTHON" "$TEST_TMP/dbloop.py" "$TEST_TMP/work_c.db" \
    "$TEST_TMP/dbloop_c.log" "$TEST_TMP/stop_c" 0 >"$TEST_TMP/run_c.out" 2>&1 &
run_c=$!
NET_PIDS+=("$run_c")
check "(c) sqlite loop started" wait_until lines_at_least "$TEST_TMP/dbloop_c.log" 1
sleep 0.3
"$FAULTLINE" enable -s "$name_c" "net.refuse peer=127.0.0.1:9 name=never" >/dev/null
check "(c) enable a net rule in a program that never connects" test $? -eq 0
sleep 0.6
"$FAULTLINE" disable -s "$name_c" never
sleep 0.3
touch "$TEST_TMP/stop_c"
wait_pid "$run_c" 15
expect_eq "(c) faultline run exits 0" 0 "$WAIT_RC"

json=$("$FAULTLINE" report -o "$db_c" --format json)
expect_eq "(c) report without tolerances exits 0" 0 $?
expect_eq "(c) the never-injecting window: injected 0, verdict inconclusive" "never 0 inconclusive" \
    "$(jq -r '.windows[1] | "\(.name) \(.injected) \(.verdict)"' <<<"$json")"
"$FAULTLINE" report -o "$db_c" --min-success 0.5 >"$TEST_TMP/c.out" 2>&1
expect_eq "(c) report --min-success 0.5 on an inconclusive window exits 2" 2 $?
expect_match "(c) the table says inconclusive" 'inconclusive' "$(cat "$TEST_TMP/c.out")"

# Tolerances around what (a) measured: just above deviates, just below holds.
got=$(jq -r '.windows[1].success_rate' "$TEST_TMP/a.json")
tight=$("$PYTHON" -c 'import sys; print(min(1.0, float(sys.argv[1]) + 0.05))' "$got")
loose=$("$PYTHON" -c 'import sys; print(max(0.0, float(sys.argv[1]) - 0.05))' "$got")
json=$("$FAULTLINE" report -o "$db_a" --format json --min-success "$tight")
expect_eq "(c) --min-success $tight above the measured $got exits 1" 1 $?
expect_eq "(c) ... and the window's verdict is deviated" deviated "$(jq -r '.windows[1].verdict' <<<"$json")"
json=$("$FAULTLINE" report -o "$db_a" --format json --min-success "$loose" --max-recovery 1500ms)
expect_eq "(c) --min-success $loose below the measured $got, --max-recovery 1500ms exits 0" 0 $?
expect_eq "(c) ... and the window's verdict is held" held "$(jq -r '.windows[1].verdict' <<<"$json")"
