"""`faultline enable` returning -> first injection in a target whose threads
are busy in malloc(64)+free (8 threads: the bar; 1 thread: for comparison)."""

import re

from .common import FAULTLINE, Count, Result, Row, program, run, sh

NAME = "enable"
TITLE = "`faultline enable` -> first injection, target threads busy in malloc(64)+free"
PROGRAMS = ["enable_latency", "busy_malloc"]
COUNTS = [Count("reps", 20, 5, "repetitions with 8 busy threads (half as many with 1)")]


def one(ctx, threads, reps):
    session = f"{ctx.tag}-{threads}"
    argv = [program("enable_latency"), FAULTLINE, program("busy_malloc"), session, str(reps),
            str(threads)]
    # `run` records (its default) into a scratch file, not ./faultline.db.
    rc, out, err = run(argv, {"FAULTLINE_DB": f"{ctx.tmp}/enable{threads}.db"}, timeout=150)
    reps_seen = [dict(re.findall(r"(\w+)=(-?[0-9.]+)", line))
                 for line in out.splitlines() if line.startswith("rep=")]
    invalid = []
    e = re.search(r"^error=(.*)$", out, re.M)
    if rc != 0 or e or not reps_seen:
        invalid.append(f"{threads} busy threads: {e.group(1) if e else f'exit status {rc}'} "
                       f"{err.strip()[:200]}")
    return argv, session, reps_seen, invalid


def measure(ctx):
    res = Result()
    reps = ctx.counts["reps"]
    for threads, n in ((8, reps), (1, max(reps // 2, 5))):
        who = f"{threads} busy thread{'s' if threads > 1 else ''}"
        argv, session, reps_seen, invalid = one(ctx, threads, n)
        res.invalid += invalid
        res.commands.append((f"{threads} threads", sh(argv)))
        res.commands.append((f"{threads} threads", "which runs " + sh(
            [FAULTLINE, "run", "-s", session, "--", program("busy_malloc"),
             "/dev/shm/flbench-XXXXXX", str(threads)]) + " in the background, then per rep "
            + sh([FAULTLINE, "enable", "-s", session, "mem.fail"]) + "; "
            + sh([FAULTLINE, "disable", "-s", session, "--all"])))
        if not reps_seen:
            continue
        ret = [float(r["inj_minus_return_us"]) for r in reps_seen]
        start = [float(r["inj_minus_start_us"]) for r in reps_seen]
        wall = [float(r["enable_us"]) for r in reps_seen]
        hit = [int(float(r["threads_hit"])) for r in reps_seen]
        # Negative: the target was failing before the enable process had exited
        # and been reaped (the shim sees a rule as soon as the CLI writes it).
        extra = {"reps": len(ret), "before_reaped": sum(1 for x in ret if x <= 0),
                 "min_threads_hit": f"{min(hit)}/{threads}"}
        res.rows.append(Row(f"{who}: t_inj - t_return", "us", ret,
                            checks={"enable.latency": max(ret)} if threads == 8 else {},
                            extra=extra))
        res.rows.append(Row(f"{who}: t_inj - t_start (round trip)", "us", start))
        res.rows.append(Row(f"{who}: enable wall (t_return - t_start)", "us",
                            wall))
    return res
