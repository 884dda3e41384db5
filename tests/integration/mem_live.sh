# Helpers for tests that arm rules while a target runs (sourced by
# test_mem_*.sh; not a test itself). The target follows the TARGET_GO /
# TARGET_DONE handshake of tests/targets/mem_target.h: it prints
# "ready pid=N", waits for the go file, does its measured work, prints its
# results and waits for the done file. Every wait here is bounded; whatever
# was started is killed and every session removed at exit.

LIVE_PIDS=()
LIVE_SESSIONS=()

live_cleanup() {
    local p
    for p in "${LIVE_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    remove_sessions "${LIVE_SESSIONS[@]}"
}
trap 'live_cleanup; cleanup_tmp' EXIT

# wait_for_line FILE REGEX SECONDS: until a line of FILE matches (grep -E).
wait_for_line() {
    local i
    for ((i = 0; i < $3 * 20; i++)); do
        grep -q -E -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# start_live NAME OUT [RUN-OPTION...] -- CMD...: starts
# `faultline run -s NAME RUN-OPTION... -- CMD...` in the background, output
# to OUT, and waits (10 s at most) for the target's "ready" line. Sets
# LIVE_RUN (the faultline pid) and LIVE_TARGET (the target's pid).
start_live() {
    local name=$1 out=$2
    shift 2
    LIVE_SESSIONS+=("$name")
    TARGET_GO=$TEST_TMP/$name.go TARGET_DONE=$TEST_TMP/$name.done \
        "$FAULTLINE" run -s "$name" "$@" >"$out" 2>&1 &
    LIVE_RUN=$!
    LIVE_PIDS+=("$LIVE_RUN")
    LIVE_TARGET=
    wait_for_line "$out" '^ready pid=[0-9]+$' 10 || return 1
    LIVE_TARGET=$(sed -n 's/^ready pid=//p' "$out" | head -1)
    LIVE_PIDS+=("$LIVE_TARGET")
}

go_live() { touch "$TEST_TMP/$1.go"; }

# finish_live NAME: lets the target end; waits (10 s at most) for
# `faultline run` and sets LIVE_RC to its exit status (124 when it had to be
# killed). Not in $(...): only this shell can wait for its child.
finish_live() {
    local i
    touch "$TEST_TMP/$1.done"
    for ((i = 0; i < 200; i++)); do
        kill -0 "$LIVE_RUN" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$LIVE_RUN" 2>/dev/null; then
        kill "$LIVE_RUN" "$LIVE_TARGET" 2>/dev/null
        wait "$LIVE_RUN" 2>/dev/null
        LIVE_RC=124
        return
    fi
    wait "$LIVE_RUN"
    LIVE_RC=$?
}

# rule_field NAME RULE-NAME FIELD: one field of `faultline list -s NAME --json`
# for the rule named RULE-NAME ("missing" when there is no such rule).
rule_field() {
    "$FAULTLINE" list -s "$1" --json | "$PYTHON" -c '
import json, sys
rules = [r for r in json.load(sys.stdin) if r["name"] == sys.argv[1]]
print(rules[0][sys.argv[2]] if rules else "missing")' "$2" "$3"
}
