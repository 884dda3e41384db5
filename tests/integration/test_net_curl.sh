# curl and wget, against a local `python3 -m http.server`, report the
# network faults of their own side as they would report a real network
# (docs/rules.md "Network": net.delay, net.refuse, net.bandwidth,
# net.reset):
#  - net.delay delay=200ms peer=*:PORT: curl's own -w timings: time_connect
#    grows by 200 ms, time_starttransfer by 400 ms (connect, then the first
#    receive after the request), the body's throughput is not slowed;
#  - net.refuse: curl exit 7, wget exit 4 "Connection refused";
#    errno=EHOSTUNREACH: wget says "No route to host";
#  - net.bandwidth rate=1MiB/s: 2 MiB take 2 s +-5% by curl's time_total and
#    speed_download, and curl's CPU time stays small (waiting sleeps, it
#    does not spin: docs/rules.md "it never spins");
#  - net.reset bytes=100KiB on a 2 MiB download: curl exit 56 "Recv failure:
#    Connection reset by peer" (or 18) with about 100 KiB received; wget
#    exit 4 "Connection reset by peer" with a file of about 100 KiB.
source "$(dirname "${BASH_SOURCE[0]}")/net_lib.sh"
net_data
http_server PORT
check "http.server is up (port $PORT)" test "$PORT" -gt 0
URL=http://127.0.0.1:$PORT

# -- net.delay ---------------------------------------------------------------------
timeout 20 curl -s -o /dev/null "$URL/2m.bin" # the server's first answer is its slowest
base=$(timeout 20 curl -s -o /dev/null -w "$W_TIMES" "$URL/2m.bin")
out=$(timeout 20 "$FAULTLINE" run -r "net.delay delay=200ms peer=*:$PORT" -- \
    curl -s -o "$TEST_TMP/d.bin" -w "$W_TIMES" "$URL/2m.bin")
expect_eq "net.delay: curl exits 0" 0 $?
echo "      no rule: $base | delay=200ms: $out"
# Never less than the delays; more only by what it takes without them.
check "net.delay: time_connect grew by 200 ms ($(field 1 "$base") -> $(field 1 "$out"))" \
    between 0.2 "$(field 1 "$out")" "$(calc "$(field 1 "$base") + 0.3")"
check "net.delay: time_starttransfer grew by 400 ms ($(field 2 "$base") -> $(field 2 "$out"))" \
    between 0.4 "$(field 2 "$out")" "$(calc "$(field 2 "$base") + 0.55")"
check "net.delay: the body itself is not slowed (total - starttransfer < 150 ms)" \
    between 0 "$(calc "$(field 3 "$out") - $(field 2 "$out")")" 0.150
expect_eq "net.delay: content intact" "$SHA_2M" "$(sha "$TEST_TMP/d.bin")"

# -- net.refuse --------------------------------------------------------------------
out=$(timeout 20 "$FAULTLINE" run -r 'net.refuse' -- curl -sS -o /dev/null "$URL/1m.bin" 2>&1)
expect_eq "net.refuse: curl exit 7 (failed to connect)" 7 $?
expect_match "net.refuse: curl says it could not connect" "Failed to connect to 127.0.0.1 port $PORT" "$out"
out=$(timeout 20 "$FAULTLINE" run -r 'net.refuse' -- wget --tries=1 -O /dev/null "$URL/1m.bin" 2>&1)
expect_eq "net.refuse: wget exit 4 (network failure)" 4 $?
expect_match "net.refuse: wget says 'Connection refused'" 'failed: Connection refused' "$out"
out=$(timeout 20 "$FAULTLINE" run -r 'net.refuse errno=EHOSTUNREACH' -- \
    wget --tries=1 -O /dev/null "$URL/1m.bin" 2>&1)
expect_eq "net.refuse errno=EHOSTUNREACH: wget exit 4" 4 $?
expect_match "net.refuse errno=EHOSTUNREACH: wget says 'No route to host'" 'No route to host' "$out"

# -- net.bandwidth -----------------------------------------------------------------
out=$(rusage "$FAULTLINE" run -r 'net.bandwidth rate=1MiB/s' -- \
    curl -s -o "$TEST_TMP/b.bin" -w "$W_TIMES" "$URL/2m.bin")
expect_eq "net.bandwidth: curl exits 0" 0 $?
ru=$(cat "$TEST_TMP/rusage")
echo "      rate=1MiB/s: $out | $ru"
check "net.bandwidth: 2 MiB at 1 MiB/s take 2 s +-5% (curl time_total $(field 3 "$out"))" \
    between 1.90 "$(field 3 "$out")" 2.10
check "net.bandwidth: curl speed_download 1 MiB/s +-5% ($(field 4 "$out") B/s)" \
    between 996147 "$(field 4 "$out")" 1101005
expect_eq "net.bandwidth: content intact" "$SHA_2M" "$(sha "$TEST_TMP/b.bin")"
check "net.bandwidth: curl's CPU time < 10% of the wall time (no busy spin: $ru)" \
    between 0 "$(kv cpu "$ru")" "$(calc "0.1 * $(kv wall "$ru")")"

# -- net.reset ---------------------------------------------------------------------
out=$(timeout 20 "$FAULTLINE" run -r 'net.reset bytes=100KiB' -- \
    curl -sS -o /dev/null -w '%{size_download}\n' "$URL/2m.bin" 2>&1)
rc=$?
check "net.reset: curl exit 56 or 18 (got $rc)" test "$rc" = 56 -o "$rc" = 18
expect_match "net.reset: curl says 'Connection reset by peer'" 'Recv failure: Connection reset by peer' "$out"
got=$(tail -1 <<<"$out")
check "net.reset: curl received about 100 KiB before the reset ($got bytes)" \
    between 100000 "$got" 102400
out=$(timeout 20 "$FAULTLINE" run -r 'net.reset bytes=100KiB' -- \
    wget --tries=1 -O "$TEST_TMP/r.bin" "$URL/2m.bin" 2>&1)
expect_eq "net.reset: wget exit 4 (network failure)" 4 $?
expect_match "net.reset: wget says 'Connection reset by peer'" 'Read error at byte [0-9]+/2097152 \(Connection reset by peer\)' "$out"
size=$(stat -c %s "$TEST_TMP/r.bin")
check "net.reset: wget saved about 100 KiB ($size bytes)" between 100000 "$size" 102400
cmp -s -n "$size" "$TEST_TMP/r.bin" "$NET_WWW/2m.bin"
expect_eq "net.reset: what wget saved is the file's beginning" 0 $?
