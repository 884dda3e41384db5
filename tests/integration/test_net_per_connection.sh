# net.reset per=connection (docs/rules.md "Keys every rule takes", per=): one
# decision per connection, made at its first matching call and kept for its
# life. python3 opens 200 connections, one after another, to a server that
# sends each 64 KiB, and reads each with recv(4096) (16 calls or more):
#  - `net.reset p=50% per=connection`: 100 of 200 are reset, within 70..130
#    (binomial(200, 0.5): sd 7.1, so about 4 sd either side); each reset
#    connection fails at its first recv, having read nothing, and every other
#    one reads its 64 KiB whole (the decision is kept);
#  - control, per=call (p=50% judged at every recv): nearly all are broken
#    (more than 190), most after having read some data;
#  - the rule's injected = the connections reset.
source "$(dirname "${BASH_SOURCE[0]}")/net_lib.sh"
head -c 65536 /dev/urandom >"$TEST_TMP/64k.bin"
blast_server PORT "$TEST_TMP/64k.bin"

cat >"$TEST_TMP/conns.py" <<'EOF'
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
whole = reset_first = reset_later = 0
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    got = 0
    try:
        while True:
            d = s.recv(4096)
            if not d:
                break
            got += len(d)
    except ConnectionResetError:
        if got:
            reset_later += 1
        else:
            reset_first += 1
    else:
        whole += got == 65536
    s.close()
print(f"whole={whole} reset_first={reset_first} reset_later={reset_later}")
EOF

name=$(new_session)
NET_SESSIONS+=("$name")
out=$(LD_PRELOAD=$SHIM FAULTLINE_SESSION=$name FAULTLINE_SEED=11 \
    FAULTLINE_RULES='net.reset p=50% per=connection' \
    timeout 60 "$PYTHON" "$TEST_TMP/conns.py" "$PORT" 200 2>&1)
echo "      per=connection p=50%: $out"
reset=$(kv reset_first "$out")
check "per=connection: ${reset:-?} of 200 connections reset (70..130)" between 70 "${reset:-x}" 130
expect_eq "per=connection: none reset after reading (decided at the first recv)" 0 "$(kv reset_later "$out")"
check "per=connection: the others read their 64 KiB whole ($(kv whole "$out") + ${reset:-?} = 200)" \
    test "$(($(kv whole "$out") + ${reset:-0}))" -eq 200
injected=$("$FAULTLINE" list -s "$name" --json |
    "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)[0]["injected"])')
expect_eq "per=connection: injected = connections reset" "$reset" "$injected"

out=$(FAULTLINE_SEED=11 FAULTLINE_RULES='net.reset p=50%' LD_PRELOAD=$SHIM \
    timeout 60 "$PYTHON" "$TEST_TMP/conns.py" "$PORT" 200 2>&1)
echo "      per=call p=50%: $out"
broken=$(($(kv reset_first "$out") + $(kv reset_later "$out")))
check "control per=call: $broken of 200 broken (> 190)" test "$broken" -gt 190
