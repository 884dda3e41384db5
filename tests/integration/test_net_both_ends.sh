# A rule acts once per path (docs/rules.md "Both ends in the session"): with
# both ends of a loopback path in the session, data is judged where it is
# received, not also where it is sent.
#  - UDP, one python3 process sending 2000 datagrams to its own socket
#    (drained as it goes) under `net.loss p=20% proto=udp`: about 80% arrive,
#    within 1600 +- 90 (binomial sd 17.9: 5 sd); before, judged at both
#    ends, 64% (1280) arrived. The rule's injected = the datagrams lost;
#  - the same with the receiver in another process of the session (`run`
#    starts the receiver, then the sender joins the session): 80% +- 90;
#  - on=send only: the receiver does not judge it, the sender still does:
#    about 80% arrive;
#  - TCP, one python3 process streaming 4 MiB to itself (two threads) under
#    `net.loss p=2% proto=tcp rto=1ms`: 2% of the 2896 segments are lost
#    (1.2..3.0%: a receive's rounding to whole segments adds some), not 4%.
source "$(dirname "${BASH_SOURCE[0]}")/net_lib.sh"

cat >"$TEST_TMP/self.py" <<'EOF'
import socket, sys
n = int(sys.argv[1])
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
r.bind(("127.0.0.1", 0))
r.setblocking(False)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
got = 0
def drain():
    global got
    while True:
        try:
            r.recv(2048)
            got += 1
        except BlockingIOError:
            return
for i in range(n):
    s.sendto(b"%d payload" % i, r.getsockname())
    if i % 20 == 19:
        drain()
drain()
print(f"received={got} of={n}")
EOF

cat >"$TEST_TMP/udp2.py" <<'EOF'
import socket, sys, time
if sys.argv[1] == "recv":
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    r.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    r.bind(("127.0.0.1", 0))
    r.settimeout(0.05)
    try:
        r.recv(2048)  # nothing yet: the socket is known to the session from here
    except socket.timeout:
        pass
    print(r.getsockname()[1], flush=True)
    r.settimeout(3)
    got = 0
    try:
        while True:
            if r.recv(2048) == b"END":
                break
            got += 1
    except socket.timeout:
        pass
    print(f"received={got}", flush=True)
else:
    port, n = int(sys.argv[2]), int(sys.argv[3])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(n):
        s.sendto(b"%d payload" % i, ("127.0.0.1", port))
        if i % 50 == 0:
            time.sleep(0.001)
    time.sleep(0.2)
EOF

cat >"$TEST_TMP/tcpself.py" <<'EOF'
import socket, threading
data = b"x" * (4 << 20)
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(1)
def serve():
    c, _ = ls.accept()
    c.sendall(data)
    c.close()
threading.Thread(target=serve).start()
s = socket.create_connection(ls.getsockname())
n = 0
while True:
    d = s.recv(65536)
    if not d:
        break
    n += len(d)
print(f"bytes={n}")
EOF

injected() {
    "$FAULTLINE" list -s "$1" --json |
        "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)[0]["injected"])'
}

name=$(new_session)
NET_SESSIONS+=("$name")
out=$(LD_PRELOAD=$SHIM FAULTLINE_SESSION=$name FAULTLINE_SEED=5 \
    FAULTLINE_RULES='net.loss p=20% proto=udp' timeout 30 "$PYTHON" "$TEST_TMP/self.py" 2000 2>&1)
got=$(kv received "$out")
echo "      UDP to itself, p=20%: $out, injected=$(injected "$name")"
check "UDP, both ends in one process: ${got:-?} of 2000 arrive (1510..1690, not 1280)" \
    between 1510 "${got:-x}" 1690
expect_eq "UDP: injected = datagrams lost" "$((2000 - ${got:-0}))" "$(injected "$name")"

for rule in 'net.loss p=20% proto=udp' 'net.loss p=20% proto=udp on=send'; do
    name=$(new_session)
    NET_SESSIONS+=("$name")
    "$FAULTLINE" run -s "$name" --seed 9 -r "$rule" -- \
        "$PYTHON" -u "$TEST_TMP/udp2.py" recv >"$TEST_TMP/recv.out" 2>&1 &
    pid=$!
    port=$(first_line "$TEST_TMP/recv.out")
    LD_PRELOAD=$SHIM FAULTLINE_SESSION=$name timeout 20 "$PYTHON" "$TEST_TMP/udp2.py" send "$port" 2000
    LD_PRELOAD=$SHIM FAULTLINE_SESSION=$name "$PYTHON" -c '
import socket, sys
for _ in range(50): socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"END", ("127.0.0.1", int(sys.argv[1])))' "$port"
    wait "$pid"
    got=$(kv received "$(cat "$TEST_TMP/recv.out")")
    echo "      two processes, '$rule': received=$got of 2000"
    check "UDP, '$rule', sender and receiver in the session: ${got:-?} of 2000 arrive (1510..1690)" \
        between 1510 "${got:-x}" 1690
done

name=$(new_session)
NET_SESSIONS+=("$name")
out=$(LD_PRELOAD=$SHIM FAULTLINE_SESSION=$name FAULTLINE_SEED=5 \
    FAULTLINE_RULES='net.loss p=2% proto=tcp rto=1ms' timeout 60 "$PYTHON" "$TEST_TMP/tcpself.py" 2>&1)
lost=$(injected "$name")
segments=$(((4 << 20) / 1448))
echo "      TCP to itself, p=2%: $out, lost=$lost of $segments segments"
expect_eq "TCP: the stream is whole" 4194304 "$(kv bytes "$out")"
check "TCP, both ends in one process: ${lost:-?} of $segments segments lost (1.2..3.0%, not 4%)" \
    between "$(calc "$segments * 0.012")" "${lost:-x}" "$(calc "$segments * 0.030")"

# A delay is the connecting end's alone: a client and its server in one
# process, under `net.delay delay=100ms`, see what the client alone would:
# its connect late by the delay, each request/response round trip by the
# delay once, and the rule injects 6 times (the connect, 5 receive turns),
# as for the client alone. Before, the server's accept and its own receive
# turns were judged too (12 injections), their waits hidden in time under
# the client's own.
cat >"$TEST_TMP/rtt.py" <<'EOF2'
import socket, threading, time
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(1)
def serve():
    c, _ = l.accept()
    while data := c.recv(64):
        c.sendall(data)
    c.close()
threading.Thread(target=serve, daemon=True).start()
t0 = time.monotonic()
s = socket.create_connection(l.getsockname())
connect_ms = (time.monotonic() - t0) * 1000
rtts = []
for i in range(5):
    t0 = time.monotonic()
    s.sendall(b"ping %d" % i)
    s.recv(64)
    rtts.append((time.monotonic() - t0) * 1000)
s.close()
print(f"connect_ms={connect_ms:.0f} rtt_ms={max(rtts):.0f} min_rtt_ms={min(rtts):.0f}")
EOF2
name=$(new_session)
NET_SESSIONS+=("$name")
out=$(LD_PRELOAD=$SHIM FAULTLINE_SESSION=$name FAULTLINE_RULES='net.delay delay=100ms' \
    timeout 30 "$PYTHON" "$TEST_TMP/rtt.py" 2>&1)
delays=$(injected "$name")
echo "      client and server in one process, net.delay 100ms: $out injected=$delays"
expect_eq "delay, both ends: judged at the connecting end only (connect + 5 turns)" 6 "$delays"
check "delay, both ends: connect pays it once ($(kv connect_ms "$out") ms)" \
    between 95 "$(kv connect_ms "$out")" 160
check "delay, both ends: the shortest round trip pays it ($(kv min_rtt_ms "$out") ms)" \
    between 95 "$(kv min_rtt_ms "$out")" 160
check "delay, both ends: the longest round trip pays it once ($(kv rtt_ms "$out") ms)" \
    between 95 "$(kv rtt_ms "$out")" 160
