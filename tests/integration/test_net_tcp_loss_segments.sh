# TCP net.loss loses segments, not calls (docs/rules.md "Network" net.loss):
# python3 downloads 10 MiB over one connection (recv(65536): about 160
# calls) under `net.loss p=2% proto=tcp rto=10ms`:
#  - the shim's own counters: the rule's injected (lost segments) is 2% of
#    the 7242 1448-byte segments, within 1.4%..2.7% (binomial sd 0.16%;
#    a receive draws for the bytes queued, rounded up to whole segments,
#    about 1.6% more segments than the bytes make: about 4 sd either side);
#    `status` counts the receives that lost one (INJECTED of net.recv), fewer
#    than the segments and more than none;
#  - the transfer time grows accordingly: at least lost x 10 ms, at most
#    1.3 x that plus the unfaulted run and 0.5 s (a loss right after a loss
#    waits twice as long: at 2%, rare);
#  - no byte is lost (sha256).
# Before: p=2% was drawn per call, about 3 of 160 calls lost.
source "$(dirname "${BASH_SOURCE[0]}")/net_lib.sh"
head -c 10485760 /dev/urandom >"$TEST_TMP/10m.bin"
want_sha=$(sha "$TEST_TMP/10m.bin")
blast_server PORT "$TEST_TMP/10m.bin"

cat >"$TEST_TMP/get.py" <<'EOF'
import hashlib, socket, sys, time
t0 = time.monotonic()
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
h, n, calls = hashlib.sha256(), 0, 0
while True:
    d = s.recv(65536)
    calls += 1
    if not d:
        break
    n += len(d)
    h.update(d)
print(f"bytes={n} calls={calls} total={time.monotonic() - t0:.3f} sha={h.hexdigest()}")
EOF

base=$(timeout 20 "$PYTHON" "$TEST_TMP/get.py" "$PORT" 2>&1)
echo "      no rule: $base"
expect_eq "no rule: the download is intact" "$want_sha" "$(kv sha "$base")"

name=$(new_session)
NET_SESSIONS+=("$name")
out=$(LD_PRELOAD=$SHIM FAULTLINE_SESSION=$name FAULTLINE_SEED=3 \
    FAULTLINE_RULES='net.loss p=2% proto=tcp rto=10ms' \
    timeout 60 "$PYTHON" "$TEST_TMP/get.py" "$PORT" 2>&1)
lost=$("$FAULTLINE" list -s "$name" --json |
    "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)[0]["injected"])')
calls_lost=$("$FAULTLINE" status -s "$name" | awk '$1 == "net.recv" { print $4 }')
segments=$((10485760 / 1448))
echo "      p=2% rto=10ms: $out | lost segments=$lost of $segments | recv calls that lost=$calls_lost"
expect_eq "p=2%: no byte lost (sha256)" "$want_sha" "$(kv sha "$out")"
check "p=2%: ${lost:-?} of $segments segments lost ($(calc "100.0 * ${lost:-0} / $segments")%, within 1.4..2.7%)" \
    between "$(calc "$segments * 0.014")" "${lost:-x}" "$(calc "$segments * 0.027")"
check "status: ${calls_lost:-?} receives lost a segment (1..lost)" between 1 "${calls_lost:-x}" "${lost:-0}"
low=$(calc "${lost:-0} * 0.010")
high=$(calc "${lost:-0} * 0.013 + $(kv total "$base") + 0.5")
check "p=2%: the download took $(kv total "$base") -> $(kv total "$out") s (lost x 10 ms: $low..$high)" \
    between "$low" "$(kv total "$out")" "$high"
