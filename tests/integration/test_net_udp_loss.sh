# net.loss p=30% proto=udp between a python3 UDP sender and receiver
# (docs/rules.md "Network" net.loss: UDP datagrams are silently dropped).
# 2000 numbered datagrams on 127.0.0.1:
#  - control, no rule: all 2000 arrive, in order, once each;
#  - rule on the sender: every sendto reports success (the whole length),
#    yet the receiver counts about 70% (binomial: 1400 +- 5 sigma = +-103),
#    in order, none twice;
#  - rule on the receiver: the same count window, in order, none twice;
#  - an edge-triggered receiver (select.epoll EPOLLET, non-blocking, reads
#    until EAGAIN) under net.loss p=30% proto=udp on=recv, 100 datagrams
#    queued at once: a lost datagram must not end the drain with EAGAIN
#    while others are still queued (no new edge would ever come): about 70
#    arrive, and nothing is left unread.
source "$(dirname "${BASH_SOURCE[0]}")/net_lib.sh"

cat >"$TEST_TMP/udp.py" <<'EOF'
import socket, sys, time
if sys.argv[1] == "recv":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1], flush=True)
    s.settimeout(5)
    seen = []
    try:
        while True:
            d, _ = s.recvfrom(2048)
            if d == b"END":
                break
            seen.append(int(d.split(b" ")[0]))
    except socket.timeout:
        print("timed out")
    print(f"received={len(seen)} dup={len(seen) - len(set(seen))} ordered={int(seen == sorted(seen))}")
else:
    port, n = int(sys.argv[2]), int(sys.argv[3])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ok = 0
    for i in range(n):
        d = b"%d payload" % i
        ok += s.sendto(d, ("127.0.0.1", port)) == len(d)
        if i % 50 == 0:
            time.sleep(0.001)  # stay well inside the receiver's buffer
    for _ in range(20):  # END may be lost too
        s.sendto(b"END", ("127.0.0.1", port))
        time.sleep(0.005)
    print(f"sent={n} ok={ok}")
EOF

# exchange WHERE: WHERE = none | send | recv (the side under the rule).
exchange() {
    local rule='net.loss p=30% proto=udp' recv_pre=() send_pre=() port pid
    [ "$1" = recv ] && recv_pre=("$FAULTLINE" run -r "$rule" --)
    [ "$1" = send ] && send_pre=("$FAULTLINE" run -r "$rule" --)
    rm -f "$TEST_TMP/recv.out"
    "${recv_pre[@]}" "$PYTHON" -u "$TEST_TMP/udp.py" recv >"$TEST_TMP/recv.out" 2>&1 &
    pid=$!
    NET_PIDS+=("$pid")
    port=$(first_line "$TEST_TMP/recv.out")
    sent=$(timeout 20 "${send_pre[@]}" "$PYTHON" "$TEST_TMP/udp.py" send "$port" 2000 2>&1)
    wait_exit "$pid" 10
    got=$(tail -1 "$TEST_TMP/recv.out")
    echo "      $1: $sent | $got"
}

exchange none
expect_eq "control: every sendto succeeded" 2000 "$(kv ok "$sent")"
expect_eq "control: all 2000 datagrams arrived" 2000 "$(kv received "$got")"

exchange send
expect_eq "loss on the sender: every sendto reported success" 2000 "$(kv ok "$sent")"
check "loss on the sender: about 70% arrived ($(kv received "$got") of 2000, 1297..1503)" \
    between 1297 "$(kv received "$got")" 1503
expect_eq "loss on the sender: none arrived twice" 0 "$(kv dup "$got")"
expect_eq "loss on the sender: order preserved" 1 "$(kv ordered "$got")"

exchange recv
check "loss on the receiver: about 70% arrived ($(kv received "$got") of 2000, 1297..1503)" \
    between 1297 "$(kv received "$got")" 1503
expect_eq "loss on the receiver: none arrived twice" 0 "$(kv dup "$got")"
expect_eq "loss on the receiver: order preserved" 1 "$(kv ordered "$got")"

cat >"$TEST_TMP/udp_et.py" <<'EOF'
import select, socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.bind(("127.0.0.1", 0))
s.setblocking(False)
ep = select.epoll()
ep.register(s.fileno(), select.EPOLLIN | select.EPOLLET)
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(100):
    tx.sendto(b"%d" % i, s.getsockname())
got = 0
while ep.poll(0.5):  # until the edges stop for 0.5 s
    while True:
        try:
            s.recv(2048)
            got += 1
        except BlockingIOError:
            break
left = bool(select.select([s], [], [], 0)[0])
print(f"received={got} left_unread={int(left)}")
EOF
out=$(timeout 20 "$FAULTLINE" run -r 'net.loss p=30% proto=udp on=recv' -- "$PYTHON" "$TEST_TMP/udp_et.py" 2>&1)
echo "      EPOLLET receiver: $out"
check "EPOLLET receiver: about 70 of 100 arrived ($(kv received "$out"), 50..90)" \
    between 50 "$(kv received "$out")" 90
expect_eq "EPOLLET receiver: nothing left unread when the edges stopped" 0 "$(kv left_unread "$out")"
