# net.loss on TCP, as python3 sees it through its own clocks (docs/rules.md
# "Network" net.loss: TCP pays a retransmission delay per lost segment,
# doubling on consecutive losses; lost SYNs delay
# connect 1 s, then 2 s more...; no byte of a stream is ever dropped):
#  - on=recv rto=100ms times=3, recv(1448) (one segment a call): python3's
#    first three recv calls take
#    100, 200, 400 ms more (consecutive losses double), the rest are quick,
#    and the downloaded file's sha256 matches;
#  - on=send rto=100ms times=2: the request's two sendall calls take 100 ms
#    and 200 ms;
#  - p=20% rto=10ms over a whole download (recv 16 KiB at a time): the file
#    arrives intact, and takes at least injected x 10 ms (injected: lost
#    segments, drawn per 1448 bytes);
#  - on=connect p=100% times=2: two SYNs lost, connect takes 1 s + 2 s = 3 s
#    (times= counts lost segments: the third SYN gets through).
source "$(dirname "${BASH_SOURCE[0]}")/net_lib.sh"
net_data
http_server PORT

cat >"$TEST_TMP/get.py" <<'EOF'
# get.py PORT PATH BUFSIZE: HTTP/1.0 GET over a plain socket; prints how long
# connect, each sendall and each recv took, and the body's sha256.
import hashlib, socket, sys, time
port, path, bufsize = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
t0 = time.monotonic()
s = socket.socket()
s.connect(("127.0.0.1", port))
print(f"connect={time.monotonic() - t0:.3f}", flush=True)
sends = []
for piece in (b"GET /%s HTTP/1.0\r\n" % path.encode(), b"Host: x\r\n\r\n"):
    t = time.monotonic()
    s.sendall(piece)
    sends.append(time.monotonic() - t)
data, recvs = b"", []
while True:
    t = time.monotonic()
    d = s.recv(bufsize)
    recvs.append(time.monotonic() - t)
    if not d:
        break
    data += d
body = data.split(b"\r\n\r\n", 1)[1]
print("sends=" + ",".join(f"{x:.3f}" for x in sends))
print("recvs=" + ",".join(f"{x:.3f}" for x in recvs[:5]) + f" later_max={max(recvs[4:] or [0]):.3f} n={len(recvs)}")
print(f"total={time.monotonic() - t0:.3f} len={len(body)} sha={hashlib.sha256(body).hexdigest()}")
EOF
# nth N LIST: the Nth of a comma-separated list.
nth() { cut -d, -f"$1" <<<"$2"; }

base=$(timeout 20 "$PYTHON" "$TEST_TMP/get.py" "$PORT" 1m.bin 16384 2>&1)
echo "      no rule: ${base//$'\n'/ | }"
expect_eq "no rule: the download is intact" "$SHA_1M" "$(kv sha "$base")"

# recv(1448): one segment per call (a loss is drawn per 1448-byte segment).
out=$(timeout 20 "$FAULTLINE" run -r 'net.loss p=100% proto=tcp rto=100ms on=recv times=3' -- \
    "$PYTHON" "$TEST_TMP/get.py" "$PORT" 1m.bin 1448 2>&1)
echo "      on=recv times=3: ${out//$'\n'/ | }"
r=$(kv recvs "$out")
check "on=recv: 1st recv waited rto=100ms ($(nth 1 "$r"))" between 0.1 "$(nth 1 "$r")" 0.2
check "on=recv: 2nd recv waited 2 x rto ($(nth 2 "$r"))" between 0.2 "$(nth 2 "$r")" 0.26
check "on=recv: 3rd recv waited 4 x rto ($(nth 3 "$r"))" between 0.4 "$(nth 3 "$r")" 0.46
check "on=recv: later recvs are quick ($(nth 4 "$r"), max $(kv later_max "$out"))" \
    between 0 "$(calc "max($(nth 4 "$r"), $(kv later_max "$out"))")" 0.05
expect_eq "on=recv: no byte lost (sha256)" "$SHA_1M" "$(kv sha "$out")"

out=$(timeout 20 "$FAULTLINE" run -r 'net.loss p=100% proto=tcp rto=100ms on=send times=2' -- \
    "$PYTHON" "$TEST_TMP/get.py" "$PORT" 1m.bin 65536 2>&1)
echo "      on=send times=2: ${out//$'\n'/ | }"
r=$(kv sends "$out")
check "on=send: 1st sendall waited rto=100ms ($(nth 1 "$r"))" between 0.1 "$(nth 1 "$r")" 0.13
check "on=send: 2nd sendall waited 2 x rto ($(nth 2 "$r"))" between 0.2 "$(nth 2 "$r")" 0.23
expect_eq "on=send: the download is intact" "$SHA_1M" "$(kv sha "$out")"

name=$(new_session)
NET_SESSIONS+=("$name")
out=$(LD_PRELOAD=$SHIM FAULTLINE_SESSION=$name FAULTLINE_SEED=7 \
    FAULTLINE_RULES='net.loss p=20% proto=tcp rto=10ms on=recv' \
    timeout 30 "$PYTHON" "$TEST_TMP/get.py" "$PORT" 1m.bin 16384 2>&1)
injected=$("$FAULTLINE" list -s "$name" --json |
    "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)[0]["injected"])')
echo "      p=20% rto=10ms: ${out//$'\n'/ | } | injected=$injected"
expect_eq "p=20%: no byte lost (sha256)" "$SHA_1M" "$(kv sha "$out")"
check "p=20%: some receives were lost ($injected of $(kv n "$out"))" test "${injected:-0}" -ge 5
# Each lost receive sleeps its 10 ms (more in a streak) in this one thread,
# so the download takes at least injected x 10 ms. (Not "that much longer
# than the unfaulted one": while the receiver sleeps, the server's data piles
# up, and the waits for it the unfaulted run paid are hidden in the sleeps.)
check "p=20%: the download took at least injected x 10 ms ($(kv total "$base") -> $(kv total "$out"), injected=${injected:-0})" \
    between "$(calc "${injected:-0} * 0.01")" "$(kv total "$out")" 30

out=$(timeout 5 "$FAULTLINE" run -r 'net.loss p=100% proto=tcp on=connect times=2' -- \
    "$PYTHON" "$TEST_TMP/get.py" "$PORT" 1m.bin 65536 2>&1)
rc=$?
echo "      on=connect p=100% times=2: rc=$rc ${out//$'\n'/ | }"
check "on=connect times=2: connect took 1 s + 2 s ($(kv connect "$out"))" \
    between 2.99 "$(kv connect "$out")" 3.1
expect_eq "on=connect times=2: then the download is intact" "$SHA_1M" "$(kv sha "$out")"
