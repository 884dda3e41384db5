# Only an experiment's ramp steps and back-to-back phases join into one
# window (docs/metrics.md "Windows"): toggled live, `disable A; enable B`
# gives two windows, A then B, even a few ms apart. A python3 loop INSERTs
# every 20 ms under `faultline run -o DB`; A and B (db.error every=2, every=3)
# are toggled from this shell; then an experiment with two back-to-back
# phases of rules still reports them as one window.

trap 'cleanup_test KILL' EXIT
cat >"$TEST_TMP/loop.py" <<'PY'
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("CREATE TABLE IF NOT EXISTS t(i INTEGER PRIMARY KEY)")
print("ready", flush=True)
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    try:
        c.execute("INSERT INTO t VALUES(NULL)")
    except sqlite3.OperationalError:
        pass
    time.sleep(0.02)
PY

name=$(new_session)
TEST_SESSIONS+=("$name")
db=$TEST_TMP/live.db
"$FAULTLINE" run -s "$name" -o "$db" -- "$PYTHON" "$TEST_TMP/loop.py" "$TEST_TMP/w.db" 4 >"$TEST_TMP/run.out" 2>&1 &
run=$!
TEST_PIDS+=("$run")
check "the loop started" wait_until grep -q '^ready' "$TEST_TMP/run.out"
sleep 0.8
"$FAULTLINE" enable -s "$name" "db.error rc=BUSY every=2 on=step name=A" >/dev/null
sleep 1
start=$(date +%s%N)
"$FAULTLINE" disable -s "$name" A
"$FAULTLINE" enable -s "$name" "db.error rc=BUSY every=3 on=step name=B" >/dev/null
gap_ms=$((($(date +%s%N) - start) / 1000000))
sleep 1
"$FAULTLINE" disable -s "$name" B
wait_pid "$run" 10
expect_eq "faultline run exits 0" 0 "$WAIT_RC"
"$FAULTLINE" report -o "$db" --format json >"$TEST_TMP/r.json"
cat >"$TEST_TMP/check.py" <<'PY'
import json, sys
def chk(cond, what): print(("1 " if cond else "0 ") + what)
w = json.load(open(sys.argv[1]))["windows"]
chk([x["name"] for x in w] == ["baseline", "A", "B"],
    "disable A; enable B (%s ms apart): windows baseline, A, B (%r)" % (sys.argv[2], [x["name"] for x in w]))
if len(w) == 3:
    chk(w[2]["start_s"] >= w[1]["end_s"], "B starts after A ended (%.3f, %.3f)" % (w[1]["end_s"], w[2]["start_s"]))
    chk(w[1]["injected"] > 0 and w[2]["injected"] > 0, "each injected (%d, %d)" % (w[1]["injected"], w[2]["injected"]))
    chk(0.4 <= w[1]["success_rate"] <= 0.6 and 0.55 <= w[2]["success_rate"] <= 0.8,
        "each measured on its own: A ~1/2, B ~2/3 (%.2f, %.2f)" % (w[1]["success_rate"], w[2]["success_rate"]))
PY
py_checks "$TEST_TMP/check.py" "$TEST_TMP/r.json" "$gap_ms"

# Back-to-back phases of an experiment: one window.
cat >"$TEST_TMP/x.toml" <<TOML
[target]
command = ["$PYTHON", "$TEST_TMP/loop.py", "$TEST_TMP/x-w.db", "10"]
[[phase]]
name = "warm"
duration = "700ms"
[[phase]]
name = "first"
duration = "600ms"
rules = ["db.error rc=BUSY every=2 on=step"]
[[phase]]
name = "second"
duration = "600ms"
rules = ["db.error rc=BUSY every=3 on=step"]
[[phase]]
name = "after"
duration = "500ms"
TOML
"$FAULTLINE" experiment "$TEST_TMP/x.toml" -o "$TEST_TMP/x.db" -s "$name-x" --quiet --format json \
    >"$TEST_TMP/x.json" 2>"$TEST_TMP/x.err"
expect_eq "the experiment exits 0" 0 $?
names=$("$PYTHON" -c 'import json,sys; print(" ".join(x["name"] for x in json.load(open(sys.argv[1]))["windows"]))' "$TEST_TMP/x.json" 2>&1)
expect_eq "its back-to-back phases are one window" "baseline first+second" "$names"
