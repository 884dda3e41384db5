# An experiment's processes (docs/experiments.md "What happens, in order"):
# nothing it started outlives it,
# not even what a killed script left behind; a [[process]] with shim = false
# joins the session (FAULTLINE_SESSION) without being faulted; one with
# role = "client" is under the shim, neither faulted nor paused, its
# exchanges the operations.

name=$(new_session)
pidfile=$TEST_TMP/orphan.pid
cat >"$TEST_TMP/procs.toml" <<TOML
[target]
# The script leaves a child behind and is killed at the end like any target.
command = "sleep 60 & echo \$! > $pidfile; wait"
[[process]]
command = ["$PYTHON", "-c", "import os, time; print('loader', os.environ.get('LD_PRELOAD', '-'), os.environ.get('FAULTLINE_SESSION', '-'), flush=True); bytearray(100 << 20); print('loader allocated', flush=True); time.sleep(60)"]
shim = false
[[phase]]
name = "oom"
duration = "1s"
rules = ["mem.fail min=64MiB"]
TOML
start=$(date +%s%N)
"$FAULTLINE" experiment "$TEST_TMP/procs.toml" -o "$TEST_TMP/procs.db" -s "$name" --quiet \
    >"$TEST_TMP/procs.out" 2>"$TEST_TMP/procs.err"
took=$((($(date +%s%N) - start) / 1000000))
check "the experiment ends within its phase plus the stop grace ($took ms)" test "$took" -lt 6000
orphan=$(cat "$pidfile" 2>/dev/null)
check "the script's background child was recorded" test -n "$orphan"
check "and it does not outlive the experiment" bash -c "! kill -0 $orphan 2>/dev/null"
expect_match "shim = false: in the session, LD_PRELOAD not set" "loader - $name" "$(cat "$TEST_TMP/procs.log")"
expect_match "shim = false: not faulted (100 MiB allocated under mem.fail min=64MiB)" "loader allocated" "$(cat "$TEST_TMP/procs.log")"
check "no session left behind" test ! -e "/dev/shm/faultline.$name"

# role = "client": under the shim, but no rule acts in it (100 MiB allocated
# under the whole run's mem.fail min=64MiB), a phase's pause does not stop it
# (a thread ticking every 20 ms never waits 250 ms or more, while the target
# is stopped 400 ms), and its exchanges with the target are the report's
# operations.
name=$(new_session)
portfile=$TEST_TMP/client.port
cat >"$TEST_TMP/client.toml" <<TOML
rules = ["mem.fail min=64MiB"]
[target]
command = ["$PYTHON", "-c", "import http.server as h\nclass H(h.BaseHTTPRequestHandler):\n    def do_GET(self):\n        self.send_response(200); self.send_header('Content-Length', '2'); self.end_headers(); self.wfile.write(b'ok')\n    def log_message(self, *a): pass\ns = h.ThreadingHTTPServer(('127.0.0.1', 0), H)\nopen('$portfile.tmp', 'w').write(str(s.server_port))\nimport os; os.rename('$portfile.tmp', '$portfile')\ns.serve_forever()"]
[[process]]
role = "client"
command = ["$PYTHON", "-c", "import os, threading, time, urllib.request\ngap = [0.0]\ndef tick():\n    last = time.monotonic()\n    while True:\n        time.sleep(0.02); now = time.monotonic(); gap[0] = max(gap[0], now - last); last = now\nthreading.Thread(target=tick, daemon=True).start()\nbytearray(100 << 20); print('client allocated', flush=True)\nwhile not os.path.exists('$portfile'): time.sleep(0.02)\nurl = 'http://127.0.0.1:%s/' % open('$portfile').read()\nend = time.monotonic() + 2.0\nn = 0\nwhile time.monotonic() < end:\n    urllib.request.urlopen(url, timeout=2).read(); n += 1; time.sleep(0.05)\nprint('client requests', n, 'maxgap_ms', int(gap[0] * 1000), flush=True)\ntime.sleep(60)"]
[[phase]]
name = "warm"
duration = "1s"
[[phase]]
name = "gc"
duration = "1500ms"
pause = "400ms"
TOML
"$FAULTLINE" experiment "$TEST_TMP/client.toml" -o "$TEST_TMP/client.db" -s "$name" --quiet \
    >"$TEST_TMP/client.out" 2>"$TEST_TMP/client.err"
log=$(cat "$TEST_TMP/client.log")
expect_match "role = client: not faulted (100 MiB allocated under mem.fail min=64MiB)" "client allocated" "$log"
gap=$(sed -n 's/.*maxgap_ms \([0-9]*\).*/\1/p' <<<"$log")
check "role = client: not stopped by the phase's pause (longest tick gap ${gap:-?} ms < 250)" test -n "$gap" -a "${gap:-999}" -lt 250
"$FAULTLINE" report -o "$TEST_TMP/client.db" --format json >"$TEST_TMP/client.json" 2>/dev/null
expect_eq "role = client: the report's operations are its exchanges" exchanges \
    "$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["source"])' "$TEST_TMP/client.json")"
n=$(sqlite3 "$TEST_TMP/client.db" "select count(*) from exchanges where ok = 1")
check "role = client: its requests recorded as successful exchanges ($n >= 10)" test "${n:-0}" -ge 10
check "no session left behind" test ! -e "/dev/shm/faultline.$name"
