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
