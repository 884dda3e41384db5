"""What every benchmark module shares: paths, the row a module returns, running
a program with a clean environment, and the alternating runner.

A module exposes NAME, TITLE, COUNTS (a list of Count) and measure(ctx) -> Result.
It prints nothing: it returns rows (data), the problems that make a
measurement invalid, and the commands it ran. bench/run formats them and
judges every row's checks against the one table of bars (bars.py).
"""

import math
import os
import re
import shlex
import statistics
import subprocess
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build")
FAULTLINE = os.path.join(BUILD, "faultline")
SHIM = os.path.join(BUILD, "libfaultline.so")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3"


def program(name):
    return os.path.join(BUILD, "bench", name)


@dataclass
class Count:
    """A knob of a module: bench/run --NAME-KEY VALUE; `quick` is --quick's value."""
    key: str
    default: object
    quick: object
    help: str


@dataclass
class Row:
    """One measurement. `ref` and `samples` are lists of figures (one per run);
    `vs` says what the reference is. `checks` maps a bar id (bars.py) to the
    value that bar judges. `extra`: further figures of the same measurement."""
    name: str
    unit: str
    samples: list
    ref: list = None
    vs: str = ""
    ratio: float = None
    whole: float = None
    checks: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    alternated: bool = False  # from alternating runs: a wide spread means a busy machine
    judged: bool = True  # False: the checks are shown for comparison, not counted


@dataclass
class Result:
    rows: list = field(default_factory=list)
    invalid: list = field(default_factory=list)
    commands: list = field(default_factory=list)  # (label, shell line)
    notes: list = field(default_factory=list)  # what was not measured, and why


@dataclass
class Ctx:
    """What the driver hands a module: its counts, a tag for session and file
    names (unique to this run), a scratch directory, the CPUs allowed."""
    counts: dict
    tag: str
    tmp: str
    cpus: list
    quick: bool


def median(xs):
    """The median of the figures measured (a failed run's NaN left out)."""
    xs = [x for x in (xs or []) if not (isinstance(x, float) and math.isnan(x))]
    return statistics.median(xs) if xs else float("nan")


def ratio(xs, ref):
    if not xs or not ref:
        return None
    return median(xs) / median(ref)


def clean_env(extra=None):
    """The environment without any faultline or preload setting of the caller's."""
    env = dict(os.environ)
    for k in ("LD_PRELOAD", "FAULTLINE_SESSION", "FAULTLINE_RULES", "FAULTLINE_DB"):
        env.pop(k, None)
    env.update(extra or {})
    return env


def run(argv, env=None, timeout=120):
    """(returncode, stdout, stderr) of argv in a clean environment plus `env`."""
    p = subprocess.run(argv, env=clean_env(env), capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def facts(text):
    """key=value pairs of a program's output (the last one of a key wins)."""
    return dict(re.findall(r"(\w+)=(\S+)", text))


def sh(argv, env=None):
    """A command as one copy-pasteable shell line (paths relative to the repo)."""
    rel = lambda a: os.path.relpath(a, ROOT) if a.startswith(ROOT + "/") else a
    prefix = "".join(f"{k}={shlex.quote(rel(v))} " for k, v in (env or {}).items())
    return prefix + " ".join(shlex.quote(rel(w)) for w in argv)


def run_cmd(tag, key, record, rules=(), rec_dir=None):
    """`faultline run` for a variant: -o none, or recording into rec_dir/KEY.db
    (the default recorder, the mode users run)."""
    out = os.path.join(rec_dir, f"{key}.db") if record else "none"
    argv = [FAULTLINE, "run", "-o", out, "-s", f"{tag}-{key}"]
    for r in rules:
        argv += ["-r", r]
    return argv + ["--"]


def recorded_calls(db, function):
    """Calls of `function` the recorder stored in db (None: no recording there)."""
    import sqlite3
    if not os.path.exists(db):
        return None
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = con.execute("SELECT sum(calls) FROM samples WHERE function = ?",
                          (function,)).fetchone()
        return row[0] or 0
    finally:
        con.close()


def remove_db(db):
    for suffix in ("", "-wal", "-shm"):
        try:
            os.unlink(db + suffix)
        except OSError:
            pass


@dataclass
class Variant:
    key: str
    argv: list
    env: dict = field(default_factory=dict)
    expect: str = ""  # what the program must see; each module's run_once judges it
    db: str = None  # recording file, for a recorded variant


def alternate(variants, runs, run_once, label):
    """Runs every variant `runs` times, the order rotated every round so that
    none always runs first or last. run_once(variant) -> (figure, whole,
    extra, problems). Returns ({key: [figure]}, {key: [whole]}, {key: [extra]},
    invalid)."""
    figures = {v.key: [] for v in variants}
    wholes = {v.key: [] for v in variants}
    extras = {v.key: [] for v in variants}
    invalid = []
    for r in range(runs):
        k = r % len(variants)
        for v in variants[k:] + variants[:k]:
            figure, whole, extra, problems = run_once(v)
            for why in problems:
                invalid.append(f"{label} {v.key}, run {r + 1}: {why}")
            figures[v.key].append(figure)
            wholes[v.key].append(whole)
            extras[v.key].append(extra)
    return figures, wholes, extras, invalid


def compare(name, unit, figures, wholes, key, ref_key, vs, checks=(), extra=None):
    """The row of variant `key` against variant `ref_key`; each bar id in
    `checks` judges the ratio."""
    r = ratio(figures[key], figures[ref_key])
    w = ratio(wholes[key], wholes[ref_key]) if wholes else None
    return Row(name, unit, figures[key], ref=figures[ref_key], vs=vs, ratio=r, whole=w,
               checks={c: r for c in checks}, extra=extra or {}, alternated=True)
