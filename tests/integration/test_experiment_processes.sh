# An experiment's processes (docs/experiments.md "What happens, in order"):
# nothing it started outlives it,
# not even what a killed script left behind; a [[process]] with shim = false
# joins the session (FAULTLINE_SESSION) without being faulted.

name=$(new_session)
pidfile=$TEST_TMP/orphan.pid
cat >"$TEST_TMP/procs.toml" <<TOML
[target]
# The script leaves a child behind and is killed at the end like any target.
command = "sleep 60 & echo \$! > $pidfile; wait"
[[process]]
command = ["$PYTHON", "-c", "import os, time; print('loader', os.environ.get('LD_PRELOAD', '-'), os.environ.get('FAULTLINE_SESSION', '-'), flush=True); bytearray(100 << 20); print('loader allocated', flush=True); time.sleep(60)"]
shim = false
[[phase]]
name = "oom"
duration = "1s"
rules = ["mem.fail min=64MiB"]
TOML
start=$(date +%s%N)
"$FAULTLINE" experiment "$TEST_TMP/procs.toml" -o "$TEST_TMP/procs.db" -s "$name" --quiet \
    >"$TEST_TMP/procs.out" 2>"$TEST_TMP/procs.err"
took=$((($(date +%s%N) - start) / 1000000))
check "the experiment ends within its phase plus the stop grace ($took ms)" test "$took" -lt 6000
orphan=$(cat "$pidfile" 2>/dev/null)
check "the script's background child was recorded" test -n "$orphan"
check "and it does not outlive the experiment" bash -c "! kill -0 $orphan 2>/dev/null"
expect_match "shim = false: in the session, LD_PRELOAD not set" "loader - $name" "$(cat "$TEST_TMP/procs.log")"
expect_match "shim = false: not faulted (100 MiB allocated under mem.fail min=64MiB)" "loader allocated" "$(cat "$TEST_TMP/procs.log")"
check "no session left behind" test ! -e "/dev/shm/faultline.$name"
