#!/usr/bin/env bash
# run-service.sh: start memstore's upstream and server, wait for both to
# listen, print `server=PORT upstream=PORT`, and stop both when this script
# ends (SIGTERM, SIGINT, or either program exiting).
#
#   run-service.sh [--port N] [--upstream-port N] [--db PATH] [-- SERVER_ARGS...]
#
#   --port N           the server's HTTP port (default 0: any free port)
#   --upstream-port N  the upstream's TCP port (default 0: any free port)
#   --db PATH          the SQLite file (default: a fresh one in a temporary
#                      directory, removed at the end)
#   SERVER_ARGS        passed to server.py: --fragile, --cache-size N, --verbose...
#
# Both programs inherit this script's environment, so under `faultline run`
# (or an experiment's [target] command) they are both in the session.
# They run under their own process names, `memstore` (the server) and
# `upstream`, through symlinks to the Python interpreter: `ps`, `top`, and
# tools that select processes by name (comm) can tell them apart from each
# other and from any other python3. Set PYTHON to choose the interpreter.
set -u

here=$(cd "$(dirname "$0")" && pwd)
port=0
upstream_port=0
db=""
server_args=()

usage() {
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case "$1" in
        --port) port=${2:?--port needs a value}; shift 2 ;;
        --upstream-port) upstream_port=${2:?--upstream-port needs a value}; shift 2 ;;
        --db) db=${2:?--db needs a value}; shift 2 ;;
        --) shift; server_args=("$@"); break ;;
        -h|--help) usage ;;
        *) echo "run-service.sh: unknown option '$1'" >&2; usage ;;
    esac
done

workdir=$(mktemp -d "${TMPDIR:-/tmp}/memstore.XXXXXX") || exit 1
[ -n "$db" ] || db=$workdir/memstore.db
upstream_pid=""
server_pid=""

# Stop both programs (SIGTERM, then SIGKILL after 2 s) and clean up. Runs
# once, on whatever ends the script.
stopped=0
# shellcheck disable=SC2317  # called from the EXIT trap
stop_all() {
    [ "$stopped" = 1 ] && return
    stopped=1
    local pids=() pid alive _
    for pid in $server_pid $upstream_pid; do
        kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
    done
    for _ in $(seq 20); do
        alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$workdir"
}
trap 'stop_all' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# The interpreter's real path (a pyenv shim is a shell script, which a
# symlink could not rename), then one symlink per program name.
python=$("${PYTHON:-python3}" -c 'import sys; print(sys.executable)') || exit 1
ln -s "$python" "$workdir/upstream" && ln -s "$python" "$workdir/memstore" || exit 1

# wait_port FILE PID: the N of the `port=N` line PID prints into FILE; fails
# if PID exits first or nothing comes within 30 s.
wait_port() {
    local file=$1 pid=$2 line _
    for _ in $(seq 300); do
        line=$(grep -m1 '^port=' "$file" 2>/dev/null)
        if [ -n "$line" ]; then
            echo "${line#port=}"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# If this script dies without stopping them (SIGKILL, or the shell itself
# failing an allocation under a memory fault), the programs get SIGTERM: the
# parent-death signal, which setpriv sets and the interpreter's exec keeps.
pdeath=()
command -v setpriv >/dev/null 2>&1 && pdeath=(setpriv --pdeathsig TERM --)

"${pdeath[@]}" "$workdir/upstream" "$here/upstream.py" "$upstream_port" >"$workdir/upstream.out" &
upstream_pid=$!
if ! up=$(wait_port "$workdir/upstream.out" "$upstream_pid"); then
    echo "run-service.sh: the upstream did not start" >&2
    exit 1
fi

"${pdeath[@]}" "$workdir/memstore" "$here/server.py" --port "$port" --db "$db" \
    --upstream "127.0.0.1:$up" "${server_args[@]}" >"$workdir/server.out" &
server_pid=$!
if ! srv=$(wait_port "$workdir/server.out" "$server_pid"); then
    echo "run-service.sh: the server did not start" >&2
    exit 1
fi

echo "server=$srv upstream=$up"

# Run until either program exits (or a signal arrives: the traps above).
wait -n "$upstream_pid" "$server_pid"
status=$?
if kill -0 "$server_pid" 2>/dev/null; then
    echo "run-service.sh: the upstream exited ($status)" >&2
else
    echo "run-service.sh: the server exited ($status)" >&2
fi
exit "$status"
