#!/usr/bin/env bash
# make demo: a short memory-fault experiment on an unmodified python3 program.
set -euo pipefail
cd "$(dirname "$0")/.."
FL=${FAULTLINE:-build/faultline}
PY=/usr/bin/python3
session=demo-$$
if [ -t 1 ]; then B=$'\033[1m' N=$'\033[0m'; else B= N=; fi
say() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
trap '"$FL" disable -s "$session" --all >/dev/null 2>&1 || true' EXIT

say "1. A one-shot fault: python3 asks for 100 MiB under 'mem.fail min=64MiB'"
echo "\$ faultline run -r 'mem.fail min=64MiB' -- python3 -c 'bytearray(100<<20)'"
"$FL" run -r 'mem.fail min=64MiB' -- "$PY" -c 'bytearray(100<<20)' 2>&1 | tail -1 || true

say "2. Live: a service runs 6 s; a fault is armed at 2 s and disarmed at 4 s from this shell"
echo "\$ faultline run -s $session -- python3 examples/memory_service.py 6 &"
"$FL" run -s "$session" -- "$PY" examples/memory_service.py 6 &
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

say "Done. See docs/guide.md for more, and 'faultline --help'."
