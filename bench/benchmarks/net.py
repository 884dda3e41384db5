"""Loopback TCP, 4 KiB messages, client and server pinned to one CPU:
ping-pong (each run's median round trip) and stream (CPU time per message)."""

import os

from .common import SHIM, Count, Result, Variant, alternate, compare, facts, program, \
    recorded_calls, remove_db, run, run_cmd, sh

NAME = "net"
TITLE = ("loopback TCP, 4 KiB messages, client and server on one CPU: ping-pong, the median "
         "round trip; stream, CPU time per message")
PROGRAMS = ["net_pingpong"]
COUNTS = [
    Count("runs", 15, 3, "rounds of ping-pong per variant (stream: 2/3 as many)"),
    Count("trips", 8000, 2000, "ping-pong round trips per run"),
    Count("stream", 30000, 6000, "streamed messages per run"),
]

RULE = "net.delay delay=100ms peer=10.9.9.9"  # no loopback socket matches it
PROBE_HOST = "10.9.9.9"  # the program's UDP connect() there waits 100 ms if armed
PROBE_MS = 100.0


def variants(ctx, mode, count):
    taskset = ["taskset", "-c", str(ctx.cpus[-1])]  # client and server share one CPU
    prog = [program("net_pingpong"), mode, str(count), PROBE_HOST]
    run_ = lambda key, record, rules=(): taskset + run_cmd(ctx.tag, f"{mode}-{key}", record,
                                                           rules, ctx.tmp) + prog
    rec = Variant("recorded", run_("recorded", True), expect="shim")
    rec.db = os.path.join(ctx.tmp, f"{mode}-recorded.db")
    return [
        Variant("base", taskset + prog, expect="libc"),
        Variant("idle", run_("idle", False), expect="shim"),
        Variant("dormant", taskset + prog, {"LD_PRELOAD": SHIM}, "shim"),
        Variant("armed", run_("armed", False, [RULE]), expect="shim+rule"),
        rec,
    ]


def run_once(mode, count, v):
    rc, out, err = run(v.argv, v.env)
    f = facts(out)
    problems = []
    if rc != 0:
        problems.append(f"exit status {rc}: {err.strip()[:200]}")
    origin = f.get("send_from", "?")
    if (v.expect == "libc") == ("libfaultline" in origin):
        problems.append(f"send resolves to {origin}")
    if f.get("bytes_ok") != "1":
        problems.append("messages lost, reordered or corrupted")
    # What the program saw: its UDP connect() to the rule's peer waited only when armed.
    probe = float(f.get("probe_ms", "nan"))
    if v.expect == "shim+rule" and not probe >= PROBE_MS:
        problems.append(f"probe connect took {probe} ms: the rule was not armed")
    if v.expect != "shim+rule" and not probe < PROBE_MS / 2:
        problems.append(f"probe connect took {probe} ms without a rule")
    if v.db:  # the recorder really observed the messages
        sends = recorded_calls(v.db, "send")
        if sends is None or sends < count:
            problems.append(f"the recording holds {sends} send calls, expected >= {count}")
        remove_db(v.db)
    key = "median_ns" if mode == "pingpong" else "cpu_ns_per_op"
    return float(f.get(key, "nan")), float(f.get("ns_per_op", "nan")), None, problems


ROWS = [  # (variant, what, bars of ping-pong)
    ("idle", "shim loaded, no rule armed", ["net.idle"]),
    ("dormant", "LD_PRELOAD only, no session", []),
    ("armed", "non-matching net rule armed", []),
    ("recorded", "recorded (faultline run, default recorder)", ["net.recorded"]),
]


def measure(ctx):
    res = Result()
    runs = ctx.counts["runs"]
    for mode, count, n, what in (
            ("pingpong", ctx.counts["trips"], runs, "ping-pong"),
            ("stream", ctx.counts["stream"], max(runs * 2 // 3, 3), "stream")):
        vs = variants(ctx, mode, count)
        figs, wholes, _x, invalid = alternate(vs, n, lambda v: run_once(mode, count, v), mode)
        res.invalid += invalid
        for key, label, checks in ROWS:
            res.rows.append(compare(f"{what}: {label}", "ns", figs, wholes, key, "base",
                                    "no shim", checks if mode == "pingpong" else []))
        res.commands += [(f"{mode} {v.key}, {n} runs", sh(v.argv, v.env)) for v in vs]
    return res
