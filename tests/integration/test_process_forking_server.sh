# A forking server under faultline run: python3's socketserver.ForkingTCPServer
# on 127.0.0.1, one forked child per connection (README.md "Commands":
# children join the session, live control; docs/pitfalls.md item 5 fork).
#
#  - forked children attach to the session: `faultline status` lists the
#    server's pid and each connection's child pid;
#  - a rule armed live reaches children forked before it was armed and
#    children forked after, and disarming it reaches them too;
#  - forked children draw from different random streams: two children
#    forked from the same parent state do not fail the same calls under p=
#    (docs/pitfalls.md item 5: re-seed on fork);
#  - `faultline run` ends when its target is killed and leaves the session
#    in place while the children live.
# The client is bash's /dev/tcp, every read bounded by `read -t 5`.

name=$(new_session)
server_pids=()
conns_cleanup() {
    local fd p
    for fd in ${conn_a:-} ${conn_b:-}; do exec {fd}>&- 2>/dev/null; done
    for p in "${server_pids[@]}"; do kill "$p" 2>/dev/null; done
    rm -f "/dev/shm/faultline.$name"
}
trap 'conns_cleanup; cleanup_tmp' EXIT

server=$TEST_TMP/server.py
cat >"$server" <<'EOF'
# Commands, one per line: "alloc N" -> "PID ok|MemoryError";
# "draws N SIZE" -> "PID 0110..." (1: the allocation succeeded); "quit".
import os, socketserver, sys

def attempt(size):
    try:
        block = bytearray(size)
        del block
        return True
    except MemoryError:
        return False

class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            words = line.split()
            if not words or words[0] == b"quit":
                break
            if words[0] == b"alloc":
                result = "ok" if attempt(int(words[1])) else "MemoryError"
            elif words[0] == b"draws":
                result = "".join("1" if attempt(int(words[2])) else "0"
                                 for _ in range(int(words[1])))
            else:
                result = "unknown"
            self.wfile.write(f"{os.getpid()} {result}\n".encode())
            self.wfile.flush()

class Server(socketserver.ForkingTCPServer):
    allow_reuse_address = True

with Server(("127.0.0.1", 0), Handler) as server:
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(f"{server.server_address[1]}\n")
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    print(f"server pid={os.getpid()}", flush=True)
    server.serve_forever()
EOF

port_file=$TEST_TMP/port
"$FAULTLINE" run -s "$name" -- "$PYTHON" "$server" "$port_file" >"$TEST_TMP/server.out" 2>&1 &
run_pid=$!
server_pids+=("$run_pid")
if ! wait_until test -s "$port_file"; then
    check "the server started" false
    sed 's/^/      | /' "$TEST_TMP/server.out"
    return 0
fi
port=$(cat "$port_file")
wait_until grep -q '^server pid=' "$TEST_TMP/server.out"
server_pid=$(sed -n 's/^server pid=//p' "$TEST_TMP/server.out")
server_pids+=("$server_pid")

# ask FD LINE: sends LINE on connection FD, prints the reply (5 s at most).
ask() {
    local reply=
    printf '%s\n' "$2" >&"$1" || return 1
    read -r -t 5 -u "$1" reply || reply="(no reply)"
    printf '%s\n' "$reply"
}

exec {conn_a}<>"/dev/tcp/127.0.0.1/$port"
reply=$(ask "$conn_a" "alloc 1000")
expect_match "child A answers without a rule" '^[0-9]+ ok$' "$reply"
child_a=${reply%% *}
check "child A is not the server itself" test "$child_a" != "$server_pid"

# The session lists the server and its forked child.
status_pids() {
    "$FAULTLINE" status -s "$name" --json |
        "$PYTHON" -c 'import json, sys; print(" ".join(str(p["pid"]) for p in json.load(sys.stdin)["processes"]))'
}
pids=" $(status_pids) "
expect_match "status lists the server pid ($server_pid)" " $server_pid " "$pids"
expect_match "status lists forked child A ($child_a)" " $child_a " "$pids"

# A rule armed now reaches A, forked before it.
id=$("$FAULTLINE" enable -s "$name" 'mem.fail min=64MiB name=big')
expect_eq "enable prints the id" 1 "$id"
expect_eq "child A (forked before enable) raises MemoryError" "$child_a MemoryError" \
    "$(ask "$conn_a" "alloc $((100 << 20))")"
expect_eq "child A still allocates 10 MiB" "$child_a ok" "$(ask "$conn_a" "alloc $((10 << 20))")"

# ...and B, forked after it.
exec {conn_b}<>"/dev/tcp/127.0.0.1/$port"
reply=$(ask "$conn_b" "alloc $((100 << 20))")
child_b=${reply%% *}
expect_eq "child B (forked after enable) raises MemoryError" "$child_b MemoryError" "$reply"
check "B is another process than A" test "$child_b" != "$child_a"
pids=" $(status_pids) "
expect_match "status lists forked child B ($child_b)" " $child_b " "$pids"
injected=$("$FAULTLINE" list -s "$name" --json | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)[0]["injected"])')
expect_eq "list: 2 injections, the 2 MemoryErrors the children raised" 2 "$injected"

check "disable big" "$FAULTLINE" disable -s "$name" big
expect_eq "child A allocates 100 MiB after disable" "$child_a ok" "$(ask "$conn_a" "alloc $((100 << 20))")"
expect_eq "child B allocates 100 MiB after disable" "$child_b ok" "$(ask "$conn_b" "alloc $((100 << 20))")"

# p=: A and B were forked from the same parent with no draw in between;
# re-seeded on fork, their 64 draws differ (identical by chance: 2^-64).
"$FAULTLINE" enable -s "$name" 'mem.fail min=1MiB max=2MiB p=50% name=coin' >/dev/null
draws_a=$(ask "$conn_a" "draws 64 $((1 << 20))")
draws_b=$(ask "$conn_b" "draws 64 $((1 << 20))")
expect_match "A drew 64 times" '^[0-9]+ [01]{64}$' "$draws_a"
expect_match "B drew 64 times" '^[0-9]+ [01]{64}$' "$draws_b"
check "A and B fail different calls under p=50%" test "${draws_a#* }" != "${draws_b#* }"
bits=${draws_a#* }${draws_b#* }
fails=${bits//1/}
check "p=50%: between 32 and 96 of 128 draws failed (${#fails})" test "${#fails}" -ge 32 -a "${#fails}" -le 96
"$FAULTLINE" disable -s "$name" coin

# Stop: the server (SIGTERM through faultline run), then the children.
kill -TERM "$run_pid"
for _ in $(seq 1 100); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.05; done
wait "$run_pid" 2>/dev/null
rc=$?
expect_eq "faultline run exits 128+SIGTERM when its target dies of it" 143 "$rc"
check "the session outlives faultline run while children live" test -e "/dev/shm/faultline.$name"
printf 'quit\n' >&"$conn_a"
printf 'quit\n' >&"$conn_b"
exec {conn_a}>&- {conn_b}>&-
conn_a= conn_b=
gone() { ! kill -0 "$child_a" 2>/dev/null && ! kill -0 "$child_b" 2>/dev/null; }
check "the children exit when their connection ends" wait_until gone
out=$("$FAULTLINE" gc)
expect_match "gc removes the session once the children are gone" "removed $name" "$out"
