# net.slice and net.corrupt on downloads from python3's http.server, as
# curl and python3 report them (docs/rules.md "Network": net.slice, sends
# and receives of at most max bytes per call; net.corrupt, "one bit of the
# received data is flipped per injection"; docs/pitfalls.md item 12: data
# also moves through
# read/recv/recvfrom):
#  - net.slice max=1: curl's own --trace-ascii shows the request sent in
#    1-byte pieces ("Send header, 1 bytes") and the 100000-byte body
#    received in 100000 pieces of 1 byte; the file is intact (sha256);
#  - net.slice max=1000 on python3: no recv returned more than 1000 bytes,
#    the file is intact;
#  - net.corrupt after=2 times=1 on curl: curl exits 0 with the full size,
#    the file differs from the original in exactly one byte, by one bit;
#  - net.corrupt after=1 on python3 (every recv after the first): the body's
#    sha256 differs, and the bytes that differ are as many as the receives
#    that carried data (one flipped bit each).
source "$(dirname "${BASH_SOURCE[0]}")/net_lib.sh"
net_data
head -c 100000 /dev/urandom >"$NET_WWW/100k.bin"
SHA_100K=$(sha "$NET_WWW/100k.bin")
http_server PORT
URL=http://127.0.0.1:$PORT

# -- net.slice -------------------------------------------------------------------
timeout 30 "$FAULTLINE" run -r 'net.slice max=1' -- \
    curl -sS --trace-ascii "$TEST_TMP/trace" -o "$TEST_TMP/s.bin" "$URL/100k.bin"
expect_eq "slice max=1: curl exits 0" 0 $?
expect_eq "slice max=1: content intact (sha256)" "$SHA_100K" "$(sha "$TEST_TMP/s.bin")"
sends=$(grep -c '^=> Send header, 1 bytes' "$TEST_TMP/trace")
check "slice max=1: curl sent its request 1 byte at a time ($sends pieces)" test "$sends" -ge 50
expect_eq "slice max=1: curl sent no larger piece" 0 "$(grep '^=> Send' "$TEST_TMP/trace" | grep -vc ', 1 bytes')"
expect_eq "slice max=1: curl received the body in 100000 pieces of 1 byte" 100000 \
    "$(grep -c '^<= Recv data, 1 bytes' "$TEST_TMP/trace")"
expect_eq "slice max=1: and no larger body piece" 0 "$(grep '^<= Recv data' "$TEST_TMP/trace" | grep -vc ', 1 bytes')"

cat >"$TEST_TMP/get.py" <<'EOF'
# get.py PORT PATH OUT: HTTP/1.0 GET, recv(65536) at a time; writes the body
# to OUT; prints the number of receives that carried data and the largest.
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /%s HTTP/1.0\r\nHost: x\r\n\r\n" % sys.argv[2].encode())
data, sizes = b"", []
while True:
    d = s.recv(65536)
    if not d:
        break
    sizes.append(len(d))
    data += d
open(sys.argv[3], "wb").write(data.split(b"\r\n\r\n", 1)[1])
print(f"receives={len(sizes)} largest={max(sizes)}")
EOF
out=$(timeout 30 "$FAULTLINE" run -r 'net.slice max=1000' -- \
    "$PYTHON" "$TEST_TMP/get.py" "$PORT" 1m.bin "$TEST_TMP/p.bin" 2>&1)
echo "      slice max=1000: $out"
expect_eq "slice max=1000: python3's largest recv is 1000 bytes" 1000 "$(kv largest "$out")"
check "slice max=1000: ... over 1048 receives at least ($(kv receives "$out"))" \
    test "$(kv receives "$out")" -ge 1048
expect_eq "slice max=1000: content intact (sha256)" "$SHA_1M" "$(sha "$TEST_TMP/p.bin")"

# -- net.corrupt -----------------------------------------------------------------
# flipped A B: "BYTES BITS": bytes that differ between A and B (same size),
# and the bits that differ in all.
flipped() {
    cmp -l "$1" "$2" | "$PYTHON" -c '
import sys
rows = [l.split() for l in sys.stdin]
print(len(rows), sum(bin(int(a, 8) ^ int(b, 8)).count("1") for _, a, b in rows))'
}
out=$(timeout 20 "$FAULTLINE" run -r 'net.corrupt after=2 times=1' -- \
    curl -sS -o "$TEST_TMP/c.bin" -w '%{http_code} %{size_download}' "$URL/2m.bin" 2>&1)
expect_eq "corrupt times=1: curl exits 0" 0 $?
expect_eq "corrupt times=1: curl got 200 and every byte" "200 2097152" "$out"
check "corrupt times=1: the file differs (sha256)" test "$(sha "$TEST_TMP/c.bin")" != "$SHA_2M"
expect_eq "corrupt times=1: in exactly one byte, by one bit" "1 1" "$(flipped "$TEST_TMP/c.bin" "$NET_WWW/2m.bin")"

name=$(new_session)
NET_SESSIONS+=("$name")
out=$(LD_PRELOAD=$SHIM FAULTLINE_SESSION=$name FAULTLINE_RULES='net.corrupt after=1' \
    timeout 30 "$PYTHON" "$TEST_TMP/get.py" "$PORT" 1m.bin "$TEST_TMP/pc.bin" 2>&1)
echo "      corrupt after=1: $out"
check "corrupt after=1: python3's body differs (sha256)" test "$(sha "$TEST_TMP/pc.bin")" != "$SHA_1M"
diff=$(flipped "$TEST_TMP/pc.bin" "$NET_WWW/1m.bin")
# The first receive (headers and the body's start) is spared; every later one
# that carried data has one flipped bit (two flips landing on one byte are
# too unlikely to matter).
expect_eq "corrupt after=1: one flipped bit per later receive ($diff)" \
    "$(($(kv receives "$out") - 1)) $(($(kv receives "$out") - 1))" "$diff"
