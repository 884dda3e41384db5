# The recording commands around `faultline run` (README.md "Commands",
# docs/recording.md "Marks and probes"): probe,
# mark, record.
#
# - probe: `--count 3 --every 500ms -- true`, then `false`, then
#   `--timeout 100ms -- sleep 1` are stored as probe outcomes (ok, exit
#   code, duration, "timeout"); a timed-out probe is killed with its whole
#   process group; a probe started inside a session whose rule would fault
#   its command runs without the shim and succeeds.
# - mark: usage errors exit 2; a missing session exits 2; good marks are
#   stored with their labels.
# - record: records a session started with FAULTLINE_SESSION (no run) and
#   stops by itself when the session's processes exit; a second recorder on
#   the same session is refused (exit 2) naming the first.
# - the recorder keeps every rule armed in the session, also the first one
#   enabled while many threads are attached.

trap cleanup_test EXIT

now_ms() { echo $(($(date +%s%N) / 1000000)); }
has_line() { grep -q -E -- "$2" "$1" 2>/dev/null; }
session_live() { [ -e "/dev/shm/faultline.$1" ]; }

# A target that idles until its stop file exists (bounded: 30 s).
cat >"$TEST_TMP/idle.sh" <<'EOF'
echo "ready pid=$$"
for i in $(seq 1 600); do
    [ -e "$1" ] && exit 0
    sleep 0.05
done
EOF

# ---- probe ------------------------------------------------------------------------

name=$(new_session)
TEST_SESSIONS+=("$name")
db=$TEST_TMP/probe.db
"$FAULTLINE" run -s "$name" -o "$db" -- bash "$TEST_TMP/idle.sh" "$TEST_TMP/stop1" \
    >"$TEST_TMP/run1.out" 2>&1 &
run1=$!
TEST_PIDS+=("$run1")
check "session started (faultline run of an idle target)" wait_until has_line "$TEST_TMP/run1.out" '^ready'

t0=$(now_ms)
"$FAULTLINE" probe -s "$name" --count 3 --every 500ms -- true
expect_eq "probe --count 3 --every 500ms -- true exits 0" 0 $?
elapsed=$(($(now_ms) - t0))
# Runs at 0, 500 and 1000 ms; nothing to wait for after the third.
check "probe --count 3 --every 500ms returns after its third run (${elapsed} ms, want 950..1300)" \
    test "$elapsed" -ge 950 -a "$elapsed" -le 1300
"$FAULTLINE" probe -s "$name" --count 2 --every 100ms -- false
expect_eq "probe -- false exits 0 (the probe loop itself worked)" 0 $?
t0=$(now_ms)
"$FAULTLINE" probe -s "$name" --count 1 --every 2s --timeout 100ms -- sh -c "sleep 1; touch '$TEST_TMP/leaked'"
expect_eq "probe --timeout 100ms -- (sleep 1) exits 0" 0 $?
elapsed=$(($(now_ms) - t0))
check "probe --count 1 --every 2s --timeout 100ms returns once its run is cut (${elapsed} ms, want < 900)" \
    test "$elapsed" -lt 900
"$FAULTLINE" probe -s "$name" --count 1 --every 300ms -- sh -c 'exit 3'
expect_eq "probe -- (exit 3) exits 0" 0 $?

# Marks: usage errors, then good ones.
# bad_mark DESCRIPTION PATTERN ARGS...
bad_mark() {
    local what=$1 pattern=$2 rc
    shift 2
    "$FAULTLINE" mark "$@" >"$TEST_TMP/mark.out" 2>"$TEST_TMP/mark.err"
    rc=$?
    expect_eq "mark $what: exit 2" 2 "$rc"
    expect_match "mark $what: error on stderr" "$pattern" "$(cat "$TEST_TMP/mark.err")"
}
bad_mark "without ok|fail" '^faultline: mark: .*ok or fail' -s "$name"
bad_mark "maybe" "^faultline: mark: .*'maybe'" -s "$name" maybe
bad_mark "with two labels" '^faultline: mark: .*unexpected' -s "$name" ok one two
bad_mark "into a missing session" "^faultline: mark: .*$name-nosuch" -s "$name-nosuch" ok
bad_mark "without -s or FAULTLINE_SESSION" '^faultline: mark: .*session' ok
check "the missing session was not created by mark" test ! -e "/dev/shm/faultline.$name-nosuch"
"$FAULTLINE" mark -s "$name" ok "first label, with spaces"
expect_eq "mark -s NAME ok LABEL exits 0" 0 $?
FAULTLINE_SESSION=$name "$FAULTLINE" mark fail second
expect_eq "mark fail LABEL with FAULTLINE_SESSION exits 0" 0 $?

# Leave time for the cut `sleep 1` to have touched its file had it survived.
sleep 0.6
check "the timed-out probe's process group was killed (its sleep did not finish)" \
    test ! -e "$TEST_TMP/leaked"
touch "$TEST_TMP/stop1"
wait_pid "$run1" 10
expect_eq "faultline run exits 0" 0 "$WAIT_RC"

cat >"$TEST_TMP/check_probe.py" <<'EOF'
import sqlite3, sys
def chk(cond, what): print(("1 " if cond else "0 ") + what)
con = sqlite3.connect(sys.argv[1])
p = con.execute("SELECT t_s, ok, duration_ms, exit_code, label FROM probes ORDER BY t_s").fetchall()
chk(len(p) == 7, "7 probe outcomes stored (%d)" % len(p))
if len(p) == 7:
    trues, falses, cut, three = p[0:3], p[3:5], p[5], p[6]
    chk(all(x[1] == 1 and x[3] == 0 and x[4] == "" for x in trues), "true: 3 ok, exit 0 (%r)" % trues)
    chk(all(x[2] is not None and 0 < x[2] < 150 for x in trues),
        "true: durations measured, under 150 ms (%r)" % [x[2] for x in trues])
    gaps = [b[0] - a[0] for a, b in zip(trues, trues[1:])]
    chk(all(0.45 <= g <= 0.6 for g in gaps), "true: runs 500 ms apart (%r)" % gaps)
    chk(all(x[1] == 0 and x[3] == 1 and x[4] == "" for x in falses), "false: 2 failed, exit 1 (%r)" % falses)
    chk(cut[1] == 0 and cut[4] == "timeout", "timeout: failed, labelled timeout (%r)" % (cut,))
    chk(cut[2] is not None and 95 <= cut[2] <= 400,
        "timeout: duration ~100 ms, not the 1 s the command wanted (%r ms)" % cut[2])
    chk(three[1] == 0 and three[3] == 3, "exit 3: failed with exit code 3 (%r)" % (three,))
m = con.execute("SELECT ok, label FROM marks ORDER BY t_s").fetchall()
chk(m == [(1, "first label, with spaces"), (0, "second")], "the two good marks stored with their labels (%r)" % m)
n = con.execute("SELECT count(*) FROM outcomes WHERE kind NOT IN ('probe', 'mark')").fetchone()[0]
chk(n == 0, "outcomes are probes or marks")
EOF
py_checks "$TEST_TMP/check_probe.py" "$db"

# ---- a probe is never faulted ----------------------------------------------------

# Inside a session whose rule fails every SQLite call, the same sqlite3
# command fails when the target runs it and succeeds as a probe.
name2=$(new_session)
TEST_SESSIONS+=("$name2")
db2=$TEST_TMP/unfaulted.db
cat >"$TEST_TMP/inside.sh" <<'EOF'
fl=$1 work=$2
sqlite3 "$work" 'SELECT 41 + 1' >"$work.direct" 2>&1
echo "direct=$?"
"$fl" probe --count 2 --every 100ms -- sqlite3 "$work" 'SELECT 41 + 1'
echo "probe=$?"
EOF
"$FAULTLINE" run -s "$name2" -o "$db2" -r 'db.error rc=IOERR name=every' -- \
    bash "$TEST_TMP/inside.sh" "$FAULTLINE" "$TEST_TMP/inside.db" >"$TEST_TMP/run2.out" 2>&1 &
run2=$!
TEST_PIDS+=("$run2")
wait_pid "$run2" 15
expect_eq "faultline run of the script exits 0" 0 "$WAIT_RC"
expect_match "sqlite3 run by the target is faulted (the rule works)" 'direct=[1-9]' "$(cat "$TEST_TMP/run2.out")"
expect_match "... with the injected error" 'I/O error' "$(cat "$TEST_TMP/inside.db.direct" 2>&1)"
expect_match "the probe from inside the session exits 0" 'probe=0' "$(cat "$TEST_TMP/run2.out")"
expect_eq "the probed sqlite3 ran unfaulted: 2 probes ok, exit 0" "1|0
1|0" "$(sqlite3 "$db2" 'SELECT ok, exit_code FROM probes ORDER BY t_s')"

# ---- record a session started without run ----------------------------------------

name3=$(new_session)
TEST_SESSIONS+=("$name3")
db3=$TEST_TMP/record.db
cat >"$TEST_TMP/app.py" <<'EOF'
# Waits for the go file, then ~1.5 s of INSERTs; prints how many it made.
import os, sqlite3, sys, time
work, go = sys.argv[1], sys.argv[2]
c = sqlite3.connect(work, isolation_level=None)
c.execute("PRAGMA synchronous=OFF")
c.execute("CREATE TABLE t(v)")
print("ready pid=%d" % os.getpid(), flush=True)
deadline = time.monotonic() + 15
while not os.path.exists(go) and time.monotonic() < deadline:
    time.sleep(0.02)
n, end = 0, time.monotonic() + 1.5
while time.monotonic() < end:
    c.execute("INSERT INTO t VALUES (1)")
    n += 1
    time.sleep(0.01)
print("inserts=%d" % n, flush=True)
EOF
LD_PRELOAD=$SHIM FAULTLINE_SESSION=$name3 "$PYTHON" "$TEST_TMP/app.py" "$TEST_TMP/app.db" \
    "$TEST_TMP/go3" >"$TEST_TMP/app.out" 2>&1 &
app=$!
TEST_PIDS+=("$app")
check "app started with LD_PRELOAD and FAULTLINE_SESSION" wait_until has_line "$TEST_TMP/app.out" '^ready'
check "... and created the session" session_live "$name3"
"$FAULTLINE" record -s "$name3" -o "$db3" >"$TEST_TMP/record.out" 2>&1 &
rec=$!
TEST_PIDS+=("$rec")
recording() { [ "$(sqlite3 "$db3" 'SELECT count(*) FROM sample_times' 2>/dev/null)" -gt 0 ] 2>/dev/null; }
check "faultline record is sampling" wait_until recording

"$FAULTLINE" record -s "$name3" -o "$TEST_TMP/second.db" >"$TEST_TMP/second.out" 2>"$TEST_TMP/second.err"
expect_eq "a second recorder on the session: exit 2" 2 $?
expect_match "... saying the session is already recorded, by which process" \
    "^faultline: record: .*already recorded by process $rec" "$(cat "$TEST_TMP/second.err")"
expect_eq "... and it stored no session" 0 "$(sqlite3 "$TEST_TMP/second.db" 'SELECT count(*) FROM sessions' 2>/dev/null || echo 0)"

touch "$TEST_TMP/go3"
wait_pid "$app" 15
expect_eq "the app exits 0" 0 "$WAIT_RC"
wait_pid "$rec" 5
expect_eq "faultline record stopped by itself once the app exited (bounded: 5 s), exit 0" 0 "$WAIT_RC"
inserts=$(sed -n 's/^inserts=//p' "$TEST_TMP/app.out")
cat >"$TEST_TMP/check_record.py" <<'EOF'
import sqlite3, sys
def chk(cond, what): print(("1 " if cond else "0 ") + what)
con = sqlite3.connect(sys.argv[1])
name, inserts, pid = sys.argv[2], int(sys.argv[3] or 0), int(sys.argv[4])
s = con.execute("SELECT id, name, ended_s, command FROM sessions").fetchall()
chk(len(s) == 1 and s[0][1] == name and s[0][2] is not None, "one closed session of that name (%r)" % s)
steps = con.execute("SELECT sum(calls) FROM samples WHERE function = 'sqlite3_step'").fetchone()[0] or 0
chk(inserts >= 50 and inserts <= steps <= inserts + 3,
    "every INSERT the app made after go was sampled (%d sqlite3_step calls, %d inserts)" % (steps, inserts))
procs = con.execute("SELECT count(*), max(rss_kb), max(cpu_ms) FROM processes WHERE pid = ?", (pid,)).fetchone()
chk(procs[0] >= 10 and procs[1] > 0, "the app's process sampled: rss, cpu (%r)" % (procs,))
EOF
py_checks "$TEST_TMP/check_record.py" "$db3" "$name3" "$inserts" "$app"

# ---- every enabled rule is recorded --------------------------------------------------

# 500 threads each hold a counter slot of the session: arming a rule sums
# its counters over all of them (the first arming also brings those pages
# in), and the recorder must still record the rule once it is armed. Three
# fresh sessions, one rule each, armed and disarmed live.
recorded=
for i in 1 2 3; do
    name4=$(new_session)
    TEST_SESSIONS+=("$name4")
    "$FAULTLINE" run -s "$name4" -o "$TEST_TMP/rules.db" -- "$TARGETS/record_threads" 500 \
        "$TEST_TMP/stop4.$i" >"$TEST_TMP/run4.$i.out" 2>&1 &
    run4=$!
    TEST_PIDS+=("$run4")
    wait_until has_line "$TEST_TMP/run4.$i.out" '^ready' || echo "    (500-thread target $i not ready)"
    "$FAULTLINE" enable -s "$name4" "mem.fail min=1GiB name=big$i" >/dev/null
    sleep 0.1
    "$FAULTLINE" disable -s "$name4" "big$i"
    touch "$TEST_TMP/stop4.$i"
    wait_pid "$run4" 15
    expect_eq "500-thread target $i: faultline run exits 0" 0 "$WAIT_RC"
    recorded+="$(sqlite3 "$TEST_TMP/rules.db" "SELECT name, armed_s > 0, retired_s > armed_s FROM rules
        WHERE session = (SELECT max(id) FROM sessions)") "
done
expect_eq "each session's rules table holds its rule, armed and retired" \
    "big1|1|1 big2|1|1 big3|1|1 " "$recorded"

# Two runs recording into one new file at the same moment (two terminals in
# one directory): both record, the file holds both sessions.
shared=$TEST_TMP/shared.db
for i in 1 2 3; do
    "$FAULTLINE" run -o "$shared" -s "$(new_session)-$i" -- "$PYTHON" -c 'import time; time.sleep(0.5)' \
        2>"$TEST_TMP/shared.err.$i" &
done
wait
expect_eq "three concurrent recorders on one new file: no error" "" "$(cat "$TEST_TMP"/shared.err.*)"
expect_eq "the file holds the three sessions" 3 "$(sqlite3 "$shared" 'SELECT count(*) FROM sessions WHERE ended_s IS NOT NULL')"

# mark --duration: the report's latency comes from the marks' own durations.
mdb=$TEST_TMP/markdur.db
"$FAULTLINE" run -o "$mdb" -s "$(new_session)" -- sh -c "
    for d in 10 20 30 40 50 60 70 80 90 100; do $FAULTLINE mark --duration \${d}ms ok; done; sleep 0.2"
lat=$("$FAULTLINE" report -o "$mdb" --format json | "$PYTHON" -c 'import json,sys; w=json.load(sys.stdin)["windows"][0]; print(w["p50_ms"], w["p99_ms"])')
expect_eq "p50/p99 of marks given --duration 10..100 ms (nearest rank)" "50 100" "$lat"
"$FAULTLINE" mark -s "$(new_session)" --duration 5parsecs ok 2>/dev/null
expect_eq "mark --duration with a bad unit exits 2" 2 "$?"
