# net.delay on=send delays each send once, also on non-blocking sockets: the
# call held back is owed, and goes when the hold ends, instead of being
# judged again at every retry after EAGAIN (docs/pitfalls.md item 20). Real
# programs that send non-blocking: redis answers every PING about one delay
# late, curl fetches a page instead of timing out.

source ./net_lib.sh

# A free port, for servers that cannot bind 0 and tell.
free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# -- curl (non-blocking connect and sends) -----------------------------------------
net_data
http_server wport
out=$("$FAULTLINE" run -o none -r 'net.delay delay=20ms on=send' -- \
    curl -s -m5 -o /dev/null -w '%{http_code} %{time_total}' "http://127.0.0.1:$wport/1m.bin")
expect_match "curl under net.delay on=send gets its page (not a 5 s timeout)" '^200 ' "$out"
check "... about one delay late per request sent ($(field 2 "$out") s)" between 0.018 "$(field 2 "$out")" 1.5

# -- redis (an event loop writing replies with non-blocking write) --------------
if ! command -v redis-server >/dev/null; then
    check "redis-server installed (scripts/install-deps)" false
    return 0
fi
rport=$(free_port)
session=$(new_session)
NET_SESSIONS+=("$session")
"$FAULTLINE" run -o none -s "$session" -r 'net.delay delay=100ms on=send' -- \
    redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no --logfile "$TEST_TMP/redis.log" &
NET_PIDS+=("$!")
up() { timeout 2 redis-cli -p "$rport" PING >/dev/null 2>&1; }
check "redis-server starts under the rule" wait_until up
# Ten PINGs on one connection, each timed by the client.
rtts=$(timeout 20 "$PYTHON" - "$rport" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
out = []
for _ in range(10):
    t = time.monotonic()
    s.sendall(b"PING\r\n")
    got = b""
    while not got.endswith(b"\r\n"):
        chunk = s.recv(64)
        if not chunk:
            break
        got += chunk
    out.append("%.3f" % (time.monotonic() - t) if got == b"+PONG\r\n" else "bad")
print(" ".join(out))
PY
)
expect_match "redis answers ten PINGs under net.delay on=send" '^([0-9.]+ ){9}[0-9.]+$' "$rtts"
median=$(tr ' ' '\n' <<<"$rtts" | sort -n | sed -n 5p)
check "... each about one delay late (median ${median:-?} s of 0.100)" between 0.095 "${median:-0}" 0.150
worst=$(tr ' ' '\n' <<<"$rtts" | sort -n | tail -1)
check "... and none held twice (worst ${worst:-?} s)" between 0.095 "${worst:-0}" 0.260
"$FAULTLINE" disable -s "$session" --all >/dev/null
timeout 5 redis-cli -p "$rport" SHUTDOWN NOSAVE >/dev/null 2>&1
