"""SQLite insert/select loop, 1 thread, CPU bound (WAL, synchronous=OFF, on
/dev/shm): ns per statement, each run's fastest chunk of 20 rounds."""

import os

from .common import SHIM, Count, Result, Variant, alternate, compare, facts, program, \
    recorded_calls, remove_db, run, run_cmd, sh

NAME = "sqlite"
TITLE = "SQLite insert/select loop: ns per statement (fastest chunk of 20 rounds)"
PROGRAMS = ["sqlite_loop"]
COUNTS = [
    Count("runs", 11, 3, "rounds per variant, alternating"),
    Count("rounds", 2000, 500, "insert/select rounds per run (100 INSERTs + 100 SELECTs each)"),
]

DB_RULE = "db.error rc=BUSY sql=DELETE*"  # the loop runs no DELETE
VFS_RULE = "db.io file=*.nomatch"  # the loop opens no such file


def variants(ctx):
    taskset = ["taskset", "-c", str(ctx.cpus[-1])]
    prog = [program("sqlite_loop"), f"/dev/shm/{ctx.tag}.db", str(ctx.counts["rounds"])]
    run_ = lambda key, record, rules=(): taskset + run_cmd(ctx.tag, key, record, rules,
                                                           ctx.tmp) + prog
    rec = Variant("recorded", run_("recorded", True), expect="shim")
    rec.db = os.path.join(ctx.tmp, "recorded.db")
    return [
        Variant("base", taskset + prog, expect="libc"),
        Variant("idle", run_("idle", False), expect="shim"),
        Variant("dormant", taskset + prog, {"LD_PRELOAD": SHIM}, "shim"),
        Variant("db", run_("db", False, [DB_RULE]), expect="shim+db"),
        Variant("vfs", run_("vfs", False, [VFS_RULE]), expect="shim+vfs"),
        rec,
    ]


def run_once(ctx, v):
    rc, out, err = run(v.argv, v.env)
    f = facts(out)
    problems = []
    if rc != 0:
        problems.append(f"exit status {rc}: {err.strip()[:200]}")
    origin = f.get("sqlite3_from", "?")
    if (v.expect == "libc") == ("libfaultline" in origin):
        problems.append(f"sqlite3_step resolves to {origin}")
    if f.get("rows") != "10000" or f.get("found") != f.get("selects"):
        problems.append(f"wrong results: rows={f.get('rows')} found={f.get('found')} "
                        f"selects={f.get('selects')}")
    # What the program saw: each probe fails exactly when its rule is armed.
    want_db = "busy" if v.expect == "shim+db" else "ok"
    want_vfs = "failed" if v.expect == "shim+vfs" else "ok"
    if f.get("probe_db") != want_db:
        problems.append(f"probe_db={f.get('probe_db')}, expected {want_db}")
    if f.get("probe_vfs") != want_vfs:
        problems.append(f"probe_vfs={f.get('probe_vfs')}, expected {want_vfs}")
    if v.db:  # the recorder really observed the loop's steps
        steps = recorded_calls(v.db, "sqlite3_step")
        want = 200 * ctx.counts["rounds"]
        if steps is None or steps < want:
            problems.append(f"the recording holds {steps} sqlite3_step calls, expected >= {want}")
        remove_db(v.db)
    return float(f.get("best_chunk_ns", "nan")), float(f.get("ns_per_op", "nan")), None, problems


ROWS = [  # (variant, what, bars)
    ("idle", "shim loaded, no rule armed", ["sqlite.idle"]),
    ("dormant", "LD_PRELOAD only, no session", []),
    ("db", "non-matching db rule armed (sql=DELETE*)", []),
    ("vfs", "non-matching vfs rule armed (file=*.nomatch)", []),
    ("recorded", "recorded (faultline run, default recorder)", ["sqlite.recorded"]),
]


def measure(ctx):
    res = Result()
    vs = variants(ctx)
    try:
        figs, wholes, _x, res.invalid = alternate(vs, ctx.counts["runs"],
                                                  lambda v: run_once(ctx, v), "loop")
    finally:  # the program removes its files; not when it died
        for name in os.listdir("/dev/shm"):
            if name.startswith(f"{ctx.tag}.db"):
                os.unlink(os.path.join("/dev/shm", name))
    for key, what, checks in ROWS:
        res.rows.append(compare(what, "ns", figs, wholes, key, "base", "no shim", checks))
    res.commands = [(v.key, sh(v.argv, v.env)) for v in vs]
    return res
