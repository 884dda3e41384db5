# Readiness under net.bandwidth rate=200KB/s: python3 clients on
# non-blocking sockets move 1 MiB over loopback while waiting in poll,
# select, epoll (level-triggered, selectors module) and epoll
# edge-triggered (select.epoll with EPOLLET: read or write until EAGAIN,
# then wait for the next edge), receiving and sending (docs/rules.md
# "Network" net.bandwidth: non-blocking sockets get partial writes/EAGAIN
# and delayed readiness, never a busy spin; readiness: held
# epoll fds are re-added so that EPOLLET fires when the fault lets them
# through).
# Each client must: finish in 1048576/200000 s (5.24 s) +-5%, by its own
# clock; move every byte (sha256); and use little CPU: < 10% of its wall
# time (a client woken for every few bytes spins). Edge-triggered clients
# must never stall: each gives up after 9 s, which fails the time check.
# The six clients run at once (the whole file takes about 6 s).
source "$(dirname "${BASH_SOURCE[0]}")/net_lib.sh"
net_data
blast_server BPORT "$NET_WWW/1m.bin"

# A sink: reads each connection to its end, prints "sink bytes=N sha=S".
"$PYTHON" -u -c '
import hashlib, socket, threading
ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(16)
print(ls.getsockname()[1], flush=True)
def sink(c):
    h, n = hashlib.sha256(), 0
    while True:
        d = c.recv(65536)
        if not d:
            break
        h.update(d); n += len(d)
    print(f"sink bytes={n} sha={h.hexdigest()}", flush=True)
while True:
    c, _ = ls.accept()
    threading.Thread(target=sink, args=(c,), daemon=True).start()' >"$TEST_TMP/sink.out" 2>&1 &
NET_PIDS+=("$!")
SPORT=$(first_line "$TEST_TMP/sink.out")
check "servers up (blast $BPORT, sink $SPORT)" test "${BPORT:-0}" -gt 0 -a "${SPORT:-0}" -gt 0

cat >"$TEST_TMP/rd.py" <<'EOF'
# rd.py PORT MODE FILE: MODE = poll|select|epoll|et (receive 1 MiB from the
# blast server) or send-poll|send-et (send FILE to the sink).
import hashlib, resource, select, selectors, socket, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
n = 1 << 20
s = socket.create_connection(("127.0.0.1", port))
s.setblocking(False)
r0 = resource.getrusage(resource.RUSAGE_SELF)
t0 = time.monotonic()
deadline = t0 + 9
h, moved, waits, calls = hashlib.sha256(), 0, 0, 0
data = open(sys.argv[3], "rb").read() if mode.startswith("send") else b""
def step():
    """One call; returns False on EAGAIN."""
    global moved, calls
    calls += 1
    try:
        if data:
            k = s.send(data[moved:moved + 65536])
        else:
            d = s.recv(65536)
            if not d:
                raise EOFError
            h.update(d)
            k = len(d)
    except BlockingIOError:
        return False
    moved += k
    return True
try:
    if mode in ("et", "send-et"):
        ep = select.epoll()
        ep.register(s.fileno(), (select.EPOLLOUT if data else select.EPOLLIN) | select.EPOLLET)
        while moved < n and time.monotonic() < deadline:
            waits += 1
            if ep.poll(1.0):
                while moved < n and step():  # edge-triggered: until EAGAIN
                    pass
    else:
        kind = mode.replace("send-", "")
        sel = {"poll": selectors.PollSelector, "select": selectors.SelectSelector,
               "epoll": selectors.EpollSelector}[kind]()
        sel.register(s, selectors.EVENT_WRITE if data else selectors.EVENT_READ)
        while moved < n and time.monotonic() < deadline:
            waits += 1
            if sel.select(1.0):
                step()
except EOFError:
    pass
wall = time.monotonic() - t0
r1 = resource.getrusage(resource.RUSAGE_SELF)
cpu = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
s.close()
print(f"mode={mode} moved={moved} wall={wall:.3f} cpu={cpu:.3f} waits={waits} calls={calls} sha={h.hexdigest()}")
EOF

modes=(poll select epoll et send-poll send-et)
pids=()
for m in "${modes[@]}"; do
    port=$BPORT
    [[ $m == send-* ]] && port=$SPORT
    timeout 30 "$FAULTLINE" run -r 'net.bandwidth rate=200KB/s' -- \
        "$PYTHON" "$TEST_TMP/rd.py" "$port" "$m" "$NET_WWW/1m.bin" >"$TEST_TMP/rd.$m" 2>&1 &
    NET_PIDS+=("$!")
    pids+=("$!")
done
for p in "${pids[@]}"; do wait_exit "$p" 30; done
wait_until test "$(grep -c '^sink' "$TEST_TMP/sink.out")" -ge 2

for m in "${modes[@]}"; do
    out=$(cat "$TEST_TMP/rd.$m")
    echo "      $out"
    check "$m: 1 MiB at 200 KB/s in 5.24 s +-5% ($(kv wall "$out") s)" between 4.98 "$(kv wall "$out")" 5.50
    check "$m: CPU < 10% of the wall time, no busy spin ($(kv cpu "$out") s, $(kv calls "$out") calls)" \
        between 0 "$(kv cpu "$out")" "$(calc "0.1 * $(kv wall "$out")")"
    if [[ $m == send-* ]]; then
        expect_eq "$m: every byte was sent" 1048576 "$(kv moved "$out")"
    else
        expect_eq "$m: every byte arrived intact (sha256)" "$SHA_1M" "$(kv sha "$out")"
    fi
done
sinks=$(grep '^sink' "$TEST_TMP/sink.out")
expect_eq "the sink got both senders' bytes intact" \
    "$(printf 'sink bytes=1048576 sha=%s\n' "$SHA_1M" "$SHA_1M")" "$sinks"
