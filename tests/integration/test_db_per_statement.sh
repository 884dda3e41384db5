# db.delay per=statement (docs/rules.md "Keys every rule takes", per=): a
# statement's execution is delayed once, at its first step after prepare or
# reset; its later steps go through. python3 times its own queries:
#  - under `db.delay delay=200ms on=step per=statement sql='SELECT*'`: a
#    one-row SELECT (execute + fetchall: two steps) takes 200 ms, not 400;
#    a 50-row one (51 steps) 200 ms, not 10.2 s; each execution is judged
#    anew (8 of each, every one about 200 ms);
#  - injected = the executions (16), not the steps (8 x 2 + 8 x 51);
#  - control, per=call (the default): the one-row SELECT takes 400 ms.
# The tolerance (200..230 ms) is the delay plus scheduling on a loaded
# machine; a second delay would be 400.

cat >"$TEST_TMP/per.py" <<'EOF'
import sqlite3, statistics, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("PRAGMA synchronous=OFF")
c.execute("CREATE TABLE t(i INTEGER PRIMARY KEY, v TEXT)")
c.executemany("INSERT INTO t(v) VALUES(?)", [("row%d" % i,) for i in range(50)])
ms = lambda t0: (time.perf_counter() - t0) * 1000
one, fifty = [], []
for i in range(int(sys.argv[2])):
    t0 = time.perf_counter()
    rows = c.execute("SELECT v FROM t WHERE i = 1").fetchall()
    one.append(ms(t0))
    assert len(rows) == 1, rows
    t0 = time.perf_counter()
    rows = c.execute("SELECT v FROM t").fetchall()
    fifty.append(ms(t0))
    assert len(rows) == 50, rows
for name, xs in (("one", one), ("fifty", fifty)):
    print("%s median=%.3f min=%.3f max=%.3f" % (name, statistics.median(xs), min(xs), max(xs)))
EOF

name=$(new_session)
trap 'rm -f /dev/shm/faultline.$name; cleanup_tmp' EXIT
figure() { sed -n "s/^$1 .*$2=\\([0-9.]*\\).*/\\1/p" <<<"$out"; }

out=$(LD_PRELOAD=$SHIM FAULTLINE_SESSION=$name \
    FAULTLINE_RULES="db.delay delay=200ms on=step per=statement sql='SELECT*'" \
    timeout 60 "$PYTHON" "$TEST_TMP/per.py" "$TEST_TMP/per.db" 8 2>&1)
expect_eq "per=statement: the script runs" 0 $?
echo "$out" | sed 's/^/      | /'
check "one-row SELECT (2 steps): delayed once, $(figure one min)..$(figure one max) ms within 200..230" \
    test "$(between 200 "$(figure one min)" 230 && between 200 "$(figure one max)" 230 && echo y)" = y
check "50-row SELECT (51 steps): delayed once, $(figure fifty min)..$(figure fifty max) ms within 200..230" \
    test "$(between 200 "$(figure fifty min)" 230 && between 200 "$(figure fifty max)" 230 && echo y)" = y
injected=$("$FAULTLINE" list -s "$name" --json |
    "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)[0]["injected"])')
expect_eq "injected = executions (8 + 8), not steps" 16 "$injected"
rm -f "/dev/shm/faultline.$name"

out=$(FAULTLINE_RULES="db.delay delay=200ms on=step sql='SELECT v FROM t WHERE*'" LD_PRELOAD=$SHIM \
    timeout 60 "$PYTHON" "$TEST_TMP/per.py" "$TEST_TMP/call.db" 2 2>&1)
echo "$out" | sed 's/^/      | /'
check "control per=call: the one-row SELECT pays every step ($(figure one median) ms within 400..440)" \
    between 400 "$(figure one median)" 440

out=$("$FAULTLINE" enable -s "nosuch$$" 'db.delay delay=1ms per=connection' 2>&1)
expect_eq "per=connection on db.delay: refused with exit 2" 2 $?
expect_match "  ... saying why" "per=connection.*net kinds" "$out"
out=$("$FAULTLINE" enable -s "nosuch$$" 'net.reset per=statement' 2>&1)
expect_eq "per=statement on net.reset: refused with exit 2" 2 $?
expect_match "  ... saying why" "per=statement.*db.error" "$out"
