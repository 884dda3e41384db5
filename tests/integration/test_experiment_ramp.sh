# A ramp (docs/experiments.md: `ramp = { p = [FROM, TO], steps = N }`): the
# phase's rules are re-armed N times, p going linearly from FROM to TO, and
# the report shows the phase as one window.
#
# python3's sqlite3 module inserts a row every 2 ms and logs each outcome
# (wall-clock time, ok/fail). Phases: baseline 1 s, "busy ramp" 2.5 s with
# `db.error rc=BUSY on=step` ramped p = 0 -> 1 in 5 steps (0, 0.25, 0.5,
# 0.75, 1; 0.5 s each), "after" 0.5 s. From the recording:
#  - rules table: one rule row per step, named after the phase, its text
#    carrying the step's p, armed back to back for 0.5 s each; its
#    injected/matched is the step's measured fraction: k/4 (+-0.15),
#    increasing, 0 at the first step, all at the last;
#  - events table, by time: every injection is an event inside its step's
#    [armed_s, retired_s], and per step events / the program's own inserts
#    is k/4 (+-0.15);
#  - the program's own log agrees: its failures per step follow the ramp
#    and add up to the injections;
#  - the report: the phase is one window "busy-ramp" from the first step's
#    arming to the last one's retirement, holding every step's rules and
#    injections; the experiment (no tolerances, the ramp injected) exits 0.

source ./net_lib.sh

# dbloop.py DB LOG PERIOD: INSERTs, each outcome logged (lib.sh).
dbloop_py >"$TEST_TMP/dbloop.py"

cat >"$TEST_TMP/ramp.toml" <<EOF
name = "busy ramp"
seed = 5

[target]
command = ["$PYTHON", "$TEST_TMP/dbloop.py", "$TEST_TMP/work.db", "$TEST_TMP/loop.log", "0.002"]

[[phase]]
name = "baseline"
duration = "1s"

[[phase]]
name = "busy ramp"
duration = "2500ms"
rules = ["db.error rc=BUSY on=step"]
ramp = { p = [0.0, 1.0], steps = 5 }

[[phase]]
name = "after"
duration = "500ms"
EOF

name=$(new_session)
NET_SESSIONS+=("$name")
db=$TEST_TMP/ramp.db
timeout -k 5 40 "$FAULTLINE" experiment "$TEST_TMP/ramp.toml" -s "$name" -o "$db" \
    >"$TEST_TMP/exp.out" 2>"$TEST_TMP/exp.err"
rc=$?
sed 's/^/      /' "$TEST_TMP/exp.out"
expect_eq "the ramp experiment (no tolerances, the ramp injected) exits 0" 0 "$rc"
expect_eq "the experiment's table shows the ramp as one busy-ramp row" 1 \
    "$(grep -cE '^\| busy-ramp +\|' "$TEST_TMP/exp.out")"
expect_match "stderr shows the ramped phase starting" 'phase busy ramp \(db.error rc=BUSY on=step\)' \
    "$(cat "$TEST_TMP/exp.err")"
"$FAULTLINE" report -o "$db" -s "$name" --format json >"$TEST_TMP/r.json" 2>"$TEST_TMP/r.err"
expect_eq "report --format json on the recording exits 0" 0 $?

cat >"$TEST_TMP/check.py" <<'EOF'
import json, sqlite3, sys
report, db, log = sys.argv[1:4]
def chk(cond, what): print(("1 " if cond else "0 ") + what)
con = sqlite3.connect(db)
t0 = con.execute("SELECT started_wall_ns / 1e9 FROM sessions").fetchone()[0]
rows = [l.split() for l in open(log)]
rows = [(float(t) - t0, s) for t, s in rows]
chk(all(s in ("ok", "fail") for _, s in rows), "every insert either succeeded or raised 'database is locked'")

rules = con.execute("SELECT rule_id, name, text, armed_s, retired_s, seen, matched, injected "
                    "FROM rules ORDER BY armed_s").fetchall()
chk(len(rules) == 5, "the rules table has one row per step (%d)" % len(rules))
if len(rules) != 5:
    sys.exit(0)
chk(all(r[1] == "busy-ramp" for r in rules), "every step's rule is named after the phase (%r)" % [r[1] for r in rules])
texts = [r[2] for r in rules]
chk(texts == ["db.error rc=BUSY on=step p=%s" % p for p in ("0", "0.25", "0.5", "0.75", "1")],
    "the steps' texts carry p = 0, 0.25, 0.5, 0.75, 1 (%r)" % texts)
chk(all(r[4] is not None for r in rules), "every step was retired")
if any(r[4] is None for r in rules):
    sys.exit(0)
lens = [r[4] - r[3] for r in rules]
chk(all(abs(l - 0.5) <= 0.1 for l in lens), "each step lasted 0.5 s (+-0.1): %s" % ["%.3f" % l for l in lens])
gaps = [rules[k + 1][3] - rules[k][4] for k in range(4)]
chk(all(-0.01 <= g <= 0.02 for g in gaps), "the steps follow each other back to back: %s" % ["%.4f" % g for g in gaps])
chk(abs(rules[0][3] - 1.0) <= 0.3, "the first step starts after the 1 s baseline (%.3f +-0.3)" % rules[0][3])
chk(abs(rules[-1][4] - rules[0][3] - 2.5) <= 0.1,
    "the steps span the phase's 2.5 s (%.3f +-0.1)" % (rules[-1][4] - rules[0][3]))

# The rules table: injected / matched per step.
fr = [r[7] / r[6] if r[6] else -1 for r in rules]
chk(all(r[6] >= 150 for r in rules), "every step matched >= 150 calls: %s" % [r[6] for r in rules])
chk(all(abs(f - k / 4) <= 0.15 for k, f in enumerate(fr)),
    "rules table: step k injected/matched = k/4 (+-0.15): %s" % ["%.3f" % f for f in fr])
chk(all(fr[k] < fr[k + 1] for k in range(4)), "rules table: the fraction increases step by step")
chk(rules[0][7] == 0, "the first step (p=0) injected nothing (%d of %d)" % (rules[0][7], rules[0][6]))
chk(rules[-1][7] == rules[-1][6] > 0, "the last step (p=1) injected every matched call (%d of %d)" % (rules[-1][7], rules[-1][6]))

# The events table, by time.
events = con.execute("SELECT t_s, rule_id, function FROM events ORDER BY t_s").fetchall()
dropped = con.execute("SELECT dropped_events FROM sessions").fetchone()[0]
chk(dropped == 0 and len(events) == sum(r[7] for r in rules),
    "one event per injection (%d events, %d injected, %d dropped)" % (len(events), sum(r[7] for r in rules), dropped))
span = {r[0]: (r[3], r[4]) for r in rules}
outside = [e for e in events if e[1] not in span or not span[e[1]][0] <= e[0] <= span[e[1]][1]]
chk(not outside, "every event lies inside its step's [armed_s, retired_s] (%d outside)" % len(outside))
chk(all(e[2] == "sqlite3_step" for e in events), "every event is an injected sqlite3_step")
ev_fr, own_fr = [], []
for k, r in enumerate(rules):
    a, b = r[3], r[4]
    calls = [s for t, s in rows if a <= t < b]
    ev = sum(1 for e in events if a <= e[0] < b)
    ev_fr.append(ev / len(calls) if calls else -1)
    own_fr.append(sum(s == "fail" for s in calls) / len(calls) if calls else -1)
chk(all(abs(f - k / 4) <= 0.15 for k, f in enumerate(ev_fr)),
    "events by time: step k events / the program's inserts = k/4 (+-0.15): %s" % ["%.3f" % f for f in ev_fr])
chk(all(abs(f - k / 4) <= 0.15 for k, f in enumerate(own_fr)),
    "the program's own log: step k failure fraction = k/4 (+-0.15): %s" % ["%.3f" % f for f in own_fr])
chk(all(own_fr[k] < own_fr[k + 1] for k in range(4)), "the program's own failure fraction increases step by step")
fails = sum(s == "fail" for _, s in rows)
chk(fails == sum(r[7] for r in rules), "the program's failed inserts (%d) = the injections (%d)" % (fails, sum(r[7] for r in rules)))
before = [s for t, s in rows if t < rules[0][3]]
after = [s for t, s in rows if t > rules[-1][4] + 0.01]
chk(len(before) >= 200 and all(s == "ok" for s in before), "no failure before the ramp (%d inserts)" % len(before))
chk(len(after) >= 100 and all(s == "ok" for s in after), "no failure after the ramp (%d inserts)" % len(after))

# The report: the phase is one window.
rep = json.load(open(report))
w = rep["windows"]
chk([x["name"] for x in w] == ["baseline", "busy-ramp"],
    "the report's windows: baseline, busy-ramp once (%r)" % [(x["name"], round(x["start_s"], 3), round(x["end_s"], 3)) for x in w])
f = w[-1]
chk(abs(f["start_s"] - rules[0][3]) < 1e-3 and abs(f["end_s"] - rules[-1][4]) < 1e-3,
    "the window runs from the first step's arming to the last one's retirement (%.3f-%.3f)" % (f["start_s"], f["end_s"]))
chk(sorted(f["rule_ids"]) == sorted(r[0] for r in rules) and f["injected"] == sum(r[7] for r in rules),
    "the window holds every step's rule and injection (%r, %d)" % (f["rule_ids"], f["injected"]))
EOF
py_checks "$TEST_TMP/check.py" "$TEST_TMP/r.json" "$db" "$TEST_TMP/loop.log"
