# net.dns: getaddrinfo failures and delays as python3, curl and wget report
# them (docs/rules.md "Network" net.dns):
#  - python3 socket.getaddrinfo raises socket.gaierror with the errno the
#    rule names: EAI_AGAIN (-3, the default), EAI_NONAME (-2), EAI_FAIL (-4);
#  - host=GLOB selects names, case-insensitively: under host=*.internal,
#    localhost and 127.0.0.1 still resolve; under host=localhost,
#    127.0.0.1 still resolves;
#  - delay= alone makes getaddrinfo slow (300 ms in python3's own timing)
#    and still succeed;
#  - curl exit 6 "Could not resolve host"; wget exit 4 "unable to resolve
#    host address", while a name the glob does not match downloads.
source "$(dirname "${BASH_SOURCE[0]}")/net_lib.sh"
net_data
http_server PORT

cat >"$TEST_TMP/dns.py" <<'EOF'
import socket, sys, time
for h in sys.argv[1:]:
    t = time.monotonic()
    try:
        r = socket.getaddrinfo(h, 80, socket.AF_INET, socket.SOCK_STREAM)
        print(f"{h} ok {r[0][4][0]} t={time.monotonic() - t:.3f}")
    except socket.gaierror as e:
        print(f"{h} gaierror {e.errno} {e.strerror} t={time.monotonic() - t:.3f}")
EOF
# resolve RULE NAME...: python3's view of each NAME under RULE ('' = no rule).
resolve() {
    local rule=$1
    shift
    if [ -n "$rule" ]; then
        timeout 20 "$FAULTLINE" run -r "$rule" -- "$PYTHON" "$TEST_TMP/dns.py" "$@" 2>&1
    else
        timeout 20 "$PYTHON" "$TEST_TMP/dns.py" "$@" 2>&1
    fi
}
line() { grep "^$1 " <<<"$2" | cut -d' ' -f2-; }

out=$(resolve '' localhost db.internal)
expect_match "no rule: localhost resolves" '^ok 127\.0\.0\.1' "$(line localhost "$out")"
expect_match "no rule: db.internal does not exist (EAI_NONAME, -2)" '^gaierror -2 ' "$(line db.internal "$out")"

out=$(resolve 'net.dns host=*.internal' localhost 127.0.0.1 db.internal DB.Internal)
expect_match "host=*.internal: db.internal: gaierror EAI_AGAIN (-3)" \
    '^gaierror -3 Temporary failure in name resolution' "$(line db.internal "$out")"
expect_match "host=*.internal: DB.Internal too (case-insensitive)" '^gaierror -3 ' "$(line DB.Internal "$out")"
expect_match "host=*.internal: localhost still resolves" '^ok 127\.0\.0\.1' "$(line localhost "$out")"
expect_match "host=*.internal: 127.0.0.1 still resolves" '^ok 127\.0\.0\.1' "$(line 127.0.0.1 "$out")"

out=$(resolve 'net.dns host=localhost error=EAI_NONAME' localhost 127.0.0.1)
expect_match "error=EAI_NONAME: localhost: gaierror -2 'Name or service not known'" \
    '^gaierror -2 Name or service not known' "$(line localhost "$out")"
expect_match "host=localhost: 127.0.0.1 still resolves" '^ok 127\.0\.0\.1' "$(line 127.0.0.1 "$out")"

out=$(resolve 'net.dns host=localhost error=EAI_FAIL' localhost)
expect_match "error=EAI_FAIL: gaierror -4 'Non-recoverable failure'" \
    '^gaierror -4 Non-recoverable failure' "$(line localhost "$out")"

out=$(resolve 'net.dns host=localhost delay=300ms' localhost 127.0.0.1)
l=$(line localhost "$out")
expect_match "delay=300ms alone: localhost still resolves" '^ok 127\.0\.0\.1' "$l"
check "delay=300ms alone: ... in 300 ms by python3's clock ($(kv t "$l"))" between 0.295 "$(kv t "$l")" 0.4
l=$(line 127.0.0.1 "$out")
check "delay=300ms host=localhost: 127.0.0.1 is not slowed ($(kv t "$l"))" between 0 "$(kv t "$l")" 0.1

out=$(timeout 20 "$FAULTLINE" run -r 'net.dns host=*.internal' -- \
    curl -sS -o /dev/null "http://db.internal:$PORT/1m.bin" 2>&1)
expect_eq "curl: exit 6 under net.dns" 6 $?
expect_match "curl: 'Could not resolve host: db.internal'" 'Could not resolve host: db.internal' "$out"

out=$(timeout 20 "$FAULTLINE" run -r 'net.dns host=localhost' -- \
    wget --tries=1 -O /dev/null "http://localhost:$PORT/1m.bin" 2>&1)
expect_eq "wget: exit 4 under net.dns host=localhost" 4 $?
expect_match "wget: 'unable to resolve host address'" "Temporary failure in name resolution.*unable to resolve host address" "$(tr '\n' ' ' <<<"$out")"
timeout 20 "$FAULTLINE" run -r 'net.dns host=*.internal' -- \
    wget -q --tries=1 -O "$TEST_TMP/w.bin" "http://localhost:$PORT/1m.bin"
expect_eq "wget: localhost, which host=*.internal does not match, downloads" 0 $?
expect_eq "wget: content intact" "$SHA_1M" "$(sha "$TEST_TMP/w.bin")"
