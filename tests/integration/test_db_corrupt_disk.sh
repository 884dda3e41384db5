# db.corrupt never reaches the disk (docs/rules.md: "The file on disk is
# untouched"; db.corrupt: pages *read* come back with a flipped bit,
# SQLite's own checks must see it; docs/pitfalls.md item 13).
#
# A flipped bit must stay in what SQLite read. SQLite rewrites page 1 at
# every rollback-journal commit (its change counter) after checking only the
# 100-byte database header, never page 1's b-tree header where db.corrupt
# flips its bit: a corrupted re-read of page 1 followed by a commit would
# write the flip to the file.
#
# python3 holds two connections to one rollback-journal database: a loads
# the schema; b inserts (a's cache is now stale: at its next transaction a
# re-reads page 1 from the file); then python3 arms `db.corrupt nth=1` in its
# own session through the CLI (never faulted) and a inserts: the one
# corrupted read is that re-read of page 1. Whatever a saw, afterwards,
# without the shim, the file passes integrity_check and holds the rows a and
# b saw inserted. A second case does the same across two processes (the
# writer is a plain sqlite3), the usual multi-process set-up.

db=$TEST_TMP/disk.db
sqlite3 "$db" 'CREATE TABLE t(x); INSERT INTO t VALUES(0)'
cat >"$TEST_TMP/two.py" <<'EOF'
import json, sqlite3, subprocess, sys
faultline, path = sys.argv[1], sys.argv[2]
a = sqlite3.connect(path, isolation_level=None)
b = sqlite3.connect(path, isolation_level=None)
print("a count", a.execute("SELECT count(*) FROM t").fetchone()[0])
b.execute("INSERT INTO t VALUES(1)")
subprocess.run([faultline, "enable", "db.corrupt nth=1 name=flip"], check=True,
               stdout=subprocess.DEVNULL)
try:
    a.execute("INSERT INTO t VALUES(2)")
    print("a insert ok")
except sqlite3.Error as e:
    print("a insert", e)
rules = json.loads(subprocess.run([faultline, "list", "--json"], check=True,
                                  capture_output=True, text=True).stdout)
print("injected", rules[0]["injected"])
EOF
out=$("$FAULTLINE" run -- "$PYTHON" "$TEST_TMP/two.py" "$FAULTLINE" "$db" 2>&1)
expect_eq "one process: python3 ran to the end" 0 $?
echo "$out" | sed 's/^/      | /'
expect_match "one process: the corruption was injected once" $'\ninjected 1$' "$out"
expect_eq "one process: afterwards (no shim) integrity_check ok" ok \
    "$(sqlite3 "$db" 'PRAGMA integrity_check' 2>&1)"
want=2
grep -q '^a insert ok$' <<<"$out" && want=3
expect_eq "one process: the file holds the rows python3 saw inserted" "$want" \
    "$(sqlite3 "$db" 'SELECT count(*) FROM t' 2>&1)"

# Two processes: python3 under the shim (a), plain sqlite3 writing (b).
name=$(new_session)
db=$TEST_TMP/disk2.db
sqlite3 "$db" 'CREATE TABLE t(x); INSERT INTO t VALUES(0)'
cat >"$TEST_TMP/reader.py" <<'EOF'
import os, sqlite3, sys, time
path, go = sys.argv[1], sys.argv[2]
a = sqlite3.connect(path, isolation_level=None)
print("ready", a.execute("SELECT count(*) FROM t").fetchone()[0], flush=True)
deadline = time.monotonic() + 10
while not os.path.exists(go) and time.monotonic() < deadline:
    time.sleep(0.01)
try:
    a.execute("INSERT INTO t VALUES(2)")
    print("a insert ok", flush=True)
except sqlite3.Error as e:
    print("a insert", e, flush=True)
EOF
"$FAULTLINE" run -s "$name" -- "$PYTHON" "$TEST_TMP/reader.py" "$db" "$TEST_TMP/go" \
    >"$TEST_TMP/reader.out" 2>&1 &
run_pid=$!
trap 'kill $run_pid 2>/dev/null; rm -f /dev/shm/faultline.$name; cleanup_tmp' EXIT
check "two processes: python3 ready" wait_until grep -q '^ready 1$' "$TEST_TMP/reader.out"
sqlite3 "$db" 'INSERT INTO t VALUES(1)'
"$FAULTLINE" enable -s "$name" 'db.corrupt nth=1' >/dev/null
touch "$TEST_TMP/go"
for _ in $(seq 100); do kill -0 $run_pid 2>/dev/null || break; sleep 0.1; done
wait $run_pid
expect_eq "two processes: python3 ran to the end" 0 $?
out=$(cat "$TEST_TMP/reader.out")
echo "$out" | sed 's/^/      | /'
expect_eq "two processes: afterwards (no shim) integrity_check ok" ok \
    "$(sqlite3 "$db" 'PRAGMA integrity_check' 2>&1)"
want=2
grep -q '^a insert ok$' <<<"$out" && want=3
expect_eq "two processes: the file holds the rows the programs saw inserted" "$want" \
    "$(sqlite3 "$db" 'SELECT count(*) FROM t' 2>&1)"
