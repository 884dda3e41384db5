# Injected waits yield to signals as the kernel's blocking calls do
# (docs/pitfalls.md item 23, man 7 signal): a handler that runs while the
# shim holds a call makes connect return EINTR (even under SA_RESTART; the
# connection goes on in the background), send and recv return EINTR or
# restart under SA_RESTART (EINTR with a socket timeout set), poll EINTR.
# Real programs: python3's alarm handler raising during a held connect,
# Ctrl-C ending a python3 stuck under net.partition.

source ./net_lib.sh

SW=$TARGETS/signal_waits
echo_server port
run_sw() { # RULE ARGS...: the target's output under RULE
    local rule=$1
    shift
    timeout 20 "$FAULTLINE" run -o none -r "$rule" -- "$SW" "$@" 2>&1
}
# ms KEY LINE: the number after KEY= in LINE
ms() { kv "$1" "$2"; }

# -- connect: never restarted --------------------------------------------------------
out=$(run_sw 'net.delay delay=3s on=connect' connect "$port" 500)
line=$(head -1 <<<"$out")
expect_match "net.delay 3s on connect, SIGALRM at 0.5 s: connect returns EINTR" \
    '^connect rc=-1 EINTR ' "$line"
check "... the handler runs on time ($(ms handler_ms "$line") ms of 500)" \
    between 490 "$(ms handler_ms "$line")" 600
check "... and connect returns with it ($(ms returned_ms "$line") ms)" \
    between 490 "$(ms returned_ms "$line")" 600
expect_eq "... in progress meanwhile: connect again says EALREADY" "again rc=-1 EALREADY" \
    "$(sed -n 2p <<<"$out")"
then=$(sed -n 3p <<<"$out")
expect_match "... the connection goes on in the background: poll, then SO_ERROR 0" \
    '^then connected=1 ' "$then"
check "... made when the delay is over ($(ms ms "$then") ms of 3000)" \
    between 2950 "$(ms ms "$then")" 3500

line=$(run_sw 'net.delay delay=3s on=connect' connect "$port" 500 restart | head -1)
expect_match "... EINTR under SA_RESTART too (connect is never restarted)" \
    '^connect rc=-1 EINTR ' "$line"
check "... at the signal ($(ms returned_ms "$line") ms)" between 490 "$(ms returned_ms "$line")" 600

line=$(run_sw 'net.partition' connect "$port" 500 | head -1)
expect_match "net.partition: the held connect returns EINTR at the signal" \
    '^connect rc=-1 EINTR ' "$line"
check "... on time ($(ms returned_ms "$line") ms of 500, not the partition's 127 s)" \
    between 490 "$(ms returned_ms "$line")" 600

# -- recv and send: restarted under SA_RESTART, unless the socket has a timeout ---
out=$(run_sw 'net.delay delay=1s on=recv' recv "$port" 300)
line=$(head -1 <<<"$out")
expect_match "net.delay 1s on recv, no SA_RESTART: recv returns EINTR" '^recv rc=-1 EINTR ' "$line"
check "... at the signal ($(ms returned_ms "$line") ms of 300)" \
    between 290 "$(ms returned_ms "$line")" 400
then=$(sed -n 2p <<<"$out")
expect_match "... the retry gets the data" ' data=PING$' "$then"
check "... when the delay is over, not a new delay later ($(ms ms "$then") ms of 1000)" \
    between 990 "$(ms ms "$then")" 1200

line=$(run_sw 'net.delay delay=1s on=recv' recv "$port" 300 restart)
expect_match "... under SA_RESTART: recv restarts and delivers the data" '^recv rc=5 .* data=PING$' \
    "$line"
check "... the handler ran on time ($(ms handler_ms "$line") ms of 300)" \
    between 290 "$(ms handler_ms "$line")" 400
check "... and the call ended with the delay ($(ms returned_ms "$line") ms of 1000)" \
    between 990 "$(ms returned_ms "$line")" 1200

out=$(run_sw 'net.timeout timeout=2s on=recv' recv "$port" 300)
line=$(head -1 <<<"$out")
expect_match "net.timeout hanging a recv: EINTR at the signal" '^recv rc=-1 EINTR ' "$line"
check "... on time ($(ms returned_ms "$line") ms of 300)" between 290 "$(ms returned_ms "$line")" 400
then=$(sed -n 2p <<<"$out")
expect_match "... the hang holds on: the retry times out" '^then rc=-1 ETIMEDOUT ' "$then"
check "... when the hang's 2 s are over ($(ms ms "$then") ms)" between 1990 "$(ms ms "$then")" 2300

line=$(run_sw 'net.partition on=send' send "$port" 300 restart-timeout)
expect_match "net.partition on send, SA_RESTART but SO_SNDTIMEO set: send returns EINTR" \
    '^send rc=-1 EINTR ' "$line"
check "... at the signal ($(ms returned_ms "$line") ms of 300, not the 5 s timeout)" \
    between 290 "$(ms returned_ms "$line")" 400

# -- poll: never restarted -------------------------------------------------------------
line=$(run_sw 'net.partition on=recv' poll "$port" 300 restart)
expect_match "net.partition hiding input: poll returns EINTR under SA_RESTART" \
    '^poll rc=-1 EINTR ' "$line"
check "... at the signal ($(ms returned_ms "$line") ms of 300)" \
    between 290 "$(ms returned_ms "$line")" 400

# -- real programs: python3 ---------------------------------------------------------
alarm_py='
import signal, socket, sys, time
class Alarm(Exception):
    pass
def on_alarm(sig, frame):
    raise Alarm()
signal.signal(signal.SIGALRM, on_alarm)
signal.setitimer(signal.ITIMER_REAL, 0.5)
t = time.monotonic()
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    print("connected %.3f" % (time.monotonic() - t))
except Alarm:
    print("alarm %.3f" % (time.monotonic() - t))'
for rule in 'net.delay delay=3s on=connect' 'net.partition'; do
    out=$(timeout 20 "$FAULTLINE" run -o none -r "$rule" -- "$PYTHON" -c "$alarm_py" "$port" 2>&1)
    expect_match "python3, $rule: the alarm handler raises out of connect" '^alarm ' "$out"
    check "... at 0.5 s ($(field 2 "$out") s)" between 0.49 "$(field 2 "$out")" 0.6
done

# Ctrl-C: SIGINT to a python3 stuck in connect under net.partition.
sigint_py='
import os, signal, socket, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
open(sys.argv[2], "w").write("%d\n" % os.getpid())
socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print("connected")'
pidfile=$TEST_TMP/py.pid
timeout 20 "$FAULTLINE" run -o none -r 'net.partition' -- "$PYTHON" -c "$sigint_py" "$port" \
    "$pidfile" >"$TEST_TMP/int.out" 2>"$TEST_TMP/int.err" &
run_pid=$!
check "python3 under net.partition starts connecting" wait_until test -s "$pidfile"
sleep 0.5
t0=$(date +%s.%N)
kill -INT "$(cat "$pidfile")"
wait_pid "$run_pid" 5
took=$(calc "$(date +%s.%N) - $t0")
check "... Ctrl-C (SIGINT) ends it within 1 s ($took s)" between 0 "$took" 1
expect_eq "... by KeyboardInterrupt out of connect (exit 130)" 130 "$WAIT_RC"
expect_match "... python3 says so" 'KeyboardInterrupt' "$(tail -1 "$TEST_TMP/int.err")"

# SIGINT at its default action kills at once (the wait blocks signals
# while it waits: they must still act as they would).
"$FAULTLINE" run -o none -r 'net.partition' -- "$SW" sigint "$port" >"$TEST_TMP/dfl.out" 2>&1 &
run_pid=$!
check "a C program under net.partition starts connecting" \
    wait_until grep -q connecting "$TEST_TMP/dfl.out"
sleep 0.3
t0=$(date +%s.%N)
kill -INT "$(kv pid "$(cat "$TEST_TMP/dfl.out")")"
wait_pid "$run_pid" 5
took=$(calc "$(date +%s.%N) - $t0")
check "... SIGINT at its default action ends it at once ($took s)" between 0 "$took" 1
expect_eq "... killed by SIGINT (exit 130), connect never returned" "130 0" \
    "$WAIT_RC $(grep -c '^connect rc' "$TEST_TMP/dfl.out")"
