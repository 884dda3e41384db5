# faultline pause (README.md "Commands"): python3 logs its own monotonic
# timestamps every 10 ms; a pause shows as one gap of about the asked length,
# and the processes are resumed even when the pausing CLI is SIGKILLed
# mid-pause.

name=$(new_session)
out=$TEST_TMP/pause.out
cat >"$TEST_TMP/ticker.py" <<'PY'
import sys, time
end = time.monotonic() + float(sys.argv[1])
prev = time.monotonic()
print("ready", flush=True)
while time.monotonic() < end:
    time.sleep(0.01)
    now = time.monotonic()
    if now - prev > 0.1:
        print("gap %.3f" % (now - prev), flush=True)
    prev = now
print("done", flush=True)
PY

"$FAULTLINE" run -o none -s "$name" -- "$PYTHON" "$TEST_TMP/ticker.py" 4 >"$out" 2>&1 &
run_pid=$!
check "the ticker starts" wait_until grep -q ready "$out"
start=$(date +%s%N)
"$FAULTLINE" pause -s "$name" --for 600ms
rc=$?
took=$((($(date +%s%N) - start) / 1000000))
expect_eq "pause exits 0" 0 "$rc"
check "pause returns after about 600 ms ($took ms)" test "$took" -ge 590 -a "$took" -lt 900

# SIGKILL the CLI mid-pause: the watchdog still resumes the target on time.
"$FAULTLINE" pause -s "$name" --for 700ms &
pause_pid=$!
sleep 0.2
kill -KILL "$pause_pid"
wait "$pause_pid" 2>/dev/null
check "the ticker finishes (it was resumed)" wait_until grep -q done "$out"
wait "$run_pid"
expect_eq "faultline run exits 0" 0 "$?"
gaps=$(grep -c '^gap' "$out")
expect_eq "python3 saw exactly two gaps" 2 "$gaps"
g1=$(sed -n 's/^gap //p' "$out" | sed -n 1p)
g2=$(sed -n 's/^gap //p' "$out" | sed -n 2p)
check "the first gap is about 600 ms ($g1 s)" "$PYTHON" -c "import sys; sys.exit(not 0.58 <= $g1 <= 0.75)"
check "the second is about 700 ms despite the SIGKILL ($g2 s)" "$PYTHON" -c "import sys; sys.exit(not 0.68 <= $g2 <= 0.85)"

# Usage: --for is required; a pid outside the session is refused.
"$FAULTLINE" pause -s "$name" 2>"$TEST_TMP/err"
expect_eq "pause without --for exits 2" 2 "$?"
"$FAULTLINE" run -o none -s "$name-2" -- sleep 2 &
other=$!
wait_until test -e "/dev/shm/faultline.$name-2"
"$FAULTLINE" pause -s "$name-2" --for 10ms --pid 1 2>"$TEST_TMP/err"
expect_eq "a pid outside the session exits 2" 2 "$?"
expect_match "and says why" "not a process of session" "$(cat "$TEST_TMP/err")"
kill "$other" 2>/dev/null
wait "$other" 2>/dev/null

# A pause is recorded: the report shows it as a window (named "pause", its
# injections the processes stopped), here while `faultline run` records.
name3=$name-rec
db=$TEST_TMP/pause.db
out3=$TEST_TMP/pause3.out
"$FAULTLINE" run -o "$db" -s "$name3" -- "$PYTHON" "$TEST_TMP/ticker.py" 3 >"$out3" 2>&1 &
run3=$!
check "the recorded ticker starts" wait_until grep -q ready "$out3"
sleep 0.8
"$FAULTLINE" pause -s "$name3" --for 500ms
wait "$run3"
json=$("$FAULTLINE" report -o "$db" --format json)
w=$("$PYTHON" -c 'import json,sys; w=json.loads(sys.argv[1])["windows"]; print(len(w), w[1]["name"], w[1]["injected"], round(w[1]["end_s"]-w[1]["start_s"],1))' "$json" 2>&1)
expect_eq "report: baseline and one 0.5 s window named pause, 1 process stopped" "2 pause 1 0.5" "$w"

# An experiment phase with pause = DUR: python3 sees the gap, the report
# names the window after the phase.
cat >"$TEST_TMP/pause.toml" <<TOML
[target]
command = ["$PYTHON", "$TEST_TMP/ticker.py", "3"]
[[phase]]
name = "warm up"
duration = "1s"
[[phase]]
name = "gc pause"
duration = "1s"
pause = "300ms"
[[phase]]
name = "after"
duration = "500ms"
TOML
"$FAULTLINE" experiment "$TEST_TMP/pause.toml" -o "$TEST_TMP/exp.db" -s "$name-exp" --quiet --format json >"$TEST_TMP/exp.json" 2>"$TEST_TMP/exp.err"
expect_eq "the experiment exits 0" 0 "$?"
w=$("$PYTHON" -c 'import json,sys; w=json.load(open(sys.argv[1]))["windows"]; print(w[1]["name"], w[1]["injected"], round(w[1]["end_s"]-w[1]["start_s"],1))' "$TEST_TMP/exp.json" 2>&1)
expect_eq "its window: gc-pause, 1 process, 0.3 s" "gc-pause 1 0.3" "$w"

# A watchdog killed mid-pause (kill -9, the OOM killer) is noticed: the
# pausing CLI resumes the processes itself at once (not after the 3 s asked,
# not never), says so and exits 1; the pause is recorded as long as it lasted.
name4=$name-dog
out4=$TEST_TMP/pause4.out
db4=$TEST_TMP/dog.db
"$FAULTLINE" run -o "$db4" -s "$name4" -- "$PYTHON" "$TEST_TMP/ticker.py" 3 >"$out4" 2>&1 &
run4=$!
check "the ticker of the killed watchdog starts" wait_until grep -q ready "$out4"
sleep 0.3
"$FAULTLINE" pause -s "$name4" --for 3s 2>"$TEST_TMP/dog.err" &
pause4=$!
dog_of() { pgrep -P "$1" -x faultline >/dev/null; }
check "the pause's watchdog runs" wait_until dog_of "$pause4"
dog=$(pgrep -P "$pause4" -x faultline)
sleep 0.5
kill -9 "${dog:-0}"
killed_at=$(date +%s%N)
wait "$pause4"
rc=$?
took=$((($(date +%s%N) - killed_at) / 1000000))
expect_eq "pause exits 1 when its watchdog was killed" 1 "$rc"
check "it returned at once ($took ms after the kill)" test "$took" -lt 300
expect_match "and says why" "watchdog .* killed by signal 9; 1 process\(es\) resumed" "$(cat "$TEST_TMP/dog.err")"
wait "$run4"
expect_eq "the ticker finished: faultline run exits 0" 0 "$?"
g=$(sed -n 's/^gap //p' "$out4" | head -1)
check "python3's gap is the 0.5 s until the kill, not 3 s ($g s)" between 0.45 "${g:-9}" 0.8
w=$("$FAULTLINE" report -o "$db4" --format json | "$PYTHON" -c 'import json,sys; w=json.load(sys.stdin)["windows"]; print(len(w), w[-1]["name"], w[-1]["end_s"]-w[-1]["start_s"])' 2>&1)
check "the pause is recorded as long as it lasted ($w)" between 0.45 "${w##* }" 0.8

# The same in an experiment phase: the experiment notices at once, resumes,
# and its report's window is as long as the pause lasted.
cat >"$TEST_TMP/dog.toml" <<TOML
[target]
command = ["$PYTHON", "$TEST_TMP/ticker.py", "3"]
[[phase]]
name = "warm up"
duration = "600ms"
[[phase]]
name = "long pause"
duration = "2s"
pause = "2s"
TOML
"$FAULTLINE" experiment "$TEST_TMP/dog.toml" -o "$TEST_TMP/dogx.db" -s "$name-dogx" --quiet --format json \
    >"$TEST_TMP/dogx.json" 2>"$TEST_TMP/dogx.err" &
exp=$!
check "the experiment's watchdog runs" wait_until dog_of "$exp"
dog=$(pgrep -P "$exp" -x faultline)
sleep 0.4
kill -9 "${dog:-0}"
wait "$exp"
expect_match "the experiment says the watchdog was killed" "watchdog was killed; its processes were resumed" \
    "$(cat "$TEST_TMP/dogx.err")"
w=$("$PYTHON" -c 'import json,sys; w=json.load(open(sys.argv[1]))["windows"]; print(w[1]["name"], w[1]["end_s"]-w[1]["start_s"])' "$TEST_TMP/dogx.json" 2>&1)
expect_match "its window is named after the phase" "^long-pause " "$w"
check "and lasts the 0.4 s until the kill, not 2 s ($w)" between 0.35 "${w##* }" 0.7
