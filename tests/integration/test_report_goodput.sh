# Throughput Impact is goodput (docs/metrics.md): successful operations per
# second against the baseline's. A python3 loop INSERTs every 20 ms on a
# fixed schedule (its pace does not depend on its results) under
# `faultline run -o DB`; 2 s in, `db.error rc=BUSY every=2 on=step` fails
# every other INSERT for 3 s (python3 counts its own results), then it is
# disabled. The report's fault window keeps the baseline's ops/s (within
# 10%), its success rate is python3's (~50%), and its Throughput Impact reads
# about -50% (the ops/s alone would say ~0%). The json keeps ops_per_s and
# adds goodput_per_s.

trap 'cleanup_test KILL' EXIT
cat >"$TEST_TMP/loop.py" <<'PY'
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("PRAGMA journal_mode=WAL")
c.execute("PRAGMA synchronous=OFF")
c.execute("CREATE TABLE t(i INTEGER PRIMARY KEY)")
log = open(sys.argv[2], "w", buffering=1)
print("ready", flush=True)
nxt = time.monotonic()
end = nxt + float(sys.argv[3])
while time.monotonic() < end:
    try:
        c.execute("INSERT INTO t VALUES(NULL)")
        log.write("%.6f ok\n" % time.time())
    except sqlite3.OperationalError:
        log.write("%.6f fail\n" % time.time())
    nxt += 0.02
    time.sleep(max(0.0, nxt - time.monotonic()))
PY

name=$(new_session)
TEST_SESSIONS+=("$name")
db=$TEST_TMP/goodput.db
"$FAULTLINE" run -s "$name" -o "$db" -- "$PYTHON" "$TEST_TMP/loop.py" "$TEST_TMP/work.db" \
    "$TEST_TMP/log" 7 >"$TEST_TMP/run.out" 2>&1 &
run=$!
TEST_PIDS+=("$run")
check "the loop started" wait_until grep -q '^ready' "$TEST_TMP/run.out"
sleep 2
"$FAULTLINE" enable -s "$name" "db.error rc=BUSY every=2 on=step sql='INSERT*' name=half" >/dev/null
sleep 3
"$FAULTLINE" disable -s "$name" half
wait_pid "$run" 10
expect_eq "faultline run exits 0" 0 "$WAIT_RC"
fails=$(grep -c ' fail$' "$TEST_TMP/log")
oks=$(grep -c ' ok$' "$TEST_TMP/log")
check "python3 saw about half of the window's INSERTs fail ($fails failed, $oks ok)" \
    between 60 "$fails" 90

"$FAULTLINE" report -o "$db" --format json >"$TEST_TMP/r.json"
cat >"$TEST_TMP/check.py" <<'PY'
import json, sys
def chk(cond, what): print(("1 " if cond else "0 ") + what)
r = json.load(open(sys.argv[1]))
fails = int(sys.argv[2])
w = r["windows"]
chk(len(w) == 2 and w[1]["name"] == "half", "baseline and one window, half (%r)" % [x["name"] for x in w])
if len(w) == 2:
    b, f = w
    chk(all(k in x for x in w for k in ("ops_per_s", "goodput_per_s")), "ops_per_s and goodput_per_s in every window")
    pace = f["ops_per_s"] / b["ops_per_s"] - 1
    chk(abs(pace) <= 0.10, "the pace is the baseline's: ops/s %+.1f%% (%.1f against %.1f)" % (100 * pace, f["ops_per_s"], b["ops_per_s"]))
    chk(abs(f["failed"] - fails) <= 3, "the window's failures are python3's (%d, %d)" % (f["failed"], fails))
    chk(0.45 <= f["success_rate"] <= 0.55, "success rate about 50%% (%.3f)" % f["success_rate"])
    chk(-0.58 <= f["throughput_change"] <= -0.42, "Throughput Impact about -50%% (%+.1f%%)" % (100 * f["throughput_change"]))
    chk(abs(f["goodput_per_s"] - f["ops_per_s"] * f["success_rate"]) < 1e-6 * max(1, f["ops_per_s"]),
        "goodput_per_s = ops_per_s x success rate (%.2f)" % f["goodput_per_s"])
PY
py_checks "$TEST_TMP/check.py" "$TEST_TMP/r.json" "$fails"
"$FAULTLINE" report -o "$db" --max-throughput-drop 0.3 >"$TEST_TMP/judged.txt"
expect_eq "judged against a 30% allowed drop: exit 1" 1 $?
expect_match "the deviation says goodput dropped about half" "half: throughput dropped (4[2-9]|5[0-8])\.[0-9]%" \
    "$(cat "$TEST_TMP/judged.txt")"
