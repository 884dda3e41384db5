"""net.delay / db.delay accuracy: the delay a real program (python3) measures
itself, minus the same call without the shim, minus the delay asked."""

import re

from .common import FAULTLINE, PYTHON, Count, Result, Row, median, run, sh

NAME = "delay"
TITLE = "net.delay / db.delay: measured by python3 itself, minus its baseline"
PROGRAMS = []
COUNTS = [Count("ms", "10,100,1000", "10,100", "delays asked, in ms")]

# python3 times one connect() to a listener of its own, N times.
CONNECT_PY = r"""
import socket, sys, time
ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(64)
addr = ls.getsockname()
out = []
for i in range(int(sys.argv[1])):
    s = socket.socket()
    t0 = time.perf_counter(); s.connect(addr); out.append(time.perf_counter() - t0)
    c, _ = ls.accept(); c.close(); s.close()
print("ms=" + ",".join(f"{x * 1e3:.4f}" for x in out))
"""

# python3 times one UPDATE (one sqlite3_step in autocommit mode), N times;
# the final SELECT checks that each ran.
STEP_PY = r"""
import sqlite3, sys, time
n = int(sys.argv[1])
db = sqlite3.connect(":memory:", isolation_level=None)
db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER)")
db.execute("INSERT INTO t VALUES (1, 0)")
out = []
for i in range(n):
    t0 = time.perf_counter()
    db.execute("UPDATE t SET v = v + 1 WHERE id = 1")
    out.append(time.perf_counter() - t0)
ok = db.execute("SELECT v FROM t").fetchone()[0] == n
print("ms=" + ",".join(f"{x * 1e3:.4f}" for x in out) + f" ok={int(ok)}")
"""

# The platform's own timer accuracy, for reference: python3 times
# time.sleep(MS) the same way, without the shim.
SLEEP_PY = r"""
import sys, time
d = float(sys.argv[2]) / 1e3
out = []
for i in range(int(sys.argv[1])):
    t0 = time.perf_counter(); time.sleep(d); out.append(time.perf_counter() - t0)
print("ms=" + ",".join(f"{x * 1e3:.4f}" for x in out))
"""

CASES = [  # (label, script name, script, rule template; None: the reference, no shim)
    ("net.delay, python3 connect()", "CONNECT_PY", CONNECT_PY, "net.delay delay={} on=connect"),
    ("db.delay, python3 sqlite3 UPDATE", "STEP_PY", STEP_PY, "db.delay delay={} on=step"),
    ("reference: time.sleep(), no shim", "SLEEP_PY", SLEEP_PY, None),
]


def plan(text):
    """(asked ms, samples): fewer samples for the long delays."""
    return [(float(w), 30 if float(w) <= 20 else 15 if float(w) <= 200 else 6)
            for w in text.split(",")]


def samples(argv, invalid):
    rc, out, err = run(argv)
    m = re.search(r"ms=([0-9.,]+)", out)
    if rc != 0 or not m or "ok=0" in out:
        invalid.append(f"{sh(argv[:2] + ['SCRIPT'] + argv[3:])}: exit status {rc} "
                       f"{err.strip()[:200]}")
        return []
    return [float(x) for x in m.group(1).split(",")]


def pct(xs, q):
    """Nearest-rank percentile."""
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, int(round(q / 100 * len(s) + 0.5)) - 1))]


def measure(ctx):
    res = Result()
    for label, script_name, script, template in CASES:
        base = [0.0]
        if template:
            argv = [PYTHON, "-c", script, "30"]
            base = samples(argv, res.invalid)
            res.commands.append((f"{label}, baseline",
                                 sh(argv[:2] + [script_name] + argv[3:])))
            if not base:
                continue
        b = median(base)
        for ms, n in plan(ctx.counts["ms"]):
            if template:
                rule = template.format(f"{ms:g}ms")
                argv = [FAULTLINE, "run", "-o", "none", "-s", f"{ctx.tag}", "-r", rule, "--",
                        PYTHON, "-c", script, str(n)]
                shown = argv[:-2] + [script_name, argv[-1]]
            else:
                argv = [PYTHON, "-c", script, str(n), f"{ms:g}"]
                shown = argv[:2] + [script_name] + argv[3:]
            res.commands.append((f"{label}, {ms:g} ms", sh(shown)))
            xs = samples(argv, res.invalid)
            errs = [x - b - ms for x in xs]
            extra = {"n": len(xs), "baseline_ms": round(b, 3)} if template else {"n": len(xs)}
            if xs:
                extra["error_p99_ms"] = round(pct(errs, 99), 3)
                if not template:
                    extra["late_median_ms"] = round(median(errs), 3)
            res.rows.append(Row(f"{label}, {ms:g} ms", "ms", xs, ref=[b + ms],
                                vs="asked+base" if template else "asked",
                                checks={"delay.error": median(errs) if xs else None}
                                if template else {}, extra=extra))
    res.commands.append(("", ", ".join(c[1] for c in CASES) + ": the python3 programs in "
                         "bench/benchmarks/delay.py"))
    return res
