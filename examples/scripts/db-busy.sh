#!/usr/bin/env bash
# db-busy.sh: a chaos experiment written as a plain shell script.
#
#   examples/scripts/db-busy.sh [-o FILE.db] [--port N] [--fragile] [--min-success X] [--max-recovery DUR]
#
# The same kind of experiment as examples/experiments/*.toml, driven step
# by step with faultline's live commands, for those who script rather than
# write experiment files:
#
#   1. `faultline run` starts memstore (server + upstream) under the shim,
#      in a session of our own, recording into FILE.db;
#   2. a small client (a loop of curl requests) reports each request's
#      outcome with `faultline mark ok|fail`: that is what the report's
#      success rate and throughput are computed from;
#   3. after 4 s of normal traffic (the baseline), `faultline enable` arms
#      a rule: half of memstore's SQLite statement steps fail with
#      SQLITE_BUSY ("database is locked");
#   4. 5 s later, `faultline disable` disarms it; the client goes on 6 s
#      more (the recovery);
#   5. everything is stopped, and `faultline report` judges the recording:
#      the fault window's success rate must be at least 90% and the service
#      back to its baseline within 2 s. This script exits with the report's
#      status: 0 held, 1 deviated, 2 inconclusive (the rule never fired).
#
# Options:
#   -o FILE.db          the recording (default build/examples/db-busy.db)
#   --port N            memstore's HTTP port (default 18480; the upstream's is N+1)
#   --fragile           memstore without its retries and fallbacks: expect exit 1
#   --min-success X     the tolerance (default 0.9)
#   --max-recovery DUR  the tolerance (default 2s)
#
# Run from anywhere once faultline is built (`make`); it needs curl.
set -u
cd "$(dirname "$0")/../.." || exit 2 # the repository root: paths below are relative to it

# faultline itself: $FAULTLINE, else the one `make` built.
FL=${FAULTLINE:-$PWD/build/faultline}
output=build/examples/db-busy.db
port=18480
server_args=()
min_success=0.9
max_recovery=2s
while [ $# -gt 0 ]; do
    case "$1" in
        -o) output=${2:?-o needs a file}; shift 2 ;;
        --port) port=${2:?--port needs a number}; shift 2 ;;
        --fragile) server_args=(-- --fragile); shift ;;
        --min-success) min_success=${2:?}; shift 2 ;;
        --max-recovery) max_recovery=${2:?}; shift 2 ;;
        -h | --help) sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "db-busy.sh: unknown option '$1' (--help)" >&2; exit 2 ;;
    esac
done
[ -x "$FL" ] || { echo "db-busy.sh: $FL not found: run make first" >&2; exit 2; }
command -v curl >/dev/null || { echo "db-busy.sh: this script needs curl" >&2; exit 2; }

session=db-busy-$$ # a session name nobody else uses
url=http://127.0.0.1:$port
mkdir -p "$(dirname "$output")"
rm -f "$output" # one session per recording: the report reads the latest anyway

say() { printf 'db-busy.sh: %s\n' "$*" >&2; }

# --- 1. The service, under the shim, recorded. ---------------------------
# `faultline run` starts run-service.sh with the shim preloaded in session
# $session; memstore's server and upstream, started by run-service.sh,
# inherit it. The recorder samples the session until run-service.sh ends.
say "starting memstore on port $port in session $session, recording into $output"
"$FL" run -s "$session" -o "$output" -- \
    examples/memstore/run-service.sh --port "$port" --upstream-port $((port + 1)) "${server_args[@]}" \
    >/dev/null &
service=$!
client=""

# Whatever happens (an error, Ctrl-C), stop what we started.
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
    [ -n "$client" ] && kill "$client" 2>/dev/null
    "$FL" disable -s "$session" --all >/dev/null 2>&1
    kill -TERM "$service" 2>/dev/null # faultline run passes it on to run-service.sh
    wait 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Wait (at most 15 s) until memstore answers.
for _ in $(seq 150); do
    curl -sf -o /dev/null --max-time 1 "$url/health" && break
    kill -0 "$service" 2>/dev/null || { say "memstore did not start"; exit 2; }
    sleep 0.1
done
curl -sf -o /dev/null --max-time 1 "$url/health" || { say "memstore did not answer"; exit 2; }

# --- 2. The client: one request at a time, each outcome marked. ---------
# A write (POST), then a search (GET), again and again for DURATION seconds.
# A request succeeds when it gets a 2xx answer within 1 s (curl -f
# --max-time 1). `faultline mark` stamps the outcome with the time it is
# reported, and --duration gives the request's latency (the report's
# p50/p99); LABEL says what it was.
request() { # request LABEL CURL_ARGS...
    local label=$1 took
    shift
    if took=$(curl -sf -o /dev/null --max-time 1 -w '%{time_total}' "$@"); then
        "$FL" mark -s "$session" --duration "${took}s" ok "$label"
    else
        "$FL" mark -s "$session" --duration "${took:-1}s" fail "$label"
    fi
}
client_loop() { # client_loop SECONDS
    local end=$((SECONDS + $1)) n=0
    while [ "$SECONDS" -lt "$end" ]; do
        n=$((n + 1))
        request write -H 'Content-Type: application/json' \
            -d "{\"text\": \"note $n about coffee and trains\"}" "$url/memories"
        request search "$url/memories?q=coffee"
        sleep 0.05
    done
}
client_loop 15 &
client=$!

# --- 3. and 4. The fault, armed and disarmed live. ----------------------
sleep 4
say "enable: half of the SQLite steps fail with SQLITE_BUSY"
"$FL" enable -s "$session" 'db.error rc=BUSY on=step p=50% name=db-busy' >/dev/null || exit 2
sleep 5
"$FL" list -s "$session" >&2 # seen / matched / injected so far
"$FL" disable -s "$session" db-busy >/dev/null || exit 2
say "disable: the database is back; recovery"

# --- 5. Stop, then judge the recording. --------------------------------
wait "$client"
client=""
kill -TERM "$service" 2>/dev/null
wait "$service" 2>/dev/null # the recording is complete once faultline run has exited
trap - EXIT
say "report (tolerances: success >= $min_success, recovery <= $max_recovery)"
"$FL" report -o "$output" --min-success "$min_success" --max-recovery "$max_recovery"
exit $?
