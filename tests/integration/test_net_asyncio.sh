# A python3 asyncio client (epoll, non-blocking sockets) of a line echo
# server, under net.timeout, net.partition and net.delay (docs/rules.md
# "Network", readiness: non-blocking sockets never become ready in
# poll/select/epoll meanwhile, and waiting never spins):
#  - net.timeout timeout=2s on=recv: asyncio.wait_for(readline, 0.5) raises
#    the app's own TimeoutError (no errno) at 0.5 s, twice; then the socket
#    fails with ETIMEDOUT (TimeoutError errno 110) 2 s after the reply
#    reached it; the client used almost no CPU meanwhile;
#  - the same with times=1 (the rule retires at its one injection; the hang
#    it started must run its course all the same), and a blocking recv
#    under net.timeout timeout=1s on=recv times=1 fails ETIMEDOUT at 1 s;
#  - net.timeout on connect: wait_for(open_connection, 0.5) times out at the
#    app's deadline; without wait_for the connect fails ETIMEDOUT at 1 s;
#  - net.partition for=1s enabled live on an established connection: the
#    request's reply comes after the partition lifts (about 1 s), the app's
#    0.3 s deadlines fired 3 times meanwhile, the connection then carries
#    data again, no busy spin;
#  - net.partition disabled live while a non-blocking connect waits for it
#    to lift: the connect is then made for real (the line comes back), not
#    left unconnected (ENOTCONN);
#  - net.delay delay=300ms: connect takes 300 ms more, and the event loop
#    keeps running meanwhile (a ticker task every 20 ms is never held up
#    100 ms): a non-blocking call must not block the thread; the same
#    under TCP net.loss: a lost SYN (connect 1 s later) and a lost segment
#    on receive (rto=300ms) keep the event loop running;
#  - an asyncio echo server under net.delay delay=300ms on=accept, three
#    clients (no shim) connecting at once: each is answered about 300 ms
#    after connecting, not 300, 600 and 900 ms (one accept's delay must not
#    hold the others up).
source "$(dirname "${BASH_SOURCE[0]}")/net_lib.sh"
echo_server EPORT
check "echo server is up (port $EPORT)" test "${EPORT:-0}" -gt 0

cat >"$TEST_TMP/aio.py" <<'EOF'
import asyncio, os, resource, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
def fmt(e):
    return f"{type(e).__name__} errno={e.errno if isinstance(e, OSError) else None}"
async def main():
    if mode == "connect":
        for deadline in (0.5, None):
            t = time.monotonic()
            try:
                await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), deadline)
                print("connected")
            except Exception as e:
                print(f"{fmt(e)} after={time.monotonic() - t:.3f}")
        return
    if mode == "lift":
        print("connecting", flush=True)
        t0 = time.monotonic()
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
            w.write(b"hi\n")
            await w.drain()
            line = await asyncio.wait_for(r.readline(), 2)
            print(f"reply={line.strip().decode()} after={time.monotonic() - t0:.3f}")
        except Exception as e:
            print(f"{fmt(e)} {e} after={time.monotonic() - t0:.3f}")
        return
    if mode == "delay":
        gaps = []
        async def ticker():
            last = time.monotonic()
            while True:
                await asyncio.sleep(0.02)
                now = time.monotonic()
                gaps.append(now - last)
                last = now
        tick = asyncio.create_task(ticker())
        await asyncio.sleep(0.1)
        t0 = time.monotonic()
        r, w = await asyncio.open_connection("127.0.0.1", port)
        connect = time.monotonic() - t0
        w.write(b"ping\n")
        await w.drain()
        line = await asyncio.wait_for(r.readline(), 5)
        await asyncio.sleep(0.1)  # the ticker records the last gap
        tick.cancel()
        print(f"reply={line.strip().decode()} connect={connect:.3f} max_gap={max(gaps):.3f}")
        return
    r, w = await asyncio.open_connection("127.0.0.1", port)
    if mode == "timeout":
        c0, t0 = cpu(), time.monotonic()
        w.write(b"ping\n")
        await w.drain()
        for deadline in (0.5, 0.5, 5):
            t = time.monotonic()
            try:
                line = await asyncio.wait_for(r.readline(), deadline)
                print(f"reply {line.strip().decode()}")
            except Exception as e:
                print(f"{fmt(e)} after={time.monotonic() - t:.3f} since_send={time.monotonic() - t0:.3f}")
        print(f"wall={time.monotonic() - t0:.3f} cpu={cpu() - c0:.3f}")
    else:  # partition GOFILE
        w.write(b"ping\n")
        await w.drain()
        await r.readline()
        print("connected", flush=True)
        while not os.path.exists(sys.argv[3]):
            await asyncio.sleep(0.01)
        c0, t0 = cpu(), time.monotonic()
        w.write(b"ping2\n")
        await w.drain()
        timeouts = 0
        while time.monotonic() - t0 < 10:
            try:
                line = await asyncio.wait_for(r.readline(), 0.3)
                break
            except TimeoutError:
                timeouts += 1
        print(f"reply={line.strip().decode()} after={time.monotonic() - t0:.3f} timeouts={timeouts} cpu={cpu() - c0:.3f}")
        w.write(b"ping3\n")
        await w.drain()
        line = await asyncio.wait_for(r.readline(), 1)
        print(f"then reply={line.strip().decode()}")
    w.close()
asyncio.run(main())
EOF

# -- net.timeout on receive ----------------------------------------------------------
out=$(timeout 20 "$FAULTLINE" run -r 'net.timeout timeout=2s on=recv' -- \
    "$PYTHON" "$TEST_TMP/aio.py" "$EPORT" timeout 2>&1)
expect_eq "net.timeout: the client exits 0" 0 $?
printf '      | %s\n' "${out//$'\n'/$'\n      | '}"
l1=$(sed -n 1p <<<"$out") l2=$(sed -n 2p <<<"$out") l3=$(sed -n 3p <<<"$out") l4=$(sed -n 4p <<<"$out")
expect_match "net.timeout: 1st wait_for: the app's TimeoutError (no errno)" '^TimeoutError errno=None' "$l1"
check "net.timeout: ... at the app's 0.5 s deadline ($(kv after "$l1"))" between 0.49 "$(kv after "$l1")" 0.56
expect_match "net.timeout: 2nd wait_for: the app's TimeoutError again" '^TimeoutError errno=None' "$l2"
check "net.timeout: ... at 0.5 s again ($(kv after "$l2"))" between 0.49 "$(kv after "$l2")" 0.56
expect_match "net.timeout: then the socket's own ETIMEDOUT (errno 110)" '^TimeoutError errno=110' "$l3"
check "net.timeout: ... 2 s after the request ($(kv since_send "$l3"))" \
    between 1.98 "$(kv since_send "$l3")" 2.15
check "net.timeout: the client slept meanwhile (CPU $(kv cpu "$l4") s over $(kv wall "$l4") s)" \
    between 0 "$(kv cpu "$l4")" 0.1

# times=1: the rule retires when it injects; its hang must not retire with it.
out=$(timeout 20 "$FAULTLINE" run -r 'net.timeout timeout=2s on=recv times=1' -- \
    "$PYTHON" "$TEST_TMP/aio.py" "$EPORT" timeout 2>&1)
printf '      | %s\n' "${out//$'\n'/$'\n      | '}"
l3=$(sed -n 3p <<<"$out")
expect_match "net.timeout times=1: the app's deadlines, then ETIMEDOUT (errno 110)" \
    '^TimeoutError errno=None.*'$'\n''TimeoutError errno=None.*'$'\n''TimeoutError errno=110' "$out"
check "net.timeout times=1: ... 2 s after the request ($(kv since_send "$l3"))" \
    between 1.98 "$(kv since_send "$l3")" 2.15
out=$(timeout 20 "$FAULTLINE" run -r 'net.timeout timeout=1s on=recv times=1' -- "$PYTHON" -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"ping\n")
t = time.monotonic()
try:
    print("reply", s.recv(100))
except OSError as e:
    print(f"errno={e.errno} after={time.monotonic() - t:.3f}")' "$EPORT" 2>&1)
echo "      | blocking: $out"
expect_eq "net.timeout times=1, blocking recv: ETIMEDOUT" 110 "$(kv errno "$out")"
check "net.timeout times=1, blocking recv: ... after 1 s ($(kv after "$out"))" \
    between 0.99 "$(kv after "$out")" 1.1

# -- net.timeout on connect -----------------------------------------------------------
out=$(timeout 20 "$FAULTLINE" run -r 'net.timeout timeout=1s on=connect' -- \
    "$PYTHON" "$TEST_TMP/aio.py" "$EPORT" connect 2>&1)
printf '      | %s\n' "${out//$'\n'/$'\n      | '}"
l1=$(sed -n 1p <<<"$out") l2=$(sed -n 2p <<<"$out")
expect_match "net.timeout on=connect: wait_for(open_connection, 0.5): the app's TimeoutError" \
    '^TimeoutError errno=None' "$l1"
check "net.timeout on=connect: ... at 0.5 s ($(kv after "$l1"))" between 0.49 "$(kv after "$l1")" 0.56
expect_match "net.timeout on=connect: plain open_connection: ETIMEDOUT (errno 110)" \
    '^TimeoutError errno=110' "$l2"
check "net.timeout on=connect: ... after timeout=1s ($(kv after "$l2"))" between 0.98 "$(kv after "$l2")" 1.15

# -- net.partition for=1s, enabled live ------------------------------------------------
name=$(new_session)
NET_SESSIONS+=("$name")
"$FAULTLINE" run -s "$name" -- "$PYTHON" -u "$TEST_TMP/aio.py" "$EPORT" partition "$TEST_TMP/go" \
    >"$TEST_TMP/part.out" 2>&1 &
pid=$!
NET_PIDS+=("$pid")
check "net.partition: the client connected before the partition" \
    wait_until grep -q connected "$TEST_TMP/part.out"
"$FAULTLINE" enable -s "$name" 'net.partition for=1s' >/dev/null
touch "$TEST_TMP/go"
check "net.partition: the client finished" wait_exit "$pid" 15
out=$(cat "$TEST_TMP/part.out")
printf '      | %s\n' "${out//$'\n'/$'\n      | '}"
l=$(grep '^reply=' <<<"$out")
expect_eq "net.partition: the reply came" PING2 "$(kv reply "$l")"
check "net.partition: ... once the partition lifted, about 1 s later ($(kv after "$l"))" \
    between 0.85 "$(kv after "$l")" 1.15
expect_eq "net.partition: the app's 0.3 s deadlines fired 3 times meanwhile" 3 "$(kv timeouts "$l")"
check "net.partition: the client slept meanwhile (CPU $(kv cpu "$l") s)" between 0 "$(kv cpu "$l")" 0.1
expect_match "net.partition: the connection carries data again" 'then reply=PING3' "$out"

# times=1 again: the delay injected must be served in full though the rule retired.
out=$(timeout 20 "$FAULTLINE" run -r "net.delay delay=300ms on=connect times=1" -- \
    "$PYTHON" "$TEST_TMP/aio.py" "$EPORT" delay 2>&1)
echo "      | times=1: $out"
check "net.delay on=connect times=1: open_connection took 300 ms more ($(kv connect "$out"))" \
    between 0.295 "$(kv connect "$out")" 0.4

# -- net.partition disabled during a non-blocking connect ----------------------------------
name=$(new_session)
NET_SESSIONS+=("$name")
"$FAULTLINE" run -s "$name" -r 'net.partition name=cut' -- \
    "$PYTHON" -u "$TEST_TMP/aio.py" "$EPORT" lift >"$TEST_TMP/lift.out" 2>&1 &
pid=$!
NET_PIDS+=("$pid")
wait_until grep -q connecting "$TEST_TMP/lift.out"
sleep 0.3
"$FAULTLINE" disable -s "$name" cut >/dev/null
check "partition disabled during connect: the client finished" wait_exit "$pid" 15
out=$(tail -1 "$TEST_TMP/lift.out")
echo "      | $out"
expect_eq "partition disabled during connect: the connection was made, the line came back" \
    HI "$(kv reply "$out")"

# -- net.delay must not freeze the event loop ---------------------------------------------
out=$(timeout 20 "$FAULTLINE" run -r "net.delay delay=300ms peer=*:$EPORT" -- \
    "$PYTHON" "$TEST_TMP/aio.py" "$EPORT" delay 2>&1)
echo "      | $out"
expect_eq "net.delay: the reply came" PING "$(kv reply "$out")"
check "net.delay: open_connection took 300 ms more ($(kv connect "$out"))" \
    between 0.295 "$(kv connect "$out")" 0.4
check "net.delay: the event loop kept running (ticker's longest gap $(kv max_gap "$out") s < 0.1 s)" \
    between 0 "$(kv max_gap "$out")" 0.1

out=$(timeout 20 "$FAULTLINE" run -r 'net.loss p=100% proto=tcp on=connect times=1' -- \
    "$PYTHON" "$TEST_TMP/aio.py" "$EPORT" delay 2>&1)
echo "      | $out"
expect_eq "lost SYN: the reply came" PING "$(kv reply "$out")"
check "lost SYN: open_connection took 1 s more ($(kv connect "$out"))" \
    between 1.0 "$(kv connect "$out")" 1.1
check "lost SYN: the event loop kept running (ticker's longest gap $(kv max_gap "$out") s < 0.1 s)" \
    between 0 "$(kv max_gap "$out")" 0.1

out=$(timeout 20 "$FAULTLINE" run -r 'net.loss p=100% proto=tcp rto=300ms on=recv times=1' -- \
    "$PYTHON" "$TEST_TMP/aio.py" "$EPORT" delay 2>&1)
echo "      | $out"
expect_eq "lost segment on receive: the reply came" PING "$(kv reply "$out")"
check "lost segment on receive: the event loop kept running (ticker's longest gap $(kv max_gap "$out") s < 0.1 s)" \
    between 0 "$(kv max_gap "$out")" 0.1

# -- net.delay on=accept in an asyncio server --------------------------------------------
"$FAULTLINE" run -r 'net.delay delay=300ms on=accept' -- "$PYTHON" -u -c '
import asyncio
async def echo(r, w):
    async for line in r:
        w.write(line.upper())
        await w.drain()
async def main():
    srv = await asyncio.start_server(echo, "127.0.0.1", 0)
    print(srv.sockets[0].getsockname()[1], flush=True)
    await srv.serve_forever()
asyncio.run(main())' >"$TEST_TMP/aserver.out" 2>&1 &
NET_PIDS+=("$!")
APORT=$(first_line "$TEST_TMP/aserver.out")
out=$(timeout 20 "$PYTHON" -c '
import socket, sys, threading, time
times = [None] * 3
def client(i):
    t = time.monotonic()
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    s.sendall(b"hello\n")
    if s.recv(100) == b"HELLO\n":
        times[i] = time.monotonic() - t
ts = [threading.Thread(target=client, args=(i,)) for i in range(3)]
[t.start() for t in ts]
[t.join() for t in ts]
print(" ".join("%.3f" % t if t is not None else "none" for t in sorted(times, key=lambda x: x or 99)))' "$APORT" 2>&1)
echo "      | replies after: $out"
for i in 1 2 3; do
    check "asyncio server, delay on=accept: client $i answered 300 ms after connecting ($(field $i "$out"))" \
        between 0.3 "$(field $i "$out")" 0.45
done
