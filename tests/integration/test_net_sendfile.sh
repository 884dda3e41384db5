# Data moved inside the kernel is faulted like a send (docs/pitfalls.md item
# 21): stock Debian nginx with `sendfile on` serves its files with
# sendfile64, which net.bandwidth paces and net.reset cuts; splice into a
# socket is paced too. What a kind cannot do to such a call (net.corrupt on
# a splice out of a socket: the data never reaches the program's memory)
# is said once on stderr and in `status`. sendfile and copy_file_range from
# a file to a regular file are never touched.

source ./net_lib.sh

free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# -- nginx, sendfile on ------------------------------------------------------------
if ! command -v nginx >/dev/null; then
    check "nginx installed (nginx-light, scripts/install-deps)" false
    return 0
fi
ng=$TEST_TMP/nginx
mkdir -p "$ng/www" "$ng/tmp" "$ng/logs"
head -c 4194304 /dev/urandom >"$ng/www/4m.bin"
sha_4m=$(sha "$ng/www/4m.bin")
port=$(free_port)
cat >"$ng/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
error_log $ng/logs/error.log;
pid $ng/logs/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    sendfile on;
    client_body_temp_path $ng/tmp/body;
    proxy_temp_path $ng/tmp/proxy;
    fastcgi_temp_path $ng/tmp/fastcgi;
    uwsgi_temp_path $ng/tmp/uwsgi;
    scgi_temp_path $ng/tmp/scgi;
    server {
        listen 127.0.0.1:$port;
        root $ng/www;
    }
}
EOF
session=$(new_session)
NET_SESSIONS+=("$session")
"$FAULTLINE" run -o none -s "$session" -- nginx -p "$ng" -e "$ng/logs/error.log" \
    -c "$ng/nginx.conf" >"$ng/run.log" 2>&1 &
NET_PIDS+=("$!")
up() { curl -s -o /dev/null -m 1 "http://127.0.0.1:$port/"; }
check "nginx starts under faultline run" wait_until up
url=http://127.0.0.1:$port/4m.bin
fetch() { # prints "size time_total sha256 curl-status"
    local got=$TEST_TMP/got rc
    rm -f "$got"
    out=$(curl -s -m 20 -o "$got" -w '%{size_download} %{time_total}' "$url")
    rc=$?
    echo "$out $( [ -f "$got" ] && sha "$got" || echo none) $rc"
}
plain=$(fetch)
check "unfaulted: 4 MiB in well under a second ($(field 2 "$plain") s)" between 0 "$(field 2 "$plain")" 1

"$FAULTLINE" enable -s "$session" 'net.bandwidth rate=1MiB/s' >/dev/null
paced=$(fetch)
expect_eq "net.bandwidth rate=1MiB/s: the whole file, intact" "4194304 $sha_4m 0" \
    "$(field 1 "$paced") $(field 3 "$paced") $(field 4 "$paced")"
check "... in about 4 s as curl measures it ($(field 2 "$paced") s)" \
    between 3.8 "$(field 2 "$paced")" 4.5
calls=$("$FAULTLINE" status -s "$session" --json | "$PYTHON" -c '
import json, sys
f = {x["function"]: x for x in json.load(sys.stdin)["functions"]}
print(f["net.sendfile64"]["calls"] + f["net.sendfile"]["calls"])')
check "... nginx moved it with sendfile ($calls calls counted)" test "${calls:-0}" -gt 0
"$FAULTLINE" disable -s "$session" --all >/dev/null

"$FAULTLINE" enable -s "$session" 'net.reset bytes=1MiB' >/dev/null
cut=$(fetch)
check "net.reset bytes=1MiB: curl sees the connection die (status $(field 4 "$cut"))" \
    test "$(field 4 "$cut")" -ne 0
check "... after at most 1 MiB of the body ($(field 1 "$cut") bytes)" \
    test "$(field 1 "$cut")" -le 1048576
"$FAULTLINE" disable -s "$session" --all >/dev/null

"$FAULTLINE" enable -s "$session" 'net.partition' >/dev/null
held=$(curl -s -m 1 -o /dev/null -w '%{size_download}' "$url")
expect_eq "net.partition: nothing of the file arrives while it holds" "0" "$held"
"$FAULTLINE" disable -s "$session" --all >/dev/null
after=$(fetch)
expect_eq "disabled: the whole file again" "4194304 $sha_4m 0" \
    "$(field 1 "$after") $(field 3 "$after") $(field 4 "$after")"

# -- splice into a socket, and out of one ----------------------------------------
net_data
blast_server bport "$NET_WWW/1m.bin"
splice_py=$TEST_TMP/splice.py
cat >"$splice_py" <<'PY'
import hashlib, os, socket, sys, time
mode, port = sys.argv[1], int(sys.argv[2])
if mode == "send":  # 1 MiB from a pipe into a socket, timed; the peer hashes it
    l = socket.socket()
    l.bind(("127.0.0.1", 0)); l.listen(1)
    pid = os.fork()
    if pid == 0:
        c, _ = l.accept()
        h, n = hashlib.sha256(), 0
        while chunk := c.recv(65536):
            h.update(chunk); n += len(chunk)
        print(n, h.hexdigest(), flush=True)
        os._exit(0)
    s = socket.create_connection(l.getsockname())
    data = open(sys.argv[3], "rb").read()
    r, w = os.pipe()
    t = time.monotonic()
    for i in range(0, len(data), 65536):
        os.write(w, data[i:i + 65536])
        left = 65536
        while left:
            left -= os.splice(r, s.fileno(), left)
    s.close()
    os.waitpid(pid, 0)
    print("%.3f" % (time.monotonic() - t), flush=True)
else:  # a socket spliced into a pipe, read back and hashed
    s = socket.create_connection(("127.0.0.1", port))
    r, w = os.pipe()
    h, n = hashlib.sha256(), 0
    while (k := os.splice(s.fileno(), w, 65536)) > 0:
        h.update(os.read(r, k)); n += k
    print(n, h.hexdigest(), flush=True)
    open(sys.argv[3], "w").write("done\n")
    time.sleep(30)  # the session lives on for status
PY
out=$("$FAULTLINE" run -o none -r 'net.bandwidth rate=512KiB/s dir=send' -- "$PYTHON" "$splice_py" send 0 \
    "$NET_WWW/1m.bin" 2>&1)
expect_eq "splice into a socket under net.bandwidth: the peer gets it all" "1048576 $SHA_1M" \
    "$(head -1 <<<"$out")"
took=$(tail -1 <<<"$out")
check "... paced: 1 MiB at 512 KiB/s in about 2 s ($took s)" between 1.9 "$took" 2.5

session2=$(new_session)
NET_SESSIONS+=("$session2")
"$FAULTLINE" run -o none -s "$session2" -r 'net.corrupt' -- "$PYTHON" "$splice_py" recv "$bport" \
    "$TEST_TMP/spliced" >"$TEST_TMP/splice.out" 2>"$TEST_TMP/splice.err" &
NET_PIDS+=("$!")
check "splice out of a socket under net.corrupt runs" wait_until test -s "$TEST_TMP/spliced"
expect_eq "... the data arrives intact: net.corrupt cannot flip what the program never holds" \
    "1048576 $SHA_1M" "$(head -1 "$TEST_TMP/splice.out")"
said=$(grep -c 'net.corrupt cannot act on splice' "$TEST_TMP/splice.err")
expect_eq "... and says so on stderr, once" 1 "$said"
status=$("$FAULTLINE" status -s "$session2" --json | "$PYTHON" -c '
import json, sys; print(" ".join(json.load(sys.stdin)["unacted_kinds"]))')
expect_eq "... and in status" "net.corrupt" "$status"
expect_match "... also in the status table" 'unacted +net.corrupt' \
    "$("$FAULTLINE" status -s "$session2")"

# -- file to file: never a network call ------------------------------------------
copy_py='
import os, sys, time
src, dst = sys.argv[1], sys.argv[2]
t = time.monotonic()
with open(src, "rb") as i, open(dst + ".sf", "wb") as o:
    off, size = 0, os.fstat(i.fileno()).st_size
    while off < size:
        off += os.sendfile(o.fileno(), i.fileno(), off, size - off)
with open(src, "rb") as i, open(dst + ".cfr", "wb") as o:
    while os.copy_file_range(i.fileno(), o.fileno(), 1 << 20):
        pass
print("%.3f" % (time.monotonic() - t))'
took=$("$FAULTLINE" run -o none -r 'net.bandwidth rate=64KiB/s' -r 'net.reset' \
    -r 'net.delay delay=1s on=send' -- "$PYTHON" -c "$copy_py" "$NET_WWW/2m.bin" "$TEST_TMP/copy")
expect_eq "sendfile from a file to a regular file: copied as is under send faults" "$SHA_2M" \
    "$(sha "$TEST_TMP/copy.sf")"
expect_eq "copy_file_range between files: copied as is" "$SHA_2M" "$(sha "$TEST_TMP/copy.cfr")"
check "... at once, neither paced nor delayed ($took s for 2 x 2 MiB)" between 0 "$took" 0.5
