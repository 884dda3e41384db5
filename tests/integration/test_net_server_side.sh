# Server-side network faults: python3's http.server runs under `faultline run
# -s NAME`, rules with lport=PORT are enabled live on it, and curl, which runs
# without the shim, sees them (docs/rules.md "Network": lport= "the socket's
# local port: a server's listening port"). A second http.server in the same
# session, on another port, is never touched (lport= selects).
#  - net.delay delay=200ms lport=P: curl's time_starttransfer grows by
#    200 ms (the server's accept waits; the kernel completed the handshake,
#    so time_connect does not);
#  - net.bandwidth rate=500KiB/s lport=P: curl's speed_download 500 KiB/s
#    +-5% on 1 MiB;
#  - net.reset bytes=100KiB lport=P: curl exit 56 "Connection reset by peer"
#    after about 100 KiB (the server's sends crossed the mark);
#  - net.slice max=100 lport=P: the server's sends move 100 bytes at a time
#    (python's sendall loops), the content curl gets is intact;
#  - after `disable`, the server is its normal self.
source "$(dirname "${BASH_SOURCE[0]}")/net_lib.sh"
net_data
name=$(new_session)
NET_SESSIONS+=("$name")
http_server P "$FAULTLINE" run -s "$name" --
http_server P2 "$FAULTLINE" run -s "$name" --
check "two http.servers up in session $name (ports $P, $P2)" test "$P" -gt 0 -a "$P2" -gt 0

# get PORT FILE [CURL-ARGS...]: curl's timings (and exit status) for FILE.
get() {
    local port=$1 file=$2
    shift 2
    timeout 20 curl -sS -o "$TEST_TMP/got" -w "$W_TIMES" "$@" "http://127.0.0.1:$port/$file" 2>&1
}
got_sha() { sha "$TEST_TMP/got"; }

get "$P" 1m.bin >/dev/null # the server's first answer is its slowest
base=$(get "$P" 1m.bin)
id=$("$FAULTLINE" enable -s "$name" "net.delay delay=200ms lport=$P")
out=$(get "$P" 1m.bin)
other=$(get "$P2" 1m.bin)
"$FAULTLINE" disable -s "$name" "$id" >/dev/null
echo "      no rule: $base | delay: $out | other port: $other"
check "net.delay on the server: curl's time_starttransfer grew by 200 ms ($(field 2 "$base") -> $(field 2 "$out"))" \
    between 0.2 "$(field 2 "$out")" "$(calc "$(field 2 "$base") + 0.3")"
check "net.delay on the server: curl's time_connect did not ($(field 1 "$out"))" \
    between 0 "$(field 1 "$out")" 0.1
check "net.delay lport=$P: the server on port $P2 answers at once ($(field 2 "$other"))" \
    between 0 "$(field 2 "$other")" 0.15

id=$("$FAULTLINE" enable -s "$name" "net.bandwidth rate=500KiB/s lport=$P")
out=$(get "$P" 1m.bin)
"$FAULTLINE" disable -s "$name" "$id" >/dev/null
echo "      rate=500KiB/s: $out"
check "net.bandwidth on the server: curl's speed_download 500 KiB/s +-5% ($(field 4 "$out"))" \
    between 486400 "$(field 4 "$out")" 537600
expect_eq "net.bandwidth on the server: content intact" "$SHA_1M" "$(got_sha)"

id=$("$FAULTLINE" enable -s "$name" "net.reset bytes=100KiB lport=$P")
out=$(get "$P" 2m.bin)
rc=$?
other=$(get "$P2" 2m.bin)
"$FAULTLINE" disable -s "$name" "$id" >/dev/null
echo "      reset: $out"
expect_eq "net.reset on the server: curl exit 56" 56 "$rc"
expect_match "net.reset on the server: curl says 'Connection reset by peer'" \
    'Recv failure: Connection reset by peer' "$out"
check "net.reset on the server: curl got about 100 KiB ($(field 5 "${out##*$'\n'}") bytes)" \
    between 100000 "$(field 5 "${out##*$'\n'}")" 102400
expect_eq "net.reset lport=$P: the server on port $P2 sends it all" 2097152 "$(field 5 "$other")"

id=$("$FAULTLINE" enable -s "$name" "net.slice max=100 lport=$P")
out=$(get "$P" 1m.bin)
rc=$?
injected=$("$FAULTLINE" list -s "$name" | awk -v id="$id" '$1 == id {print $6}')
"$FAULTLINE" disable -s "$name" "$id" >/dev/null
expect_eq "net.slice on the server: curl exits 0" 0 "$rc"
expect_eq "net.slice on the server: content intact" "$SHA_1M" "$(got_sha)"
check "net.slice on the server: the sends were cut to 100 bytes (${injected:-0} cut, 10000 at least)" \
    test "${injected:-0}" -ge 10000

out=$(get "$P" 2m.bin)
expect_eq "after disable: the server sends it all" 2097152 "$(field 5 "$out")"
expect_eq "after disable: content intact" "$SHA_2M" "$(got_sha)"
