#!/usr/bin/env bash
# make demo: faults on unmodified programs (python3, curl, sqlite3), then three
# of the methodology's scenarios on examples/memstore, measured.
set -euo pipefail
cd "$(dirname "$0")/.."
FL=${FAULTLINE:-build/faultline}
PY=/usr/bin/python3
session=demo-$$
if [ -t 1 ]; then B=$'\033[1m' N=$'\033[0m'; else B= N=; fi
say() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
tmp=$(mktemp -d)
server=
trap '"$FL" disable -s "$session" --all >/dev/null 2>&1 || true; [ -z "$server" ] || kill "$server" 2>/dev/null; rm -rf "$tmp"' EXIT
# `faultline run` records each session; keep the recordings out of the tree.
export FAULTLINE_DB=$tmp/faultline.db

say "1. A one-shot fault: python3 asks for 100 MiB under 'mem.fail min=64MiB'"
echo "\$ faultline run -r 'mem.fail min=64MiB' -- python3 -c 'bytearray(100<<20)'"
"$FL" run -r 'mem.fail min=64MiB' -- "$PY" -c 'bytearray(100<<20)' 2>&1 | tail -1 || true

say "2. Live: a service runs 6 s; a fault is armed at 2 s and disarmed at 4 s from this shell"
echo "\$ faultline run -s $session -o demo.db -- python3 examples/memory_service.py 6 &"
"$FL" run -s "$session" -o "$tmp/demo.db" -- "$PY" examples/memory_service.py 6 &
target=$!
sleep 2
echo "\$ faultline enable -s $session 'mem.fail p=30% min=32KiB name=oom'"
"$FL" enable -s "$session" 'mem.fail p=30% min=32KiB name=oom'
sleep 2
echo "\$ faultline list -s $session"
"$FL" list -s "$session"
echo "\$ faultline status -s $session"
"$FL" status -s "$session" | sed -n '1,12p'
echo "\$ faultline disable -s $session oom"
"$FL" disable -s "$session" oom
wait "$target"
echo "\$ faultline report -o demo.db    # success and throughput of the malloc calls, per window"
"$FL" report -o "$tmp/demo.db"

say "3. Network: curl fetches 1 MB from a local web server, plain, then over a slow link"
head -c 1000000 /dev/zero >"$tmp/file.bin"
"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' >"$tmp/port"
port=$(cat "$tmp/port")
(cd "$tmp" && exec "$PY" -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1) &
server=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
fmt='connect %{time_connect}s  first byte %{time_starttransfer}s  total %{time_total}s  %{speed_download} B/s\n'
echo "\$ curl http://127.0.0.1:$port/file.bin"
curl -s -o /dev/null -w "$fmt" "http://127.0.0.1:$port/file.bin"
echo "\$ faultline run -r 'net.delay delay=100ms; net.bandwidth rate=500KB/s dir=recv' -- curl ..."
"$FL" run -r 'net.delay delay=100ms; net.bandwidth rate=500KB/s dir=recv' -- \
    curl -s -o /dev/null -w "$fmt" "http://127.0.0.1:$port/file.bin"
echo "\$ faultline run -r 'net.reset bytes=200KB' -- curl ..."
"$FL" run -r 'net.reset bytes=200KB' -- curl -sS -o /dev/null "http://127.0.0.1:$port/file.bin" || true

say "4. SQLite: the sqlite3 shell meets a full disk, below SQLite's own VFS"
sqlite3 "$tmp/app.db" 'create table t(x); insert into t values (1), (2);'
echo "\$ faultline run -r 'db.io op=write rc=FULL' -- sqlite3 app.db 'insert into t values (3)'"
"$FL" run -r 'db.io op=write rc=FULL' -- sqlite3 "$tmp/app.db" 'insert into t values (3)' || true
echo "\$ sqlite3 app.db 'select count(*) from t; pragma integrity_check'   # nothing lost, nothing torn"
sqlite3 "$tmp/app.db" 'select count(*) from t; pragma integrity_check'

say "5. The chaos methodology on a real service: one scenario per family, measured"
echo "   examples/memstore under load; each experiment has a baseline, a fault and a recovery phase,"
echo "   and tolerances from the methodology's tables (examples/experiments/: all 18)."
echo "\$ examples/run-all 01 07 13 -o build/demo"
# run-all exits 1 when a scenario deviates: that is a finding, not a demo failure.
PATH=$PWD/build:$PATH examples/run-all 01 07 13 -o build/demo || [ $? -eq 1 ]
echo "   (build/demo/report.html: the tables and each scenario's timeline)"

say "Done. docs/guide.md walks through it; docs/rules.md has every fault; 'faultline --help' the commands."
