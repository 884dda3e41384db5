"""Injection events: the ring alone; through the shim and `faultline run`'s
recorder; the recorder's insert rate into SQLite."""

import os
import re
import sqlite3

from .common import FAULTLINE, Count, Result, Row, median, program, remove_db, run, sh

NAME = "events"
TITLE = "injection events: the ring, the shim with its recorder, SQLite"
PROGRAMS = ["event_ring", "event_target", "event_db"]
COUNTS = [
    Count("rates", "10000,100000,300000,1000000", "10000,1000000",
          "paced injections/s through the shim and the recorder"),
    Count("seconds", 2.0, 1.0, "length of each paced run"),
    Count("runs", 5, 2, "flat-out rounds with and without the recorder"),
    Count("ring_runs", 3, 2, "runs of each ring case"),
]

RULE = "mem.fail min=1MiB"
SIZE = 2 << 20  # malloc(2 MiB): every call of the target is an injection
FLAT_SECONDS = 1  # flat out fills the 65,536-record ring within milliseconds
RING_SECONDS = 1
RING_CASES = [  # (key, reader mode, total rate (0: flat out), label)
    ("spin", "spin", 0, "flat out, reader pops without pause"),
    ("poll", "poll", 0, "flat out, reader drains every 5 ms"),
    ("1M", "poll", 1000000, "paced 1 M/s, reader drains every 5 ms"),
    ("2M", "poll", 2000000, "paced 2 M/s, reader drains every 5 ms"),
]


def per_s(x):
    return f"{x / 1e6:.2f}M/s" if x >= 1e6 else f"{x / 1e3:.1f}k/s"


def ring(ctx, res):
    runs = {c[0]: [] for c in RING_CASES}
    n = ctx.counts["ring_runs"]
    for r in range(n):
        k = r % len(RING_CASES)
        for key, mode, rate, _label in RING_CASES[k:] + RING_CASES[:k]:  # order rotated
            argv = [program("event_ring"), mode, str(rate), str(RING_SECONDS)]
            if r == 0:
                res.commands.append((f"ring {key}", sh(argv)))
            rc, out, err = run(argv, timeout=60)
            f = dict(re.findall(r"(\w+)=(\S+)", out))
            if rc != 0 or "exact" not in f:
                res.invalid.append(f"ring {key}, run {r + 1}: exit status {rc} {err.strip()[:200]}")
                continue
            w = re.findall(r"^writer=\d+ attempts=(\d+) pushed=(\d+) dropped=(\d+)", out, re.M)
            f["attempts"] = sum(int(a) for a, _p, _d in w)
            f["dropped"] = sum(int(d) for _a, _p, d in w)
            runs[key].append(f)
    for key, _mode, rate, label in RING_CASES:
        fs = runs[key]
        if not fs:
            continue
        calls = [float(f["attempts_per_s"]) for f in fs]
        stored = [float(f["pushed_per_s"]) for f in fs]
        dropped = sum(f["dropped"] for f in fs) / max(1, sum(f["attempts"] for f in fs))
        checks = {"ring.exact": all(f["exact"] == "1" for f in fs)}
        if rate:
            checks["ring.paced"] = dropped
        else:
            checks["ring.flat"] = median(stored)
        extra = {"push_calls_per_s": per_s(median(calls)), "dropped": f"{dropped * 100:.2f}%"}
        if rate and median(calls) < 0.95 * rate:
            extra["busy"] = f"the writers reached only {per_s(median(calls))}"
        res.rows.append(Row(f"ring: {label}, stored in the ring", "/s", stored, checks=checks,
                            extra=extra))


def recording(path, session):
    """What the recording of `session` holds (read-only)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = con.execute("SELECT id, dropped_events, recorded_from_s, ended_s FROM sessions "
                          "WHERE name = ? ORDER BY id DESC LIMIT 1", (session,)).fetchone()
        if not row:
            return None
        sid, dropped, rec_from, ended = row
        q = lambda sql: con.execute(sql, (sid,)).fetchone()
        stored, first_t = q("SELECT count(*), min(t_s) FROM events WHERE session = ?")
        injected = q("SELECT sum(injected) FROM rules WHERE session = ?")[0]
        samples = q("SELECT count(*) FROM sample_times WHERE session = ?")[0]
        return {"stored": stored, "dropped": dropped, "injected": injected, "first_t": first_t,
                "rec_from": rec_from, "ended": ended, "samples": samples}
    finally:
        con.close()


def target(ctx, res, label, rate, seconds, record, index):
    """One `faultline run` of event_target: (the program's totals, its recording)."""
    session = f"{ctx.tag}-{index}"
    db = os.path.join(ctx.tmp, f"{session}.db")
    argv = [FAULTLINE, "run", "-s", session, "-o", db if record else "none", "-r", RULE, "--",
            program("event_target"), "2", str(rate), f"{seconds:g}", str(SIZE)]
    shown = sh(["DB" if w == db else "S" if w == session else w for w in argv])
    if shown not in [c for _l, c in res.commands]:
        res.commands.append((label.split(" #")[0], shown))
    rc, out, err = run(argv)
    tot = re.search(r"^calls=(\d+) nulls=(\d+) seconds=(\S+) rate=(\S+) cpu_ns_per_call=(\S+) "
                    r"best_rate=(\S+)$", out, re.M)
    problems, prog, rec = [], None, None
    if rc != 0 or not tot:
        problems.append(f"exit status {rc}: {err.strip()[:200]}")
    else:
        prog = {"calls": int(tot.group(1)), "nulls": int(tot.group(2)),
                "rate": float(tot.group(4)), "best_rate": float(tot.group(6))}
        origin = re.search(r"^malloc_from=(\S+)", out, re.M)
        if not origin or "libfaultline" not in origin.group(1):
            problems.append("malloc does not resolve to the shim")
        # What the program saw: every malloc(2 MiB) failed, each call an injection.
        if prog["nulls"] != prog["calls"]:
            problems.append(f"{prog['calls'] - prog['nulls']} of {prog['calls']} calls did not "
                            "get NULL: the rule was not armed")
    if record:
        try:
            rec = recording(db, session) if os.path.exists(db) else None
        except sqlite3.Error as e:
            problems.append(f"reading the recording: {e}")
        if rec is None:
            problems.append(f"no session {session} in the recording")
        remove_db(db)
    res.invalid += [f"through the shim, {label}: {why}" for why in problems]
    return prog, rec


def recorder_rate(rec):
    """Events the recorder stored per second: from the first event to the session's end."""
    if not rec or not rec["stored"] or rec["ended"] is None or rec["first_t"] is None:
        return float("nan")
    return rec["stored"] / max(1e-9, rec["ended"] - rec["first_t"])


def shim_row(name, prog, rec, asked=None, lossless=False, flat=False):
    exact = rec["stored"] + rec["dropped"] == rec["injected"] == prog["nulls"]
    checks = {"events.exact": exact}
    if lossless:
        checks["events.lossless"] = rec["dropped"]
    if flat:
        checks["events.flat"] = prog["rate"]
    want = max(1, int(round((rec["ended"] - rec["rec_from"]) / 0.1)))
    extra = {"stored": rec["stored"], "dropped": rec["dropped"], "injected": rec["injected"],
             "nulls": prog["nulls"], "samples": f"{rec['samples']}/{want}",
             "recorder_stored_per_s": per_s(recorder_rate(rec))}
    if asked and prog["rate"] < 0.95 * asked:
        extra["busy"] = f"the program reached only {per_s(prog['rate'])}"
    return Row(name, "/s", [prog["rate"]], ref=[asked] if asked else None,
               vs="asked" if asked else "", ratio=prog["rate"] / asked if asked else None,
               checks=checks, extra=extra)


def through_shim(ctx, res):
    index = 0
    paced = []
    for word in ctx.counts["rates"].split(","):
        rate = int(float(word))
        index += 1
        paced.append((rate, *target(ctx, res, f"paced {per_s(rate)}", rate,
                                    float(ctx.counts["seconds"]), True, index)))
    flat = {"rec": [], "none": []}
    for r in range(ctx.counts["runs"]):  # alternating with and without the recorder
        order = [("rec", True), ("none", False)]
        for key, record in order[r % 2:] + order[:r % 2]:
            index += 1
            flat[key].append(target(ctx, res, f"flat out {key} #{r + 1}", 0, FLAT_SECONDS,
                                    record, index))
    rates = [recorder_rate(rec) for _p, rec in flat["rec"] if rec]
    capacity = median(rates) if rates else float("nan")
    lowest = min(r for r, *_ in paced)
    for rate, prog, rec in paced:
        if prog and rec:
            # None lost at rates the recorder keeps up with (its own flat-out
            # rate; the lowest rate always); above, the drops must be counted.
            res.rows.append(shim_row(f"paced {per_s(rate)}, with recorder", prog, rec, rate,
                                     lossless=rate <= capacity or rate == lowest))
    for i, (prog, rec) in enumerate(flat["rec"]):
        if prog and rec:
            res.rows.append(shim_row(f"flat out #{i + 1}, with recorder", prog, rec, flat=True))
    a = [p for p, _r in flat["rec"] if p]
    b = [p for p, _r in flat["none"] if p]
    if a and b:
        for what, key in (("whole run", "rate"), ("fastest chunks", "best_rate")):
            xs, ref = [p[key] for p in a], [p[key] for p in b]
            res.rows.append(Row(f"flat out, injections/s, {what}: with recorder", "/s", xs,
                                ref=ref, vs="-o none", ratio=median(xs) / median(ref)))
    if rates:
        res.rows.append(Row("recorder: events stored/s while the target floods", "/s", rates))


def event_db(ctx, res):
    db = os.path.join(ctx.tmp, "event_db.db")
    argv = [program("event_db"), db, "2"]
    res.commands.append(("sqlite", sh([argv[0], "FILE.db"] + argv[2:])))
    rc, out, err = run(argv, timeout=60)
    remove_db(db)
    f = dict(re.findall(r"(\w+)=(\S+)", out))
    if rc != 0 or "inserts_per_s" not in f:
        res.invalid.append(f"event_db: exit status {rc}: {err.strip()[:200]}")
        return
    res.rows.append(Row("RecordingDb::add_event alone, one transaction per 100 ms", "/s",
                        [float(f["inserts_per_s"])],
                        checks={"events.db_exact": f.get("stored") == f.get("inserts")},
                        extra={"rows": int(f["inserts"]), "stored": int(f["stored"]),
                               "commits": int(f["commits"]),
                               "slowest_commit_ms": float(f["slowest_commit_ms"])}))


def measure(ctx):
    res = Result()
    ring(ctx, res)
    through_shim(ctx, res)
    event_db(ctx, res)
    return res
