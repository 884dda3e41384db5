# Deaths (docs/metrics.md "Processes that ended"): every process of the
# session that ends is recorded, and a death is judged.
#
# A python3 service under `faultline run -o DB` allocates a little every
# 10 ms and 100 MiB every 100 ms; it aborts (SIGABRT, as redis does on OOM)
# when that allocation fails. In its baseline it starts two children under
# the shim: `sleep 30`, which it SIGKILLs, and `sh -c 'exit 3'`, and reaps
# both only 0.6 s later. Then `faultline enable 'mem.fail min=64MiB'`:
# - run exits 134, python3 aborted;
# - the report names the abort in the fault window (pid, python3, signal 6,
#   a target), lists the children's ends in the baseline with their exact
#   status (signal 9; status 3; sh's own `sleep 0.5`, reaped by sh at
#   once: its status 0, which it told as it exited), and the json has them
#   in `exits`;
# - judged (--min-success 0, which the figures alone pass), the window
#   deviates with the death as its reason, and report exits 1; unjudged, 0;
# - an experiment whose target aborts under its phase's rule exits 1, and
#   its json report parses and holds the death;
# - processes that a `faultline run` joining the session reaps (its target,
#   a client) have their exact ends recorded by the session's recorder
#   (told through the segment): a joined target's exit 3, a client killed
#   by SIGSEGV, a client's exit 5 (no target, no death of a target), and a
#   judged report deviates for the client's signal, not its exit 5.

trap 'cleanup_test KILL' EXIT
cat >"$TEST_TMP/service.py" <<'PY'
import os, signal, subprocess, sys, time
sleep = subprocess.Popen(["sleep", "30"])
sh = subprocess.Popen(["sh", "-c", "sleep 0.5; exit 3"])
print("ready", flush=True)
time.sleep(0.4)
sleep.send_signal(signal.SIGKILL)
time.sleep(0.6)               # both are zombies meanwhile: not reaped yet
sleep.wait(); sh.wait()
print("reaped", sleep.returncode, sh.returncode, flush=True)
keep = []
n = 0
while True:
    n += 1
    keep.append(bytearray(1024))
    if len(keep) > 100:
        keep.clear()
    if n % 10 == 0:
        try:
            big = bytearray(100 << 20)
            del big
        except MemoryError:
            print("aborting", flush=True)
            os.abort()
    time.sleep(0.01)
PY

name=$(new_session)
TEST_SESSIONS+=("$name")
db=$TEST_TMP/deaths.db
"$FAULTLINE" run -s "$name" -o "$db" -- "$PYTHON" "$TEST_TMP/service.py" >"$TEST_TMP/run.out" 2>&1 &
run=$!
TEST_PIDS+=("$run")
check "the service started" wait_until grep -q '^reaped' "$TEST_TMP/run.out"
expect_eq "python3 saw its children end: -9 and 3" "reaped -9 3" "$(grep '^reaped' "$TEST_TMP/run.out")"
sleep 0.5
"$FAULTLINE" enable -s "$name" 'mem.fail min=64MiB name=oom' >/dev/null
wait_pid "$run" 10
expect_eq "faultline run exits 134: python3 aborted" 134 "$WAIT_RC"
check "python3 said it aborts" grep -q '^aborting' "$TEST_TMP/run.out"

"$FAULTLINE" report -o "$db" >"$TEST_TMP/table.txt"
expect_eq "unjudged, the report exits 0" 0 $?
expect_match "the table lists the abort in its window" \
    "pid [0-9]+ \(python3\), a target, killed by signal 6 \(SIGABRT\).*\[oom\]" "$(cat "$TEST_TMP/table.txt")"
"$FAULTLINE" report -o "$db" --min-success 0 >"$TEST_TMP/judged.txt"
expect_eq "judged, the report exits 1" 1 $?
expect_match "the deviation says why" "oom: process [0-9]+ \(python3\) killed by signal 6 \(SIGABRT\)" \
    "$(cat "$TEST_TMP/judged.txt")"
"$FAULTLINE" report -o "$db" --format json >"$TEST_TMP/r.json"
cat >"$TEST_TMP/check.py" <<'PY'
import json, sys
def chk(cond, what): print(("1 " if cond else "0 ") + what)
r = json.load(open(sys.argv[1]))
w = {x["name"]: x for x in r["windows"]}
chk("oom" in w, "a window named oom (%r)" % list(w))
if "oom" in w:
    ex = w["oom"]["exits"]
    py = [e for e in ex if e["comm"] == "python3"]
    chk(len(py) == 1 and py[0]["signal"] == 6 and py[0]["status"] is None and py[0]["target"],
        "oom's exits: python3 killed by signal 6, a target (%r)" % ex)
    chk(len(py) == 1 and w["oom"]["start_s"] <= py[0]["t_s"] <= w["oom"]["end_s"] + 0.05,
        "at a time inside the window (%r in %r-%r)" % (py[0]["t_s"] if py else None, w["oom"]["start_s"], w["oom"]["end_s"]))
base = r["windows"][0]["exits"]
sl = [e for e in base if e["comm"] == "sleep" and e["signal"] == 9]
sh = [e for e in base if e["comm"] == "sh"]
chk(len(sl) == 1 and not sl[0]["target"],
    "the baseline's exits: one sleep killed by signal 9 (%r)" % base)
chk(len(sh) == 1 and sh[0]["status"] == 3 and sh[0]["signal"] is None,
    "and sh exited with status 3 (%r)" % sh)
quick = [e for e in base if e["comm"] == "sleep" and e["signal"] is None]
chk(len(quick) == 1 and quick[0]["status"] == 0 and not quick[0]["target"],
    "sh's sleep 0.5, reaped by sh at once: status 0, as it told exiting (%r)" % base)
chk(all(set(e) >= {"pid", "comm", "t_s", "status", "signal"} for e in r["exits"]),
    "every exit has pid, comm, t_s, status, signal")
chk(r["windows"][0]["verdict"] is None, "the baseline still has no verdict")
PY
py_checks "$TEST_TMP/check.py" "$TEST_TMP/r.json"

# An experiment whose target aborts under its phase: exit 1, json parses.
cat >"$TEST_TMP/x.toml" <<TOML
[target]
command = ["$PYTHON", "$TEST_TMP/service.py"]
[steady_state]
min_success = 0.0
[[phase]]
name = "warm"
duration = "1.5s"
[[phase]]
name = "oom"
duration = "3s"
rules = ["mem.fail min=64MiB"]
TOML
"$FAULTLINE" experiment "$TEST_TMP/x.toml" -o "$TEST_TMP/x.db" -s "$name-x" --quiet --format json \
    >"$TEST_TMP/x.json" 2>"$TEST_TMP/x.err"
expect_eq "the experiment whose target died exits 1" 1 $?
check "its json parses" "$PYTHON" -m json.tool "$TEST_TMP/x.json" >/dev/null
d=$("$PYTHON" -c 'import json,sys; w=json.load(open(sys.argv[1]))["windows"]; o=[x for x in w if x["name"]=="oom"][0]; print(o["verdict"], [e["signal"] for e in o["exits"] if e["comm"]=="python3"])' "$TEST_TMP/x.json" 2>&1)
expect_eq "its oom window deviated, python3 killed by signal 6" "deviated [6]" "$d"

# A target ended by a stop signal run passed on (SIGTERM to run) is stopped,
# not a death: listed, and no deviation of its own.
"$FAULTLINE" run -o "$TEST_TMP/term.db" -r 'mem.fail nth=1000000000' -- sleep 10 &
run=$!
sleep 0.7
kill -TERM "$run"
wait "$run"
expect_eq "run passed SIGTERM on: exit 143" 143 $?
"$FAULTLINE" report -o "$TEST_TMP/term.db" --min-success 0 --format json >"$TEST_TMP/term.json"
s=$("$PYTHON" -c 'import json,sys; r=json.load(open(sys.argv[1])); e=r["exits"]; w=r["windows"][1]; print(len(e), e[0]["signal"], e[0]["stopped"], w["verdict"], len(w["deviations"]))' "$TEST_TMP/term.json" 2>&1)
expect_eq "sleep, signal 15, stopped; its window inconclusive (no injection), no death among its deviations" \
    "1 15 True inconclusive 1" "$s"

# Ends a joining run reaps, exact in the session's recording.
session=$(new_session)
"$FAULTLINE" run -s "$session" -o "$TEST_TMP/join.db" -r 'mem.fail nth=1000000000' -- sleep 2 &
host=$!
wait_until "$FAULTLINE" status -s "$session"
"$FAULTLINE" run -s "$session" -- sh -c 'exit 3'
expect_eq "a joined run's target: its exit 3" 3 $?
"$FAULTLINE" run --client -s "$session" -- sh -c 'kill -SEGV $$'
expect_eq "a client killed by SIGSEGV: run exits 139" 139 $?
"$FAULTLINE" run --client -s "$session" -- sh -c 'exit 5'
wait "$host"
expect_eq "the three ends, exact: status, signal, target" "3||1 |11|0 5||0" \
    "$(sqlite3 "$TEST_TMP/join.db" "SELECT COALESCE(status, ''), COALESCE(signal, ''), target FROM exits WHERE comm = 'sh' ORDER BY t_s" | tr '|' '|' | paste -sd ' ')"
"$FAULTLINE" report -o "$TEST_TMP/join.db" --min-success 0 --format json >"$TEST_TMP/join.json"
expect_eq "judged: report exits 1 (the client's SIGSEGV)" 1 $?
d=$("$PYTHON" -c 'import json,sys; w=json.load(open(sys.argv[1]))["windows"][1]; print(w["verdict"], [x for x in w["deviations"] if "died" in x or "signal" in x or "exit" in x])' "$TEST_TMP/join.json" 2>&1)
expect_eq "... its window deviated, for the client's signal alone" "deviated" "${d%% *}"
echo "$d" | grep -q 'SIGSEGV' && ! echo "$d" | grep -q 'status 5'
expect_eq "... the reason names SIGSEGV, not the client's exit 5" 0 $?
