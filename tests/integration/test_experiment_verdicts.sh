# `faultline experiment FILE.toml` end to end on real programs
# (docs/experiments.md): its exit status and verdicts, and its recording
# checked against what the programs themselves logged.
#
# (a) held: python3's sqlite3 module inserts ~100 rows a second and logs
#     every outcome (wall-clock time, ok/fail); phases baseline 1.5 s,
#     "db busy" 2 s (db.error rc=BUSY on=step p=0.5), recovery 1.5 s;
#     tolerances it meets (min_success 0.2, max_recovery 1s). Exit 0, the
#     table says "held"; the window's success rate agrees with the
#     program's own log.
# (b) deviated: the same with min_success = 0.99: exit 1, "deviated" and
#     the deviation's sentence.
# (c) inconclusive: a db rule whose sql= never matches and a net rule on a
#     program that makes no network call: exit 2, both windows
#     "inconclusive", and the program saw no failure.
# (d) (on (a)'s recording) the fault window is named after its phase
#     ("db busy" -> db-busy) and its boundaries are the phases' durations
#     (+-0.3 s): starts 1.5 s in, lasts 2 s; the recording ends ~5 s in.
# (e) probes: python3's http.server under the shim, [steady_state] probe =
#     curl every 100 ms (outside the shim), a phase of net.reset lport=PORT
#     p=0.25 on the server: the report's operations are the probes, the
#     probes view has rows, and the window's success rate is the probes
#     table's own fraction for that window (+-0.05).
#
# Session-relative times: sessions.started_wall_ns is t = 0 on the wall
# clock, which the programs' logs use too.

source ./net_lib.sh

# experiment NAME FILE.toml DB [ARGS...]: runs the experiment in session
# NAME (bounded: 40 s), its stdout in $TEST_TMP/NAME.out, stderr in
# NAME.err; sets EXP_RC.
experiment() {
    local name=$1 file=$2 db=$3
    shift 3
    NET_SESSIONS+=("$name")
    timeout -k 5 40 "$FAULTLINE" experiment "$file" -s "$name" -o "$db" "$@" \
        >"$TEST_TMP/$name.out" 2>"$TEST_TMP/$name.err"
    EXP_RC=$?
}

# row NAME WINDOW: the table row of WINDOW in experiment NAME's output.
row() { grep -E "^\| $2 +\|" "$TEST_TMP/$1.out"; }

# dbloop.py DB LOG PERIOD: INSERTs, each outcome logged (lib.sh).
dbloop_py >"$TEST_TMP/dbloop.py"

# db_target TAG: the [target] table of a dbloop writing $TEST_TMP/TAG.*
db_target() {
    cat <<EOF
[target]
command = ["$PYTHON", "$TEST_TMP/dbloop.py", "$TEST_TMP/$1.work.db", "$TEST_TMP/$1.log", "0.01"]
EOF
}

# ---- (a) held, (d) windows -------------------------------------------------------

{
    echo 'name = "busy holds"'
    db_target a
    cat <<'EOF'
[steady_state]
min_success = 0.2
max_recovery = "1s"
recovery_window = "500ms"

[[phase]]
name = "baseline"
duration = "1500ms"

[[phase]]
name = "db busy"
duration = "2s"
rules = ["db.error rc=BUSY on=step p=0.5"]

[[phase]]
name = "recovery"
duration = "1500ms"
EOF
} >"$TEST_TMP/a.toml"
name_a=$(new_session)
experiment "$name_a" "$TEST_TMP/a.toml" "$TEST_TMP/a.db"
expect_eq "(a) an experiment whose tolerances hold exits 0" 0 "$EXP_RC"
expect_match "(a) the table's db-busy row says held" '\| held +\|' "$(row "$name_a" db-busy)"
check "(a) the table has no deviated or inconclusive window" \
    bash -c "! grep -Eq 'deviated|inconclusive' '$TEST_TMP/$name_a.out'"
expect_match "(a) stderr names the session and the recording" \
    "session $name_a, seed [0-9]+, recording into $TEST_TMP/a.db" "$(head -1 "$TEST_TMP/$name_a.err")"
expect_match "(a) stderr shows each phase as it starts" \
    'phase baseline \(no rules\).*phase db busy \(db.error rc=BUSY on=step p=0.5\).*phase recovery' \
    "$(tr '\n' ' ' <"$TEST_TMP/$name_a.err")"
check "(a) the experiment stopped its target (no dbloop left for a.log)" not_running "$TEST_TMP/a.log"
check "(a) the session's segment is gone" test ! -e "/dev/shm/faultline.$name_a"

"$FAULTLINE" report -o "$TEST_TMP/a.db" -s "$name_a" --format json >"$TEST_TMP/a.json" 2>"$TEST_TMP/a.rep.err"
expect_eq "(a) report --format json on the recording exits 0" 0 $?

cat >"$TEST_TMP/check_a.py" <<'EOF'
import json, sqlite3, sys
report, db, log = sys.argv[1:4]
def chk(cond, what): print(("1 " if cond else "0 ") + what)
r = json.load(open(report))
con = sqlite3.connect(db)
t0, ended = con.execute("SELECT started_wall_ns / 1e9, ended_s FROM sessions").fetchone()
rows = [l.split() for l in open(log)]
rows = [(float(t) - t0, s) for t, s in rows]
chk(len(rows) >= 300 and all(s in ("ok", "fail") for _, s in rows),
    "(a) the program made >= 300 inserts, each ok or 'database is locked' (%d)" % len(rows))
w = r["windows"]
chk([x["name"] for x in w] == ["baseline", "db-busy"],
    "(d) windows: baseline, then db-busy named after the phase 'db busy' (%r)" % [x["name"] for x in w])
chk(r["source"] == "calls" and r["families"] == ["db"],
    "(a) no probe, no marks: the operations are the db calls (%r %r)" % (r["source"], r["families"]))
f = w[-1]
chk(abs(f["start_s"] - 1.5) <= 0.3, "(d) the window starts after the 1.5 s baseline phase (%.3f +-0.3)" % f["start_s"])
chk(abs(f["end_s"] - f["start_s"] - 2.0) <= 0.3,
    "(d) the window lasts the phase's 2 s (%.3f +-0.3)" % (f["end_s"] - f["start_s"]))
chk(abs(f["end_s"] - 3.5) <= 0.3, "(d) the window ends 3.5 s in (%.3f +-0.3)" % f["end_s"])
chk(ended is not None and 4.7 <= ended <= 5.8,
    "(d) the recording ends after the last phase, ~5 s in (%s)" % ended)
rules = con.execute("SELECT name, text, armed_s, retired_s, injected FROM rules").fetchall()
chk(len(rules) == 1 and rules[0][0] == "db-busy" and rules[0][1] == "db.error rc=BUSY on=step p=0.5",
    "(d) one rule, named after the phase, its text as written (%r)" % rules)
chk(rules and abs(rules[0][2] - f["start_s"]) < 1e-3 and rules[0][3] is not None
    and abs(rules[0][3] - f["end_s"]) < 1e-3,
    "(d) the window is the rule's armed_s..retired_s")
fails = sum(s == "fail" for _, s in rows)
chk(f["injected"] > 0 and f["injected"] == fails,
    "(a) injected %d = the program's failed inserts %d" % (f["injected"], fails))
own = [s == "ok" for t, s in rows if f["start_s"] <= t < f["end_s"]]
own_rate = sum(own) / len(own) if own else -1
chk(len(own) >= 150, "(a) >= 150 inserts during the fault (%d)" % len(own))
chk(0.3 <= own_rate <= 0.7, "(a) the program saw about half its inserts fail (%.3f)" % own_rate)
chk(f["success_rate"] is not None and abs(f["success_rate"] - own_rate) <= 0.1,
    "(a) window success %s agrees with the program's own %.3f (+-0.1)" % (f["success_rate"], own_rate))
before = [s for t, s in rows if t < f["start_s"]]
after = [s for t, s in rows if t >= f["end_s"] + 0.05]
chk(len(before) >= 50 and all(s == "ok" for s in before),
    "(a) before the phase every insert succeeded (%d)" % len(before))
chk(len(after) >= 50 and all(s == "ok" for s in after),
    "(a) after the phase every insert succeeded (%d)" % len(after))
EOF
py_checks "$TEST_TMP/check_a.py" "$TEST_TMP/a.json" "$TEST_TMP/a.db" "$TEST_TMP/a.log"

# ---- (b) deviated ------------------------------------------------------------------

{
    echo 'name = "busy deviates"'
    db_target b
    cat <<'EOF'
[steady_state]
min_success = 0.99

[[phase]]
name = "baseline"
duration = "1s"

[[phase]]
name = "db busy"
duration = "1500ms"
rules = ["db.error rc=BUSY on=step p=0.5"]

[[phase]]
name = "recovery"
duration = "500ms"
EOF
} >"$TEST_TMP/b.toml"
name_b=$(new_session)
experiment "$name_b" "$TEST_TMP/b.toml" "$TEST_TMP/b.db"
expect_eq "(b) min_success 0.99 under db.error p=0.5 exits 1" 1 "$EXP_RC"
expect_match "(b) the table's db-busy row says deviated" '\| deviated +\|' "$(row "$name_b" db-busy)"
expect_match "(b) the deviation is explained under the table" \
    'db-busy: success rate [0-9.]+% is below the minimum 99.0%' "$(cat "$TEST_TMP/$name_b.out")"
fails_b=$(grep -c ' fail$' "$TEST_TMP/b.log")
check "(b) the program itself saw failures ($fails_b)" test "$fails_b" -gt 0

# ---- (c) inconclusive --------------------------------------------------------------

{
    echo 'name = "never fires"'
    db_target c
    cat <<'EOF'
[steady_state]
min_success = 0.5

[[phase]]
name = "baseline"
duration = "500ms"

[[phase]]
name = "no match"
duration = "1s"
rules = ["db.error rc=BUSY on=step sql='NOMATCH*'"]

[[phase]]
name = "gap"
duration = "300ms"

[[phase]]
name = "no net"
duration = "1s"
rules = ["net.refuse peer=127.0.0.1:9"]
EOF
} >"$TEST_TMP/c.toml"
name_c=$(new_session)
experiment "$name_c" "$TEST_TMP/c.toml" "$TEST_TMP/c.db"
expect_eq "(c) rules that never fire: exit 2" 2 "$EXP_RC"
expect_match "(c) the sql='NOMATCH*' window is inconclusive" '\| inconclusive +\|' "$(row "$name_c" no-match)"
expect_match "(c) the net rule's window (no network calls) is inconclusive" '\| inconclusive +\|' \
    "$(row "$name_c" no-net)"
check "(c) no window deviated" bash -c "! grep -q deviated '$TEST_TMP/$name_c.out'"
expect_eq "(c) the program saw no failure" "0" "$(grep -vc ' ok$' "$TEST_TMP/c.log")"
check "(c) ... and made >= 100 inserts" test "$(wc -l <"$TEST_TMP/c.log")" -ge 100
expect_eq "(c) the recording: both rules injected 0" "no-match 0,no-net 0" \
    "$(sqlite3 "$TEST_TMP/c.db" "SELECT group_concat(name || ' ' || injected, ',') FROM (SELECT * FROM rules ORDER BY rule_id)")"

# ---- (e) probes --------------------------------------------------------------------

net_data
echo hello >"$NET_WWW/small.txt"
port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$TEST_TMP/e.toml" <<EOF
name = "server resets"

[target]
command = ["$PYTHON", "-m", "http.server", "$port", "--bind", "127.0.0.1", "--directory", "$NET_WWW"]

[steady_state]
probe = ["curl", "-sf", "-o", "/dev/null", "--max-time", "2", "http://127.0.0.1:$port/small.txt"]
every = "100ms"
timeout = "1s"

[[phase]]
name = "baseline"
duration = "1500ms"

[[phase]]
name = "resets"
duration = "2s"
rules = ["net.reset lport=$port p=0.25"]

[[phase]]
name = "after"
duration = "1s"
EOF
name_e=$(new_session)
experiment "$name_e" "$TEST_TMP/e.toml" "$TEST_TMP/e.db"
expect_eq "(e) the probe experiment (no tolerances, the rule injected) exits 0" 0 "$EXP_RC"
check "(e) the experiment stopped the http.server" not_running "http.server $port"
"$FAULTLINE" report -o "$TEST_TMP/e.db" -s "$name_e" --format json >"$TEST_TMP/e.json" 2>"$TEST_TMP/e.rep.err"
expect_eq "(e) report --format json exits 0" 0 $?

cat >"$TEST_TMP/check_e.py" <<'EOF'
import json, sqlite3, sys
report, db = sys.argv[1:3]
def chk(cond, what): print(("1 " if cond else "0 ") + what)
r = json.load(open(report))
con = sqlite3.connect(db)
chk(r["source"] == "outcomes", "(e) the report's operations are the probes (source %r)" % r["source"])
w = r["windows"]
chk([x["name"] for x in w] == ["baseline", "resets"], "(e) windows: baseline, resets (%r)" % [x["name"] for x in w])
f = w[-1]
probes = con.execute("SELECT t_s, ok FROM probes ORDER BY t_s").fetchall()
marks = con.execute("SELECT count(*) FROM marks").fetchone()[0]
chk(len(probes) >= 30 and marks == 0, "(e) the probes view has rows (%d; %d marks)" % (len(probes), marks))
inside = [ok for t, ok in probes if f["start_s"] <= t < f["end_s"]]
chk(len(inside) >= 10, "(e) >= 10 probes ran during the fault (%d)" % len(inside))
own = sum(inside) / len(inside) if inside else -1
chk(f["success_rate"] is not None and abs(f["success_rate"] - own) <= 0.05,
    "(e) window success %s = the probes table's %.3f for [%.2f, %.2f) (+-0.05)"
    % (f["success_rate"], own, f["start_s"], f["end_s"]))
chk(f["ops"] == len(inside), "(e) window ops %s = probes in the window %d" % (f["ops"], len(inside)))
chk(len(inside) > 0 and sum(inside) < len(inside),
    "(e) some probes failed during the fault (%d of %d ok)" % (sum(inside), len(inside)))
injected = con.execute("SELECT injected FROM rules WHERE name = 'resets'").fetchone()
chk(injected and injected[0] > 0 and f["injected"] == injected[0],
    "(e) the server's connections were reset (%s injected, report %s)" % (injected, f["injected"]))
# Before the fault: every probe once the server answered the first time.
base = [ok for t, ok in probes if t < f["start_s"]]
up = base[base.index(1):] if 1 in base else []
chk(len(up) >= 8 and all(up), "(e) before the fault every probe succeeded once the server was up (%d)" % len(up))
after = [ok for t, ok in probes if t >= f["end_s"] + 0.3]
chk(len(after) >= 5 and all(after), "(e) after the fault every probe succeeded (%d)" % len(after))
EOF
py_checks "$TEST_TMP/check_e.py" "$TEST_TMP/e.json" "$TEST_TMP/e.db"
