# Helpers for integration tests. Each test file is a bash script sourced by
# tests/integration/run in a subshell; it calls `check` / `expect_*` and
# must bound every wait (timeout) and clean up what it starts (trap).
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FAULTLINE=$ROOT/build/faultline
SHIM=$ROOT/build/libfaultline.so
TARGETS=$ROOT/build/targets
# /usr/bin/python3 (Debian's), not a pyenv shim script: the tests are about
# what a real interpreter sees.
PYTHON=/usr/bin/python3
export FAULTLINE_QUIET=0
unset FAULTLINE_SESSION FAULTLINE_RULES

TEST_TMP=$(mktemp -d /tmp/faultline-test.XXXXXX)
# `faultline run` records into ./faultline.db by default. The tests of the
# other features run without a recorder (FAULTLINE_DB=none, as `-o none`):
# they test what they test, and the suite stays fast; the tests of recording
# (test_record_*, test_experiment_*) pass -o themselves.
export FAULTLINE_DB=none
cleanup_tmp() { rm -rf "$TEST_TMP"; }

failures=0
checks=0

# check DESCRIPTION COMMAND...: passes when COMMAND exits 0.
check() {
    local what=$1
    shift
    checks=$((checks + 1))
    if "$@"; then
        printf '    ok   %s\n' "$what"
    else
        printf '    FAIL %s\n' "$what"
        failures=$((failures + 1))
    fi
}

# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() {
    checks=$((checks + 1))
    if [ "$2" = "$3" ]; then
        printf '    ok   %s\n' "$1"
    else
        printf '    FAIL %s: expected [%s], got [%s]\n' "$1" "$2" "$3"
        failures=$((failures + 1))
    fi
}

# expect_match DESCRIPTION REGEX TEXT
expect_match() {
    checks=$((checks + 1))
    if [[ $3 =~ $2 ]]; then
        printf '    ok   %s\n' "$1"
    else
        printf '    FAIL %s: [%s] does not match /%s/\n' "$1" "$3" "$2"
        failures=$((failures + 1))
    fi
}

# A session name unique to this test run.
new_session() { echo "t$$-$RANDOM"; }

# Waits (bounded, 5 s) until COMMAND succeeds.
wait_until() {
    local i
    for i in $(seq 1 100); do
        "$@" && return 0
        sleep 0.05
    done
    return 1
}

# py_checks SCRIPT|- ARGS...: one check per line the python script prints:
# "1 what" passes; "0 what" and any other line (a traceback) fail.
py_checks() {
    local line
    while IFS= read -r line; do
        case $line in
        "1 "*) check "${line#1 }" true ;;
        "0 "*) check "${line#0 }" false ;;
        *) check "checker: $line" false ;;
        esac
    done < <("$PYTHON" "$@" 2>&1)
}

# wait_pid PID SECONDS: waits (bounded) for a child of this shell; sets
# WAIT_RC (124 when it had to be killed).
wait_pid() {
    local i
    for ((i = 0; i < $2 * 20; i++)); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$1" 2>/dev/null; then
        kill "$1" 2>/dev/null # faultline run passes SIGTERM on to its target
        sleep 0.5
        kill -9 "$1" 2>/dev/null
        { wait "$1"; } 2>/dev/null
        WAIT_RC=124
        return
    fi
    wait "$1"
    WAIT_RC=$?
}

# wait_exit PID SECONDS: waits (bounded) until PID has exited (reaps a child).
wait_exit() {
    local i
    for i in $(seq 1 $(($2 * 20))); do
        kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }
        sleep 0.05
    done
    return 1
}

# lines_at_least FILE N: FILE exists and has N lines at least.
lines_at_least() { [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; }

# not_running PATTERN: no process's command line matches PATTERN (pgrep -f).
not_running() { ! pgrep -f "$1" >/dev/null; }

# remove_sessions NAME...: removes the segments of these sessions.
remove_sessions() {
    local s
    for s in "$@"; do rm -f "/dev/shm/faultline.$s"; done
}

# cleanup_test [SIGNAL], for `trap cleanup_test EXIT`: kills TEST_PIDS
# (SIGTERM: run passes it on), removes TEST_SESSIONS and TEST_TMP.
TEST_PIDS=()
TEST_SESSIONS=()
cleanup_test() {
    local p
    for p in "${TEST_PIDS[@]}"; do kill -"${1:-TERM}" "$p" 2>/dev/null; done
    remove_sessions "${TEST_SESSIONS[@]}"
    cleanup_tmp
}

# between LOW X HIGH: LOW <= X <= HIGH (floats); false if one is not a number.
between() {
    "$PYTHON" -c '
import sys
try:
    a, x, b = map(float, sys.argv[1:])
except ValueError:
    sys.exit(1)
sys.exit(not a <= x <= b)' "$@"
}

# dbloop_py: prints `dbloop.py DB LOG PERIOD`: an INSERT every PERIOD s, each
# outcome (ok, fail when locked, other:...) logged with its wall time; 30 s.
dbloop_py() {
    cat <<'EOF2'
import sqlite3, sys, time
path, log, period = sys.argv[1], sys.argv[2], float(sys.argv[3])
c = sqlite3.connect(path, isolation_level=None)
c.execute("PRAGMA journal_mode=WAL")
c.execute("PRAGMA synchronous=OFF")
c.execute("CREATE TABLE IF NOT EXISTS t(i INTEGER PRIMARY KEY, v TEXT)")
out = open(log, "w", buffering=1)
n = 0
nxt = time.monotonic()
deadline = nxt + 30
while time.monotonic() < deadline:
    n += 1
    try:
        c.execute("INSERT INTO t(v) VALUES(?)", ("row%d" % n,))
        ok = "ok"
    except sqlite3.OperationalError as e:
        ok = "fail" if "locked" in str(e) else "other:" + str(e).replace(" ", "_")
    out.write("%.6f %s\n" % (time.time(), ok))
    nxt += period
    time.sleep(max(0.0, nxt - time.monotonic()))
EOF2
}
