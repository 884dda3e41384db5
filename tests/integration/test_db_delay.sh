# db.delay seen in python3's own timing (docs/rules.md "SQLite" db.delay; the
# median within 1 ms of the delay asked; docs/pitfalls.md item 10: _sqlite3
# loaded RTLD_LOCAL).
#
# Under `db.delay delay=200ms on=step sql='SELECT*'` python3 times its own
# queries with time.perf_counter():
#  - cursor.execute(SELECT) (one sqlite3_step: the first row): median
#    within 200..205 ms, none faster than 200 ms;
#  - the whole one-row query, execute + fetchall (two steps: the row, then
#    SQLITE_DONE): about 400 ms, the delay applies to every step;
#  - INSERTs on the same connection are not slowed (every one < 100 ms);
#  - the rule's injected = the SELECT steps python3 made.
# Control: the same script without a rule, SELECTs well under 100 ms.
# synchronous=OFF so that an INSERT's own time is not the disk's.

cat >"$TEST_TMP/delay.py" <<'EOF'
import sqlite3, statistics, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("PRAGMA synchronous=OFF")
c.execute("CREATE TABLE t(i INTEGER PRIMARY KEY, v TEXT)")
ms = lambda t0: (time.perf_counter() - t0) * 1000
ins, first, whole = [], [], []
for i in range(8):
    t0 = time.perf_counter()
    c.execute("INSERT INTO t(v) VALUES(?)", ("row%d" % i,))
    ins.append(ms(t0))
    t0 = time.perf_counter()
    cur = c.execute("SELECT count(*) FROM t")
    first.append(ms(t0))
    rows = cur.fetchall()
    whole.append(ms(t0))
    assert rows == [(i + 1,)], rows
for name, xs in (("insert", ins), ("select_first", first), ("select_whole", whole)):
    print("%s median=%.3f min=%.3f max=%.3f" % (name, statistics.median(xs), min(xs), max(xs)))
EOF

name=$(new_session)
trap 'rm -f /dev/shm/faultline.$name; cleanup_tmp' EXIT

# figure NAME WHICH: a figure (ms) from the script's output in $out.
figure() { sed -n "s/^$1 .*$2=\\([0-9.]*\\).*/\\1/p" <<<"$out"; }

out=$("$FAULTLINE" run -- "$PYTHON" "$TEST_TMP/delay.py" "$TEST_TMP/plain.db" 2>&1)
expect_eq "control: the script runs (no rule)" 0 $?
check "control: SELECT takes < 100 ms without the rule ($(figure select_whole max) ms)" \
    between 0 "$(figure select_whole max)" 100

out=$(LD_PRELOAD=$SHIM FAULTLINE_SESSION=$name \
    FAULTLINE_RULES="db.delay delay=200ms on=step sql='SELECT*' name=slow" \
    "$PYTHON" "$TEST_TMP/delay.py" "$TEST_TMP/slow.db" 2>&1)
expect_eq "db.delay: the script runs" 0 $?
echo "$out" | sed 's/^/      | /'
check "execute(SELECT): median $(figure select_first median) ms within 200..205 ms" \
    between 200 "$(figure select_first median)" 205
check "execute(SELECT): none faster than 200 ms (min $(figure select_first min))" \
    between 200 "$(figure select_first min)" 1000
check "execute+fetchall (2 steps): median $(figure select_whole median) ms within 400..410 ms" \
    between 400 "$(figure select_whole median)" 410
check "INSERTs not slowed: max $(figure insert max) ms < 100 ms" \
    between 0 "$(figure insert max)" 100
injected=$("$FAULTLINE" list -s "$name" --json |
    "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)[0]["injected"])')
expect_eq "rule's injected = SELECT steps (8 queries x 2 steps)" 16 "$injected"
