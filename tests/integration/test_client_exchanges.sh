# Clients (`faultline run --client -s NAME -- CMD`): never faulted, observed;
# their TCP exchanges are the session's operations in the report
# ("source": "exchanges"). Asserted against what real clients measured
# themselves:
#
# 1. ab against memstore (examples/memstore), a mem.fail rule on the server
#    turning about 30% of the searches into 503s (allocations of 1700-1800
#    bytes: the json of the search's answer, ~1.7 KB with 20 memories): the
#    report's operations agree with ab's Complete requests within 2%, its
#    success rate with ab's (Complete - Non-2xx - Failed) / Complete within
#    3 points, and ab did see Non-2xx responses. ab runs with -l: without
#    it, every answer whose length differs from the first is a "Failed
#    (Length)" besides a Non-2xx. The rule fails that json alone, so that
#    every failure is a whole 503: a connection that ends with no answer
#    (a rule failing memstore's reads or writes) is counted by ab oddly (with
#    -l as a success; its Exceptions also among the Complete requests).
# 2. p50 against ab's (integer ms, connect included) within 10%, on a
#    python3 server whose every answer takes 30 ms.
# 3. p50 against redis-benchmark's (--csv) within 10%, redis-server under
#    net.delay delay=2ms on=send lport=PORT.
# 4. A client is never faulted: net.refuse armed without proc=, a client
#    curl to a server outside the session gets its page, a curl in the
#    session (not a client) is refused (exit 7). A client that exit()s with
#    a request unanswered and its socket open: one no-response exchange,
#    recorded by the client run itself (-o: nobody else records).
# 5. Failures are counted: 20 client curls to a port where nothing listens
#    (curl says 7 each time): `status` counts 20 exchanges, 20 failed, live;
#    the report says 20 operations, 0% success, and the exchanges are
#    connect failures.
# 6. Bad input: no -s (and no FAULTLINE_SESSION) exits 2; -r with --client
#    exits 2; a session that does not exist fails with its name.

trap 'cleanup_test' EXIT
free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# ab_field LABEL FILE: the number after "LABEL:" in ab's output (0 if absent:
# ab prints no Non-2xx line when there were none).
ab_field() { sed -n "s/^$1: *\([0-9]*\).*/\1/p" "$2" | head -1 | grep . || echo 0; }
# idle_session OUTPUT LABEL: a session held open by `sleep 30` under
# faultline run (recording into OUTPUT, or none), for clients to join; sets
# $session and $session_run (the run's pid).
idle_session() {
    session=$(new_session)
    TEST_SESSIONS+=("$session")
    "$FAULTLINE" run -s "$session" -o "$1" -- sleep 30 &
    session_run=$!
    TEST_PIDS+=("$session_run")
    check "$2" wait_until test -e "/dev/shm/faultline.$session"
}
ab_p50() { sed -n 's/^ *50% *\([0-9]*\).*/\1/p' "$1" | head -1; }
# json_summary FILE: "source ops failed p50_ms", ops and failed summed over the report's windows
# (p50 of the window with the most operations), and its source.
json_summary() {
    "$PYTHON" -c '
import json, sys
r = json.load(open(sys.argv[1]))
ws = r["windows"]
ops = sum(w["ops"] for w in ws)
failed = sum(w["failed"] for w in ws)
big = max(ws, key=lambda w: w["ops"])
print(r["source"], ops, failed, big["p50_ms"] if big["p50_ms"] is not None else "none")' "$1" 2>&1
}
# stop_run PID: SIGTERM to a `faultline run` (it passes it on), bounded wait.
stop_run() { kill -TERM "$1" 2>/dev/null; wait_pid "$1" 10; }

# -- 1. ab against memstore, 503s from mem.fail ----------------------------------
s1=$(new_session)
TEST_SESSIONS+=("$s1")
p1=$(free_port)
p1u=$(free_port)
db1=$TEST_TMP/memstore.db
(cd "$ROOT" && exec "$FAULTLINE" run -s "$s1" -o "$db1" -- examples/memstore/run-service.sh \
    --port "$p1" --upstream-port "$p1u") >"$TEST_TMP/memstore.log" 2>&1 &
run1=$!
TEST_PIDS+=("$run1")
health() { curl -s -o /dev/null -m 1 -f "http://127.0.0.1:$p1/health"; }
up=0
for _ in $(seq 100); do health && { up=1; break; }; sleep 0.1; done
check "memstore starts under faultline run (port $p1)" test "$up" = 1
for i in $(seq 20); do
    curl -s -o /dev/null -m 2 -X POST -d "{\"text\": \"the river runs $i\"}" \
        "http://127.0.0.1:$p1/memories"
done
"$FAULTLINE" enable -s "$s1" 'mem.fail proc=memstore min=1700 max=1800 p=30%' >/dev/null
ab1=$TEST_TMP/ab1.txt
timeout -k 2 20 "$FAULTLINE" run --client -s "$s1" -- \
    ab -l -n 400 -c 4 "http://127.0.0.1:$p1/memories?q=river" >"$ab1" 2>&1
expect_eq "ab ran as a client (exit 0)" 0 $?
injected=$("$FAULTLINE" status -s "$s1" --json | "$PYTHON" -c '
import json, sys
print(sum(f["injected"] for f in json.load(sys.stdin)["functions"]))' 2>/dev/null)
stop_run "$run1"
complete=$(ab_field 'Complete requests' "$ab1")
failed=$(ab_field 'Failed requests' "$ab1")
non2xx=$(ab_field 'Non-2xx responses' "$ab1")
check "ab saw Non-2xx responses ($non2xx of $complete; $injected injections in memstore)" \
    test "$non2xx" -gt 0 -a "$non2xx" -lt $((complete / 2))
"$FAULTLINE" report -o "$db1" --format json >"$TEST_TMP/r1.json" 2>"$TEST_TMP/r1.err"
read -r src1 ops1 fail1 p50_1 <<<"$(json_summary "$TEST_TMP/r1.json")"
expect_eq "the report's operations are the exchanges" exchanges "$src1"
check "report ops ($ops1) = ab's Complete requests ($complete) within 2%" \
    "$PYTHON" -c 'import sys; a, b = map(float, sys.argv[1:]); sys.exit(not (b > 0 and abs(a - b) <= 0.02 * b))' \
    "${ops1:-x}" "$complete"
ab_ok=$("$PYTHON" -c 'import sys; c, n, f = map(int, sys.argv[1:]); print("%.4f" % ((c - n - f) / c))' \
    "$complete" "$non2xx" "$failed" 2>/dev/null)
rep_ok=$("$PYTHON" -c 'import sys; o, f = map(int, sys.argv[1:]); print("%.4f" % ((o - f) / o))' \
    "${ops1:-0}" "${fail1:-0}" 2>/dev/null)
check "report success rate ($rep_ok) = ab's ($ab_ok: $non2xx Non-2xx, $failed failed) within 3 points" \
    "$PYTHON" -c 'import sys; a, b = map(float, sys.argv[1:]); sys.exit(not abs(a - b) <= 0.03)' \
    "${rep_ok:-x}" "${ab_ok:-y}"
n5xx=$(sqlite3 "$db1" "SELECT count(*) FROM exchanges WHERE failure = 'http-5xx' AND http_status = 503")
expect_eq "the exchanges table holds ab's 503s as http-5xx" "$non2xx" "$n5xx"
expect_eq "the report counts them so, by what they said (json failures)" "$non2xx" \
    "$("$PYTHON" -c 'import json,sys; print(sum(w["failures"].get("http-5xx", 0) for w in json.load(open(sys.argv[1]))["windows"]))' "$TEST_TMP/r1.json")"
"$FAULTLINE" report -o "$db1" >"$TEST_TMP/r1.txt"
check "... and the table says why they failed (http-5xx $non2xx)" grep -q "http-5xx $non2xx" "$TEST_TMP/r1.txt"

# -- 2. p50 against ab's, 30 ms answers ---------------------------------------------
s2=$(new_session)
TEST_SESSIONS+=("$s2")
p2=$(free_port)
db2=$TEST_TMP/slow.db
"$FAULTLINE" run -s "$s2" -o "$db2" -- "$PYTHON" -c '
import http.server, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(0.03)
        body = b"slow\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
s.daemon_threads = True
s.serve_forever()' "$p2" >"$TEST_TMP/slow.log" 2>&1 &
run2=$!
TEST_PIDS+=("$run2")
check "the slow server starts (port $p2)" wait_until curl -s -o /dev/null -m 1 "http://127.0.0.1:$p2/"
ab2=$TEST_TMP/ab2.txt
timeout -k 2 20 "$FAULTLINE" run --client -s "$s2" -- ab -n 80 -c 4 "http://127.0.0.1:$p2/" >"$ab2" 2>&1
expect_eq "ab ran as a client (exit 0)" 0 $?
stop_run "$run2"
"$FAULTLINE" report -o "$db2" --format json >"$TEST_TMP/r2.json" 2>"$TEST_TMP/r2.err"
read -r src2 ops2 fail2 p50_2 <<<"$(json_summary "$TEST_TMP/r2.json")"
ab2_p50=$(ab_p50 "$ab2")
expect_eq "80 operations, none failed ($(ab_field 'Complete requests' "$ab2") complete for ab)" \
    "exchanges 80 0" "$src2 $ops2 $fail2"
check "report p50 ($p50_2 ms) = ab's ($ab2_p50 ms) within 10%" \
    "$PYTHON" -c 'import sys; a, b = map(float, sys.argv[1:]); sys.exit(not (b >= 20 and abs(a - b) <= 0.1 * b))' \
    "${p50_2:-x}" "${ab2_p50:-y}"

# -- 3. p50 against redis-benchmark's, net.delay on the server ---------------------
s3=$(new_session)
TEST_SESSIONS+=("$s3")
p3=$(free_port)
db3=$TEST_TMP/redis.db
"$FAULTLINE" run -s "$s3" -o "$db3" -- redis-server --port "$p3" --bind 127.0.0.1 --save '' \
    --appendonly no >"$TEST_TMP/redis.log" 2>&1 &
run3=$!
TEST_PIDS+=("$run3")
check "redis-server starts under faultline run (port $p3)" \
    wait_until sh -c "redis-cli -p $p3 ping 2>/dev/null | grep -q PONG"
"$FAULTLINE" enable -s "$s3" "net.delay delay=2ms on=send lport=$p3" >/dev/null
rb=$TEST_TMP/rb.csv
timeout -k 2 20 "$FAULTLINE" run --client -s "$s3" -- redis-benchmark -p "$p3" -t get -n 2000 -c 10 \
    --csv >"$rb" 2>"$TEST_TMP/rb.err"
expect_eq "redis-benchmark ran as a client (exit 0)" 0 $?
stop_run "$run3"
rb_p50=$("$PYTHON" -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print([r for r in rows if r["test"] == "GET"][0]["p50_latency_ms"])' "$rb" 2>/dev/null)
"$FAULTLINE" report -o "$db3" --format json >"$TEST_TMP/r3.json" 2>"$TEST_TMP/r3.err"
read -r src3 ops3 fail3 p50_3 <<<"$(json_summary "$TEST_TMP/r3.json")"
check "about 2000 operations from redis-benchmark ($src3: $ops3, $fail3 failed)" \
    test "$src3" = exchanges -a "${ops3:-0}" -ge 2000 -a "${ops3:-0}" -le 2040 -a "${fail3:-1}" -eq 0
check "report p50 ($p50_3 ms) = redis-benchmark's ($rb_p50 ms) within 10%" \
    "$PYTHON" -c 'import sys; a, b = map(float, sys.argv[1:]); sys.exit(not (b >= 1.5 and abs(a - b) <= 0.1 * b))' \
    "${p50_3:-x}" "${rb_p50:-y}"

# -- 4. a client is never faulted ----------------------------------------------------
p4=$(free_port)
"$PYTHON" -m http.server "$p4" --bind 127.0.0.1 --directory "$TEST_TMP" >/dev/null 2>&1 &
TEST_PIDS+=("$!")
check "a server outside any session (port $p4)" wait_until curl -s -o /dev/null -m 1 "http://127.0.0.1:$p4/"
idle_session none "a session to join"
s4=$session run4=$session_run
"$FAULTLINE" enable -s "$s4" 'net.refuse' >/dev/null
got=$(timeout -k 2 10 "$FAULTLINE" run --client -s "$s4" -o none -- \
    curl -s -o /dev/null -m 3 -w '%{http_code}' "http://127.0.0.1:$p4/")
expect_eq "net.refuse armed: a client curl gets its page (exit, http code)" "0 200" "$? $got"
got=$(timeout -k 2 10 "$FAULTLINE" run -s "$s4" -o none -- \
    curl -s -o /dev/null -m 3 -w '%{http_code}' "http://127.0.0.1:$p4/")
expect_eq "... a curl in the session, not a client, is refused (exit, http code)" "7 000" "$? $got"
# A client that exits (libc exit(), not _exit) without closing its
# connections: the one that had its answer is an exchange, ok; the one
# still waiting for its answer was abandoned, and is none. The session is
# recorded by nobody: the client run records it (-o).
mute=$(free_port)
"$PYTHON" -c '
import socket, sys, time
l = socket.socket(); l.bind(("127.0.0.1", int(sys.argv[1]))); l.listen(8)
keep = []
while True:
    keep.append(l.accept()[0])' "$mute" &
TEST_PIDS+=("$!")
check "a server that never answers (port $mute)" wait_until "$PYTHON" -c '
import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1]))).close()' "$mute"
timeout -k 2 10 "$FAULTLINE" run --client -s "$s4" -o "$TEST_TMP/exit.db" -- "$PYTHON" -c '
import ctypes, socket, sys
a = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
a.sendall(b"GET / HTTP/1.0\r\n\r\n")
while b"\r\n\r\n" not in a.recv(65536): pass
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
ctypes.CDLL(None).exit(0)' "$mute" "$p4"
expect_eq "a client exiting with both open: the answered one counted ok, the unanswered none" \
    "1 1 200" \
    "$(sqlite3 -separator " " "$TEST_TMP/exit.db" "SELECT count(*), sum(ok), group_concat(http_status) FROM exchanges")"
# A client falling back through a name's addresses (::1 refused: the
# server listens on 127.0.0.1 alone; then 127.0.0.1) failed no request:
# 3 curls, 3 exchanges, all ok (before: 6, half of them connect failures).
timeout -k 2 20 "$FAULTLINE" run --client -s "$s4" -o "$TEST_TMP/fallback.db" -- bash -c '
for i in 1 2 3; do curl -s -o /dev/null -m 3 --resolve "h.test:$1:[::1],127.0.0.1" "http://h.test:$1/"; done' _ "$p4"
expect_eq "curl falling back from ::1 to 127.0.0.1: 3 exchanges, 3 ok" "3 3" \
    "$(sqlite3 -separator " " "$TEST_TMP/fallback.db" "SELECT count(*), sum(ok) FROM exchanges")"
# A client that starts a program while a request is in flight (CPython's
# subprocess: vfork, then close_range in the child, in the parent's
# memory): its own connections are untouched; 10 keep-alive requests are
# 10 exchanges, all ok (before: 3, one of them failed).
ka=$(free_port)
"$PYTHON" -c '
import sys, http.server, socketserver
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()' "$ka" &
TEST_PIDS+=("$!")
check "a keep-alive HTTP/1.1 server (port $ka)" wait_until curl -s -o /dev/null -m 1 "http://127.0.0.1:$ka/"
timeout -k 2 20 "$FAULTLINE" run --client -s "$s4" -o "$TEST_TMP/spawn.db" -- "$PYTHON" -c '
import http.client, subprocess, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
for i in range(10):
    c.request("GET", "/")
    if i == 2: subprocess.run(["true"])
    c.getresponse().read()
c.close()' "$ka"
expect_eq "a client spawning a program mid-request: 10 exchanges, 10 ok" "10 10" \
    "$(sqlite3 -separator " " "$TEST_TMP/spawn.db" "SELECT count(*), sum(ok) FROM exchanges")"
stop_run "$run4"

# -- 5. failures are counted ---------------------------------------------------------
db5=$TEST_TMP/dead.db
idle_session "$db5" "a recorded session"
s5=$session run5=$session_run
dead=$(free_port)
timeout -k 2 20 "$FAULTLINE" run --client -s "$s5" -- bash -c '
for i in $(seq 20); do curl -s -o /dev/null -m 2 "http://127.0.0.1:$1/"; echo $?; done' _ "$dead" \
    >"$TEST_TMP/codes.txt"
expect_eq "curl said 7 (could not connect) 20 times" "20 7" "$(sort "$TEST_TMP/codes.txt" | uniq -c | awk '{print $1, $2}')"
expect_eq "status, live: the clients' 20 exchanges, 20 failed" "20 20" \
    "$("$FAULTLINE" status -s "$s5" --json | "$PYTHON" -c 'import json,sys; x=json.load(sys.stdin)["exchanges"]; print(x["ended"], x["failed"])')"
sleep 0.3
stop_run "$run5"
"$FAULTLINE" report -o "$db5" --format json >"$TEST_TMP/r5.json" 2>"$TEST_TMP/r5.err"
read -r src5 ops5 fail5 _ <<<"$(json_summary "$TEST_TMP/r5.json")"
expect_eq "the report: 20 operations, 20 failed (0% success)" "exchanges 20 20" "$src5 $ops5 $fail5"
expect_eq "... connect failures" "20 connect" \
    "$(sqlite3 -separator " " "$db5" "SELECT count(*), group_concat(DISTINCT failure) FROM exchanges")"

# A client killed between claiming a record of the exchange ring and
# publishing it (ring_claim does just that) blocks the ring only a second:
# the recorder gives the record up, counts it dropped, and stores what the
# next client exchanges (before: nothing more, ever, and 0 dropped).
db7=$TEST_TMP/stuck.db
idle_session "$db7" "a recorded session"
s7=$session run7=$session_run
expect_eq "a writer claims a record and dies" claimed "$("$TARGETS/ring_claim" "$s7" exchanges)"
timeout -k 2 20 "$FAULTLINE" run --client -s "$s7" -- bash -c '
for i in $(seq 5); do curl -s -o /dev/null -m 2 "http://127.0.0.1:$1/"; done' _ "$p4"
sleep 1.5
stop_run "$run7"
expect_eq "the next client's 5 exchanges stored, the lost record counted" "5 1" \
    "$(sqlite3 -separator " " "$db7" "SELECT (SELECT count(*) FROM exchanges), (SELECT dropped_outcomes FROM sessions)")"

# -- 6. bad input --------------------------------------------------------------------
err=$(env -u FAULTLINE_SESSION "$FAULTLINE" run --client -- true 2>&1)
rc=$?
expect_eq "--client without -s exits 2" 2 "$rc"
expect_match "... and says why" "-s" "$err"
err=$("$FAULTLINE" run --client -s "$s5" -r 'net.refuse' -- true 2>&1)
rc=$?
expect_eq "--client with -r exits 2" 2 "$rc"
expect_match "... and says a client is never faulted" "never faulted" "$err"
ghost=nosuch$$
err=$("$FAULTLINE" run --client -s "$ghost" -- true 2>&1)
rc=$?
check "--client in a session that does not exist fails (exit $rc)" test "$rc" -ne 0
expect_match "... naming it" "$ghost" "$err"
