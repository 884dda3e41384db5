# Transparency of the SQLite hooks and of the wrapping VFS when no db rule
# matches (the shim never corrupts its host; docs/pitfalls.md items 10
# python3's RTLD_LOCAL libsqlite3, 13 SQLite: the "faultline" VFS is the
# default in every process that opens a database under the shim).
#
# A python3 workload on a WAL database (mmap on, so that xFetch is used;
# two connections and a thread reading while another writes; savepoints and
# rollbacks; a constraint error and its message; incremental blob I/O;
# executescript; a user function; the backup API; iterdump; checkpoints;
# integrity_check) prints exactly the same output, and leaves a file whose
# dump is the same, with and without the shim:
#   - `faultline run`, no rule;
#   - LD_PRELOAD alone, no session;
#   - `faultline run` with non-matching rules of both SQLite families armed
#     (db.error for a statement never run, db.io and db.corrupt for another
#     file): every API call takes the rule-evaluation path, every file
#     operation goes through the VFS's decision, and mmap is switched off.
# The sqlite3 CLI script of transparency_lib.sh does the same under those
# non-matching rules (test_transparency.sh covers it with no rule).

source ./transparency_lib.sh

cat >"$TEST_TMP/workload.py" <<'EOF'
import hashlib, sqlite3, sys, threading
path = sys.argv[1]
out = []
say = lambda *a: out.append(" ".join(str(x) for x in a))

c = sqlite3.connect(path, isolation_level=None)
say("journal", c.execute("PRAGMA journal_mode=WAL").fetchone()[0])
c.execute("PRAGMA mmap_size=8388608")
c.executescript("""
    CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, qty INTEGER, data BLOB);
    CREATE TABLE log(n INTEGER, what TEXT);
    CREATE INDEX item_qty ON item(qty);
""")
c.create_function("twice", 1, lambda x: None if x is None else 2 * x)
c.execute("BEGIN")
c.executemany("INSERT INTO item(name, qty, data) VALUES(?, ?, zeroblob(?))",
              (("item%05d" % i, i % 97, (i * 37) % 700) for i in range(4000)))
c.execute("COMMIT")
say("count", c.execute("SELECT count(*), sum(qty), sum(length(data)) FROM item").fetchone())

# A second connection reads a snapshot while the first writes.
r = sqlite3.connect(path, isolation_level=None)
r.execute("BEGIN")
say("reader before", r.execute("SELECT count(*) FROM item").fetchone())
c.execute("INSERT INTO item(name, qty) VALUES('late', 1)")
say("reader snapshot", r.execute("SELECT count(*) FROM item").fetchone())
r.execute("COMMIT")
say("reader after", r.execute("SELECT count(*) FROM item").fetchone())

# Savepoints, a rollback, a constraint error.
c.execute("BEGIN")
c.execute("UPDATE item SET qty = twice(qty) WHERE id % 10 = 0")
c.execute("SAVEPOINT s1")
c.execute("DELETE FROM item WHERE qty > 50")
say("inside savepoint", c.execute("SELECT count(*) FROM item").fetchone())
c.execute("ROLLBACK TO s1")
c.execute("RELEASE s1")
try:
    c.execute("INSERT INTO item(name, qty) VALUES('item00001', 0)")
except sqlite3.Error as e:
    say("error", type(e).__name__, e, e.sqlite_errorcode, e.sqlite_errorname)
c.execute("COMMIT")
say("after commit", c.execute("SELECT count(*), sum(qty) FROM item").fetchone())

# Incremental blob I/O.
with c.blobopen("item", "data", 7) as b:
    b.write(b"faultline" * 10)
    b.seek(0)
    say("blob", b.read(18))

# A thread with its own connection writes while the main one reads.
def writer():
    w = sqlite3.connect(path, isolation_level=None)
    for i in range(200):
        w.execute("INSERT INTO log VALUES(?, ?)", (i, "thread"))
    w.close()
t = threading.Thread(target=writer)
t.start()
for _ in range(50):
    c.execute("SELECT max(n) FROM log").fetchone()
t.join()
say("log", c.execute("SELECT count(*), sum(n) FROM log").fetchone())

say("checkpoint", c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone())
say("top", c.execute("SELECT name, qty FROM item ORDER BY qty DESC, id LIMIT 3").fetchall())
say("integrity", c.execute("PRAGMA integrity_check").fetchone()[0])

dst = sqlite3.connect(path + ".backup")
c.backup(dst)
say("backup", dst.execute("SELECT count(*), sum(qty) FROM item").fetchone())
dst.close()
say("dump", hashlib.md5("\n".join(c.iterdump()).encode()).hexdigest())
r.close()
c.close()
print("\n".join(out))
EOF

# workload TAG RUN-PREFIX...: the workload on a fresh database; its output,
# its exit status and a dump (without the shim) of the file it left.
workload() {
    local db=$TEST_TMP/$1.db
    shift
    "$@" "$PYTHON" "$TEST_TMP/workload.py" "$db" 2>&1
    echo "rc=$?"
    sqlite3 "$db" .dump | md5sum
}

nomatch=(-r "db.error rc=BUSY sql='DELETE FROM nothing*'" -r 'db.io file=*/nothing.db'
    -r 'db.corrupt file=*/nothing.db')

plain=$(workload plain)
expect_match "python3 workload runs (no shim)" $'(^|\n)integrity ok\n' "$plain"
expect_match "python3 workload: the constraint error" \
    'error IntegrityError UNIQUE constraint failed: item.name 2067 SQLITE_CONSTRAINT_UNIQUE' "$plain"
expect_eq "python3 workload: identical under faultline run, no rule" \
    "$plain" "$(workload run "$FAULTLINE" run --)"
expect_eq "python3 workload: identical under LD_PRELOAD alone" \
    "$plain" "$(workload preload env LD_PRELOAD="$SHIM")"
expect_eq "python3 workload: identical under non-matching db.error, db.io, db.corrupt" \
    "$plain" "$(workload rules "$FAULTLINE" run "${nomatch[@]}" --)"

cli_plain=$(sqlite_run "$TEST_TMP/cli_plain.db")
expect_match "sqlite3 script: integrity ok" $'(^|\n)ok(\n|$)' "$cli_plain"
expect_eq "sqlite3 script: identical under non-matching db.error, db.io, db.corrupt" \
    "$cli_plain" "$(sqlite_run "$TEST_TMP/cli_rules.db" "$FAULTLINE" run "${nomatch[@]}" --)"
