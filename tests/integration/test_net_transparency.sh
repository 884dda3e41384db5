# Transparency of the network hooks (docs/rules.md "Network" filters;
# docs/pitfalls.md item 12:
# every data path of a socket is hooked, so a hook that mishandles one
# breaks real programs): curl, wget and python3 (urllib) download 2 MiB
# from python3's http.server, and python3's asyncio echoes lines,
#  - bare (no shim),
#  - under `faultline run` with no rule,
#  - under rules that match nothing they do: net.delay delay=1s
#    peer=10.9.9.9, net.reset lport=1, net.loss p=100% proto=udp,
#    net.dns host=*.nowhere (the hooks take their slow path on every call);
# and every time the content is identical (sha256), exit status 0, and the
# download takes < 0.5 s (a 1 s delay applied by mistake would show).
source "$(dirname "${BASH_SOURCE[0]}")/net_lib.sh"
net_data
http_server PORT
echo_server EPORT
URL=http://127.0.0.1:$PORT/2m.bin
NOMATCH=(-r 'net.delay delay=1s peer=10.9.9.9' -r 'net.reset lport=1'
    -r 'net.loss p=100% proto=udp' -r 'net.dns host=*.nowhere')

cat >"$TEST_TMP/clients.py" <<'EOF'
# clients.py URL ECHO_PORT OUT: urllib download to OUT, then an asyncio echo
# of 50 lines; prints the download's time and what the echo got back.
import asyncio, sys, time, urllib.request
t = time.monotonic()
with urllib.request.urlopen(sys.argv[1], timeout=10) as r:
    open(sys.argv[3], "wb").write(r.read())
print(f"urllib={time.monotonic() - t:.3f}")
async def echo():
    r, w = await asyncio.open_connection("127.0.0.1", int(sys.argv[2]))
    ok = 0
    for i in range(50):
        w.write(b"line %d\n" % i)
        ok += await asyncio.wait_for(r.readline(), 5) == b"LINE %d\n" % i
    w.close()
    return ok
print(f"echo={asyncio.run(echo())}")
EOF

# clients LABEL PREFIX...: every client under PREFIX.
clients() {
    local label=$1 out
    shift
    out=$(timeout 20 "$@" curl -sS -o "$TEST_TMP/c.bin" -w '%{time_total}' "$URL" 2>&1)
    expect_eq "$label: curl exits 0" 0 $?
    expect_eq "$label: curl's content identical" "$SHA_2M" "$(sha "$TEST_TMP/c.bin")"
    check "$label: curl's time_total < 0.5 s ($out)" between 0 "$out" 0.5
    rm -f "$TEST_TMP/w.bin"
    local t0=$EPOCHREALTIME
    timeout 20 "$@" wget -q --tries=1 -O "$TEST_TMP/w.bin" "$URL"
    expect_eq "$label: wget exits 0" 0 $?
    local t
    t=$(calc "$EPOCHREALTIME - $t0")
    expect_eq "$label: wget's content identical" "$SHA_2M" "$(sha "$TEST_TMP/w.bin")"
    check "$label: wget took < 0.5 s ($t)" between 0 "$t" 0.5
    out=$(timeout 30 "$@" "$PYTHON" "$TEST_TMP/clients.py" "$URL" "$EPORT" "$TEST_TMP/p.bin" 2>&1)
    expect_eq "$label: python3 exits 0" 0 $?
    expect_eq "$label: urllib's content identical" "$SHA_2M" "$(sha "$TEST_TMP/p.bin")"
    check "$label: urllib took < 0.5 s ($(kv urllib "$out"))" between 0 "$(kv urllib "$out")" 0.5
    expect_eq "$label: asyncio echoed all 50 lines" 50 "$(kv echo "$out")"
}

clients "bare"
clients "faultline run, no rule" "$FAULTLINE" run --
clients "non-matching net rules" "$FAULTLINE" run "${NOMATCH[@]}" --
