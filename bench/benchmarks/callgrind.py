"""Instructions per malloc(64)+free pair, 1 thread, under valgrind's callgrind:
deterministic (no noise), but instructions are not time."""

import os
import re
import shutil

from .common import SHIM, Count, Result, Row, program, run, sh
from .malloc import NONMATCHING_RULE, PROBE

NAME = "callgrind"
TITLE = "instructions per malloc(64)+free pair, 1 thread (valgrind --tool=callgrind)"
PROGRAMS = ["malloc_pairs"]
COUNTS = [Count("pairs", 200000, 100000,
                "pairs of the shorter run (the longer makes twice as many)")]


def instructions(ctx, n, env):
    """Instructions the whole program executes for malloc_pairs 1 N; its output."""
    out = os.path.join(ctx.tmp, "callgrind.out")
    argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
            program("malloc_pairs"), "1", str(n), "64", str(PROBE)]
    rc, stdout, stderr = run(argv, env, timeout=300)
    try:
        os.unlink(out)
    except OSError:
        pass
    m = re.search(r"Collected : (\d+)", stderr)
    return (int(m.group(1)) if m and rc == 0 else None), stdout, argv


def measure(ctx):
    res = Result()
    if not shutil.which("valgrind"):
        res.notes.append("skipped: valgrind is not installed (scripts/install-deps installs it)")
        return res
    n1 = ctx.counts["pairs"]
    n2 = 2 * n1
    total = lambda n: n + n // 10 + 1000  # malloc_pairs warms up with PAIRS/10 + 1000 pairs
    # FAULTLINE_SESSION/FAULTLINE_RULES instead of `faultline run`: only the
    # target runs under valgrind.
    variants = [
        ("base", "without shim", {}, "libc"),
        ("dormant", "LD_PRELOAD only, no session", {"LD_PRELOAD": SHIM}, "shim"),
        ("idle", "session, no rule armed",
         {"LD_PRELOAD": SHIM, "FAULTLINE_SESSION": f"{ctx.tag}-idle"}, "shim"),
        ("armed", f"session, '{NONMATCHING_RULE}'",
         {"LD_PRELOAD": SHIM, "FAULTLINE_SESSION": f"{ctx.tag}-armed",
          "FAULTLINE_RULES": NONMATCHING_RULE}, "shim+rule"),
    ]
    per_pair = {}
    for key, label, env, expect in variants:
        irs = []
        for n in (n1, n2):
            ir, out, argv = instructions(ctx, n, env)
            if "FAULTLINE_SESSION" in env:  # a shim-created session persists: remove it
                try:
                    os.unlink(f"/dev/shm/faultline.{env['FAULTLINE_SESSION']}")
                except OSError:
                    pass
            origin_ok = ("libfaultline" in out) == (expect != "libc")
            probe_ok = ("probe=null" in out) == (expect == "shim+rule")
            if ir is None or not origin_ok or not probe_ok:
                res.invalid.append(f"{key}: the run failed or did not see the expected shim/rule")
                ir = None
            irs.append(ir)
        words = argv[:2] + ["--callgrind-out-file=OUT"] + argv[3:5] + ["N"] + argv[6:]
        res.commands.append((f"{key}, N={n1},{n2}", sh(words, env)))
        per_pair[key] = None if None in irs else (irs[1] - irs[0]) / (total(n2) - total(n1))
        if per_pair[key] is None:
            continue
        base = per_pair.get("base")
        if key == "base":
            res.rows.append(Row(f"Ir per pair: {label}", "Ir", [per_pair[key]]))
        else:
            res.rows.append(Row(f"Ir per pair: {label}", "Ir", [per_pair[key]],
                                ref=[base] if base else None, vs="no shim",
                                ratio=per_pair[key] / base if base else None,
                                extra={"added_ir": round(per_pair[key] - base, 1)} if base else {}))
    return res
