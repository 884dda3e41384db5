# Sessions' life and death (README.md "Commands": sessions/gc/disable --all;
# faultline disable --all and the end of faultline run disarm everything;
# docs/pitfalls.md item 19 stale segments after kill -9).
#
#  - `faultline run` removes its segment when its command ends (default
#    name fl-<pid> and -s NAME), and disarms;
#  - a session whose controller and processes were killed with SIGKILL is
#    listed as stale by `faultline sessions` and removed by `faultline gc`;
#    a live one (a process still attached) is neither;
#  - a session whose controller died (SIGKILL) keeps injecting into its
#    surviving target; `disable --all` stops that, seen by the target.

names=()
pids=()
sess_cleanup() {
    local p
    for p in "${pids[@]}"; do kill -KILL "$p"; done 2>/dev/null
    remove_sessions "${names[@]}"
}
trap 'sess_cleanup; cleanup_tmp' EXIT

# session_field NAME FIELD: a field of NAME's entry in `sessions --json`
# ("missing" when not listed).
session_field() {
    "$FAULTLINE" sessions --json | "$PYTHON" -c '
import json, sys
s = [x for x in json.load(sys.stdin) if x["name"] == sys.argv[1]]
print(str(s[0][sys.argv[2]]).lower() if s else "missing")' "$1" "$2"
}

# -- faultline run cleans up after itself ---------------------------------------
out=$("$FAULTLINE" run -r 'mem.fail min=1GiB' -- sh -c 'echo "$FAULTLINE_SESSION"; test -e "/dev/shm/faultline.$FAULTLINE_SESSION" && echo present')
default_name=$(head -1 <<<"$out")
names+=("$default_name")
expect_match "run: default session name fl-<pid>" '^fl-[0-9]+$' "$default_name"
expect_match "run: the segment exists while the command runs" $'\npresent$' "$out"
check "run: the segment is gone after the command ends" test ! -e "/dev/shm/faultline.$default_name"

name=$(new_session)
names+=("$name")
"$FAULTLINE" run -s "$name" -r 'mem.fail min=1GiB' -- sh -c 'exit 3'
expect_eq "run -s NAME: exits with the command's status" 3 $?
check "run -s NAME: the segment is gone after the command ends" test ! -e "/dev/shm/faultline.$name"

# A background child that outlives the command keeps the session (it is
# still attached); once it is gone, gc removes the session.
name=$(new_session)
names+=("$name")
"$FAULTLINE" run -s "$name" -r 'mem.fail min=1GiB name=keep' -- sh -c 'sleep 30 & echo $!' >"$TEST_TMP/bg" 2>&1
bg=$(cat "$TEST_TMP/bg")
pids+=("$bg")
check "run: a surviving child keeps the session" test -e "/dev/shm/faultline.$name"
expect_eq "...listed live" false "$(session_field "$name" stale)"
expect_eq "...with its rules disarmed by the end of run" 0 "$(session_field "$name" armed_rules)"
kill -KILL "$bg"
wait_until sh -c "! kill -0 $bg 2>/dev/null"
expect_eq "...stale once the child is gone" true "$(session_field "$name" stale)"
out=$("$FAULTLINE" gc)
expect_match "...and gc removes it" "removed $name" "$out"
check "...the file is gone" test ! -e "/dev/shm/faultline.$name"

# -- SIGKILL: stale, gc; live ones kept ----------------------------------------------
stale=$(new_session)
live=$(new_session)
names+=("$stale" "$live")
"$FAULTLINE" run -s "$stale" -r 'mem.fail min=1GiB' -- sleep 30 &
stale_run=$!
pids+=("$stale_run")
FAULTLINE_SESSION=$live LD_PRELOAD=$SHIM sleep 30 &
live_pid=$!
pids+=("$live_pid")
wait_until test -e "/dev/shm/faultline.$stale"
wait_until test -e "/dev/shm/faultline.$live"
wait_until pgrep -P "$stale_run" -x sleep >/dev/null
stale_target=$(pgrep -P "$stale_run" -x sleep)
pids+=("$stale_target")
expect_eq "both sessions live at first ($stale)" false "$(session_field "$stale" stale)"
expect_eq "both sessions live at first ($live)" false "$(session_field "$live" stale)"
expect_eq "sessions counts the attached process" 1 "$(session_field "$stale" processes)"

# (braces: bash's "Killed" job notice goes to /dev/null too)
{ kill -KILL "$stale_run" "$stale_target"; wait "$stale_run"; } 2>/dev/null
wait_until sh -c "! kill -0 $stale_target 2>/dev/null"
check "after SIGKILL the segment is still there" test -e "/dev/shm/faultline.$stale"
expect_eq "sessions: the killed session is stale" true "$(session_field "$stale" stale)"
expect_eq "sessions: the other one is live" false "$(session_field "$live" stale)"
table=$("$FAULTLINE" sessions)
expect_match "sessions (table) says stale" "$stale +stale" "$table"
expect_match "sessions (table) says live" "$live +live" "$table"
out=$("$FAULTLINE" gc)
expect_eq "gc exits 0" 0 $?
expect_match "gc removes the stale session" "removed $stale" "$out"
check "gc does not mention the live session" test "${out/$live/}" = "$out"
check "the stale segment is gone" test ! -e "/dev/shm/faultline.$stale"
check "the live segment is kept" test -e "/dev/shm/faultline.$live"
expect_eq "the live session is no longer listed stale" false "$(session_field "$live" stale)"
{ kill -KILL "$live_pid"; wait "$live_pid"; } 2>/dev/null
"$FAULTLINE" gc >/dev/null
check "gc removes it once its process is dead" test ! -e "/dev/shm/faultline.$live"

# -- disable --all on a session whose controller died -----------------------------------
name=$(new_session)
names+=("$name")
state=$TEST_TMP/alloc.state
# The target tries 100 MiB every 20 ms and writes what it saw (atomically).
"$FAULTLINE" run -s "$name" -r 'mem.fail min=64MiB name=a' -r 'mem.limit limit=80MiB name=b' -- \
    "$PYTHON" -c '
import os, sys, time
path = sys.argv[1]
end = time.time() + 30
while time.time() < end:
    try:
        bytearray(100 << 20)
        state = "ok"
    except MemoryError:
        state = "MemoryError"
    with open(path + ".tmp", "w") as f:
        f.write(state + "\n")
    os.rename(path + ".tmp", path)
    time.sleep(0.02)' "$state" &
run_pid=$!
pids+=("$run_pid")
check "the target sees the fault" wait_until grep -qsx MemoryError "$state"
target=$(pgrep -P "$run_pid" -x python3)
pids+=("$target")
{ kill -KILL "$run_pid"; wait "$run_pid"; } 2>/dev/null
check "the target survives its controller" kill -0 "$target"
sleep 0.1
expect_eq "the controller is dead: the target still sees the fault" MemoryError "$(cat "$state")"
expect_eq "sessions: still live (the target is attached)" false "$(session_field "$name" stale)"
expect_eq "sessions: both rules still armed" 2 "$(session_field "$name" armed_rules)"
"$FAULTLINE" disable -s "$name" --all
expect_eq "disable --all exits 0" 0 $?
check "the target allocates 100 MiB again" wait_until grep -qsx ok "$state"
expect_eq "sessions: no rule armed" 0 "$(session_field "$name" armed_rules)"
states=$("$FAULTLINE" list -s "$name" --json | "$PYTHON" -c 'import json, sys; print(" ".join(r["state"] for r in json.load(sys.stdin)))')
expect_eq "list: both rules retired" "retired retired" "$states"
kill -KILL "$target"
wait_until sh -c "! kill -0 $target 2>/dev/null"
out=$("$FAULTLINE" gc)
expect_match "gc removes it once the target is gone" "removed $name" "$out"
