# What run and experiment do about signals and children, on every way out:
#
#  - started by a parent that ignored SIGCHLD (inherited through exec, the
#    kernel then reaps children itself), run still exits with its command's
#    status, recording or not: a failed command never turns into exit 0;
#  - SIGINT sent to run's pid alone reaches the command (exit 130), and the
#    session is removed;
#  - the terminal's Ctrl-C (sent by the kernel to the whole foreground
#    group) reaches the command once, not twice;
#  - SIGINT to an experiment ends it early: exit 2 (inconclusive), "interrupted",
#    its target stopped, its session removed.

run_name=$(new_session)
exp_name=$(new_session)
sup_cleanup() {
    [ -n "${exp_pid:-}" ] && kill -KILL "$exp_pid" 2>/dev/null
    pkill -KILL -f "[s]leep 61[.]5" 2>/dev/null
    rm -f "/dev/shm/faultline.$run_name" "/dev/shm/faultline.$exp_name"
}
trap 'sup_cleanup; cleanup_tmp' EXIT

# -- a parent that ignored SIGCHLD -------------------------------------------------
# started_ignoring_sigchld ARGS...: faultline ARGS run from a parent that set
# SIGCHLD to SIG_IGN; prints its exit code.
started_ignoring_sigchld() {
    "$PYTHON" - "$FAULTLINE" "$@" <<'EOF'
import os, signal, sys
pid = os.fork()
if pid == 0:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    os.execv(sys.argv[1], sys.argv[1:])
print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
EOF
}
expect_eq "SIGCHLD ignored by the parent: run exits with the command's status (3)" 3 \
    "$(started_ignoring_sigchld run -o none -- sh -c 'exit 3')"
expect_eq "... while recording too" 3 \
    "$(started_ignoring_sigchld run -o "$TEST_TMP/chld.db" -- sh -c 'exit 3')"
expect_eq "... and 128+N when the command is killed (143)" 143 \
    "$(started_ignoring_sigchld run -o none -- sh -c 'kill -TERM $$')"

# -- SIGINT to run's pid ------------------------------------------------------------------
# Started with SIGINT at its default (a background job of this shell would
# ignore it, and so would its command).
code=$("$PYTHON" - "$FAULTLINE" "$run_name" <<'EOF'
import signal, subprocess, sys, time
p = subprocess.Popen([sys.argv[1], "run", "-s", sys.argv[2], "--", "sleep", "61.5"],
                     stdout=subprocess.DEVNULL,
                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
for _ in range(100):
    try:
        open(f"/dev/shm/faultline.{sys.argv[2]}").close()
        break
    except OSError:
        time.sleep(0.05)
time.sleep(0.2)
p.send_signal(signal.SIGINT)
try:
    print(p.wait(timeout=5))
except subprocess.TimeoutExpired:
    p.kill()
    subprocess.call(["pkill", "-KILL", "-f", "[s]leep 61[.]5"])
    print("still running 5 s after SIGINT")
EOF
)
expect_eq "SIGINT to run's pid: passed on, run exits 130" 130 "$code"
check "... and its session is removed" wait_until test ! -e "/dev/shm/faultline.$run_name"

# -- the terminal's Ctrl-C -----------------------------------------------------------------
out=$("$PYTHON" - "$FAULTLINE" <<'EOF'
import os, pty, select, signal, sys, time
prog = ("import signal, time\n"
        "n = 0\n"
        "def count(s, f):\n"
        "    global n\n"
        "    n += 1\n"
        "signal.signal(signal.SIGINT, count)\n"
        "print('ready', flush=True)\n"
        "end = time.time() + 1.5\n"
        "while time.time() < end: time.sleep(0.05)\n"
        "print('sigints', n, flush=True)\n")
pid, fd = pty.fork()
if pid == 0:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execv(sys.argv[1], [sys.argv[1], "run", "-o", "none", "--", sys.executable, "-c", prog])
out, sent, start = b"", False, time.time()
while time.time() - start < 10:
    if select.select([fd], [], [], 0.1)[0]:
        try:
            data = os.read(fd, 1000)
        except OSError:
            break
        if not data:
            break
        out += data
    if not sent and b"ready" in out:
        os.write(fd, b"\x03")
        sent = True
os.waitpid(pid, 0)
print(out.decode(errors="replace").split("sigints")[-1].strip())
EOF
)
expect_eq "the terminal's Ctrl-C reaches the command once" 1 "$out"

# -- SIGINT to an experiment --------------------------------------------------------------
cat >"$TEST_TMP/long.toml" <<TOML
[target]
command = ["sleep", "61.5"]
[[phase]]
name = "long"
duration = "30s"
rules = ["mem.fail min=1GiB"]
TOML
"$PYTHON" - "$FAULTLINE" "$TEST_TMP/long.toml" "$TEST_TMP/long.db" "$exp_name" "$TEST_TMP/exp.rc" \
    2>"$TEST_TMP/exp.err" <<'EOF' &
import signal, subprocess, sys
code = subprocess.call([sys.argv[1], "experiment", sys.argv[2], "-o", sys.argv[3], "-s", sys.argv[4]],
                       stdout=subprocess.DEVNULL,
                       preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
open(sys.argv[5], "w").write(str(code))
EOF
exp_pid=$!
wait_until pgrep -f "[s]leep 61[.]5" >/dev/null
faultline_pid=$(pgrep -f "experiment $TEST_TMP/long.toml")
start=$(date +%s%N)
kill -INT "$faultline_pid"
wait "$exp_pid"
exp_pid=
took=$((($(date +%s%N) - start) / 1000000))
expect_eq "SIGINT to an experiment: exit 2 (inconclusive)" 2 "$(cat "$TEST_TMP/exp.rc")"
check "... within the stop grace ($took ms)" test "$took" -lt 4000
expect_match "... says it was interrupted" "experiment: interrupted" "$(cat "$TEST_TMP/exp.err")"
check "... its target is stopped" sh -c '! pgrep -f "[s]leep 61[.]5" >/dev/null'
check "... and its session removed" test ! -e "/dev/shm/faultline.$exp_name"
