# Helpers for test_net_*.sh (sourced; not a test itself): local servers on
# 127.0.0.1 that pick their own free port (bind 0) and print it, killed by
# the EXIT trap net_lib installs; timing comparisons; test data.
#
# After sourcing: net_data (1 MiB and 2 MiB random files in $NET_WWW),
# http_server, echo_server, blast_server, plus the checks below. The trap
# also removes the sessions listed in NET_SESSIONS.

NET_PIDS=()
NET_SESSIONS=()
NET_WWW=$TEST_TMP/www
W_TIMES='%{time_connect} %{time_starttransfer} %{time_total} %{speed_download} %{size_download}'

net_cleanup() {
    local p
    for p in "${NET_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${NET_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    remove_sessions "${NET_SESSIONS[@]}"
    cleanup_tmp
}
trap net_cleanup EXIT

# sha FILE: FILE's sha256 (hex).
sha() { sha256sum <"$1" | cut -d' ' -f1; }

# Test data: $NET_WWW/1m.bin, 2m.bin (random) and their sha256 in SHA_1M, SHA_2M.
net_data() {
    mkdir -p "$NET_WWW"
    head -c 1048576 /dev/urandom >"$NET_WWW/1m.bin"
    head -c 2097152 /dev/urandom >"$NET_WWW/2m.bin"
    SHA_1M=$(sha "$NET_WWW/1m.bin")
    SHA_2M=$(sha "$NET_WWW/2m.bin")
}

# first_line FILE: waits (bounded) for FILE's first line, prints it.
first_line() {
    local i
    for i in $(seq 1 100); do
        if [ -s "$1" ] && [ "$(wc -l <"$1")" -ge 1 ]; then
            head -1 "$1"
            return 0
        fi
        sleep 0.05
    done
    return 1
}

# http_server VAR [PREFIX...]: starts `python3 -m http.server 0` serving
# $NET_WWW (under PREFIX, e.g. "$FAULTLINE" run -s NAME --) and sets VAR to
# the port it bound.
http_server() {
    local var=$1 log port
    shift
    log=$(mktemp "$TEST_TMP/http.XXXXXX")
    "$@" "$PYTHON" -u -m http.server 0 --bind 127.0.0.1 --directory "$NET_WWW" >"$log" 2>&1 &
    NET_PIDS+=("$!")
    port=$(first_line "$log" | sed -n 's/.* port \([0-9]*\) .*/\1/p')
    printf -v "$var" '%s' "${port:-0}"
}

# echo_server VAR: a threaded line server (each line comes back upper-cased).
echo_server() {
    local log
    log=$(mktemp "$TEST_TMP/echo.XXXXXX")
    "$PYTHON" -u -c '
import socketserver
class H(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(line.upper())
class S(socketserver.ThreadingTCPServer):
    daemon_threads = True
s = S(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()' >"$log" 2>&1 &
    NET_PIDS+=("$!")
    printf -v "$1" '%s' "$(first_line "$log")"
}

# blast_server VAR FILE: sends FILE to every connection, then closes it.
blast_server() {
    local log
    log=$(mktemp "$TEST_TMP/blast.XXXXXX")
    "$PYTHON" -u -c '
import socket, sys, threading
data = open(sys.argv[1], "rb").read()
ls = socket.socket()
ls.bind(("127.0.0.1", 0)); ls.listen(16); print(ls.getsockname()[1], flush=True)
def serve(c):
    try:
        c.sendall(data)
    except OSError:
        pass
    c.close()
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()' "$2" >"$log" 2>&1 &
    NET_PIDS+=("$!")
    printf -v "$1" '%s' "$(first_line "$log")"
}

# calc EXPR: a float expression, printed with 3 decimals.
# ("nan" when EXPR is not one, e.g. a figure is missing).
calc() { "$PYTHON" -c "print('%.3f' % ($1))" 2>/dev/null || echo nan; }

# field N TEXT: the Nth space-separated field of TEXT.
field() { cut -d' ' -f"$1" <<<"$2"; }

# kv KEY TEXT: the value of KEY=VALUE in TEXT (first one).
kv() { grep -o "\\b$1=[^ ]*" <<<"$2" | head -1 | cut -d= -f2-; }

# rusage CMD...: runs CMD (its output untouched; killed after 60 s) and
# leaves "rc=N wall=S cpu=S" (CMD's own user+system time, children
# included) in $TEST_TMP/rusage; returns CMD's status (124 on timeout).
rusage() {
    "$PYTHON" -c '
import resource, subprocess, sys, time
t0 = time.monotonic()
p = subprocess.Popen(sys.argv[2:])
try:
    rc = p.wait(60)
except subprocess.TimeoutExpired:
    p.kill(); p.wait(); rc = 124
rc = rc if rc >= 0 else 128 - rc
r = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write("rc=%d wall=%.3f cpu=%.3f\n" % (rc, time.monotonic() - t0, r.ru_utime + r.ru_stime))
sys.exit(rc)' "$TEST_TMP/rusage" "$@"
}
