"""malloc(64)+free pairs, 1 thread and 2 threads (one per CPU): ns per pair per
thread, the figure each run's fastest chunk of 100,000 pairs; libfiu's
preload beside the shim when fiu-run is installed."""

import re
import shutil
import statistics

from .common import SHIM, Count, Result, Variant, alternate, compare, program, run, run_cmd, sh

NAME = "malloc"
TITLE = "malloc(64)+free pairs: ns per pair per thread (fastest 100,000-pair chunk)"
PROGRAMS = ["malloc_pairs"]
COUNTS = [
    Count("runs", 11, 3, "rounds per variant, alternating"),
    Count("pairs", 20000000, 4000000, "pairs per thread per run"),
]

PROBE = 1 << 30  # malloc(1 GiB) after the loops: NULL only if the rule below is armed
NONMATCHING_RULE = "mem.fail min=1GiB"


def variants(ctx, threads):
    cpus = ctx.cpus
    # One thread: the last CPU (CPU 0 takes most interrupts); two: one per CPU
    # (malloc_pairs pins thread i to the i-th allowed CPU).
    pin = str(cpus[-1]) if threads == 1 else ",".join(map(str, cpus[:threads]))
    prog = [program("malloc_pairs"), str(threads), str(ctx.counts["pairs"]), "64", str(PROBE)]
    taskset = ["taskset", "-c", pin]
    run_ = lambda key, record, rules=(): taskset + run_cmd(ctx.tag, f"{key}{threads}", record,
                                                           rules, ctx.tmp) + prog
    out = [
        Variant("base", taskset + prog, expect="libc"),
        Variant("dormant", taskset + prog, {"LD_PRELOAD": SHIM}, "shim"),
        Variant("idle", run_("idle", False), expect="shim"),
        Variant("armed", run_("armed", False, [NONMATCHING_RULE]), expect="shim+rule"),
        Variant("recorded", run_("rec", True), expect="shim"),
    ]
    if shutil.which("fiu-run"):
        # libfiu's POSIX preload (it wraps malloc, calloc, realloc), remote
        # control on as fiu-run starts it, no failure point enabled. A fifth
        # of the pairs (still >= 10 chunks): at ~6x the cost, the full count
        # would double the benchmark's time.
        fiu = prog[:2] + [str(max(ctx.counts["pairs"] // 5, 1000000))] + prog[3:]
        out.append(Variant("libfiu", taskset + ["fiu-run", "-x"] + fiu, expect="libfiu"))
    return out


def missing_tools():
    return [] if shutil.which("fiu-run") else [
        "fiu-run is not installed (scripts/install-deps installs fiu-utils): no libfiu rows"]


def run_once(v):
    rc, out, err = run(v.argv, v.env)
    problems = []
    if rc != 0:
        problems.append(f"exit status {rc}: {err.strip()[:200]}")
    origin = re.search(r"^malloc_from=(.*)$", out, re.M)
    origin = origin.group(1) if origin else "?"
    per_thread = [float(x) for x in re.findall(r"best_chunk_ns=([0-9.]+)", out)]
    whole = [float(x) for x in re.findall(r"ns_per_op=([0-9.]+)", out)]
    nulls = re.search(r"^nulls=(\d+)$", out, re.M)
    probe = re.search(r"^probe=(\w+)$", out, re.M)
    probe = probe.group(1) if probe else "?"
    want = {"libc": "libc.so", "libfiu": "fiu_posix_preload"}.get(v.expect, "libfaultline")
    if want not in origin:
        problems.append(f"malloc resolves to {origin}, expected {want}")
    if not nulls or nulls.group(1) != "0":
        problems.append("some malloc(64) returned NULL")
    # What the program saw: the 1 GiB probe fails exactly when the rule is armed.
    if v.expect == "shim+rule" and probe != "null":
        problems.append(f"probe malloc(1GiB) gave {probe}: the rule was not armed")
    if v.expect != "shim+rule" and probe != "ok":
        problems.append(f"probe malloc(1GiB) gave {probe} without a rule")
    if not per_thread:
        problems.append("no timing in the output")
    figure = statistics.fmean(per_thread) if per_thread else float("nan")
    whole_v = statistics.fmean(whole) if whole else float("nan")
    return figure, whole_v, per_thread, problems


ROWS = [  # (variant, what, bar)
    ("idle", "shim loaded, no rule armed", "malloc.idle"),
    ("armed", "non-matching mem rule armed (min=1GiB)", "malloc.armed"),
    ("dormant", "LD_PRELOAD only, no session", None),
    ("recorded", "recorded (faultline run, default recorder)", None),
    ("libfiu", "libfiu: fiu-run -x, no failure point enabled", None),
]


def measure(ctx):
    res = Result(notes=missing_tools())
    counts = [1, 2] if len(ctx.cpus) >= 2 else [1]
    for threads in counts:
        vs = variants(ctx, threads)
        figs, wholes, per_thread, invalid = alternate(vs, ctx.counts["runs"], run_once,
                                                      f"{threads} thread(s)")
        res.invalid += invalid
        plural = "thread" if threads == 1 else "threads"
        for key, what, bar in ROWS:
            if key not in figs:
                continue
            extra = {}
            if threads > 1:
                cols = list(zip(*[t for t in per_thread[key] if t]))
                extra["per_thread_ns"] = [round(statistics.median(c), 2) for c in cols]
                if key == "idle":
                    cols = list(zip(*[t for t in per_thread["base"] if t]))
                    extra["base_per_thread_ns"] = [round(statistics.median(c), 2) for c in cols]
            res.rows.append(compare(f"{threads} {plural}: {what}", "ns", figs, wholes, key,
                                    "base", "no shim", [bar] if bar else [], extra))
        for v in vs:
            res.commands.append((f"{threads}T {v.key}", sh(v.argv, v.env)))
    return res
