"""epoll_wait and poll over sockets that are all ready (the call returns at
once): ns per call, each run's fastest chunk of 1,000 calls; recorded against
`-o none`, the mode users run against the same shim recording nothing."""

import os

from .common import Count, Result, Variant, alternate, compare, facts, program, \
    recorded_calls, remove_db, run, run_cmd, sh

NAME = "waits"
TITLE = "epoll_wait (16 ready fds, data.ptr) and poll (64 ready fds): ns per call"
PROGRAMS = ["wait_ready"]
COUNTS = [
    Count("runs", 11, 3, "rounds per variant, alternating"),
    Count("calls", 20000, 5000, "timed calls per run"),
]

CASES = [  # (mode, fds, bar of recorded against -o none)
    ("epoll", 16, "waits.epoll"),
    ("poll", 64, "waits.poll"),
]
RULE = "net.delay delay=100ms peer=10.9.9.9"  # no loopback socket matches it
PROBE_HOST = "10.9.9.9"
PROBE_MS = 100.0


def variants(ctx, mode, fds):
    taskset = ["taskset", "-c", str(ctx.cpus[-1])]
    prog = [program("wait_ready"), mode, str(fds), str(ctx.counts["calls"]), PROBE_HOST]
    run_ = lambda key, record, rules=(): taskset + run_cmd(ctx.tag, f"{mode}-{key}", record,
                                                           rules, ctx.tmp) + prog
    rec = Variant("recorded", run_("recorded", True), expect="shim")
    rec.db = os.path.join(ctx.tmp, f"{mode}-recorded.db")
    return [
        Variant("base", taskset + prog, expect="libc"),
        Variant("idle", run_("idle", False), expect="shim"),
        Variant("armed", run_("armed", False, [RULE]), expect="shim+rule"),
        rec,
    ]


def run_once(fds, v):
    rc, out, err = run(v.argv, v.env)
    f = facts(out)
    problems = []
    if rc != 0:
        problems.append(f"exit status {rc}: {err.strip()[:200]}")
    origin = f.get("wait_from", "?")
    if (v.expect == "libc") == ("libfaultline" in origin):
        problems.append(f"the wait resolves to {origin}")
    if f.get("ready_ok") != "1":
        problems.append(f"a call did not report all {fds} fds ready")
    probe = float(f.get("probe_ms", "nan"))
    if v.expect == "shim+rule" and not probe >= PROBE_MS:
        problems.append(f"probe connect took {probe} ms: the rule was not armed")
    if v.expect != "shim+rule" and not probe < PROBE_MS / 2:
        problems.append(f"probe connect took {probe} ms without a rule")
    if v.db:
        # The recorder counts no waits (docs/recording.md); the set-up's one
        # send per connection tells that it observed this process.
        sends = recorded_calls(v.db, "send")
        if sends != fds:
            problems.append(f"the recording holds {sends} send calls, expected {fds}")
        remove_db(v.db)
    return float(f.get("best_chunk_ns", "nan")), float(f.get("ns_per_op", "nan")), None, problems


def measure(ctx):
    res = Result()
    for mode, fds, bar in CASES:
        vs = variants(ctx, mode, fds)
        figs, wholes, _x, invalid = alternate(vs, ctx.counts["runs"],
                                              lambda v: run_once(fds, v), mode)
        res.invalid += invalid
        what = f"{mode}, {fds} ready fds"
        res.rows += [
            compare(f"{what}: recorded, against -o none", "ns", figs, wholes, "recorded", "idle",
                    "-o none", [bar]),
            compare(f"{what}: shim loaded, no rule armed (-o none)", "ns", figs, wholes, "idle",
                    "base", "no shim"),
            compare(f"{what}: non-matching net rule armed", "ns", figs, wholes, "armed", "base",
                    "no shim"),
            compare(f"{what}: recorded, against no shim", "ns", figs, wholes, "recorded", "base",
                    "no shim"),
        ]
        res.commands += [(f"{mode} {v.key}", sh(v.argv, v.env)) for v in vs]
    return res
