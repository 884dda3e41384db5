"""net.bandwidth accuracy: achieved / asked rate of six loopback clients
(five receivers waiting in different ways, one sender), beside trickle."""

import re
import shutil
import subprocess
import time

from .common import FAULTLINE, Count, Result, Row, clean_env, program, sh

NAME = "bandwidth"
TITLE = "net.bandwidth: achieved / asked rate, beside trickle"
PROGRAMS = ["net_rate"]
COUNTS = [
    Count("rates", "100KB/s,1MB/s,10MB/s,100MB/s", "100KB/s,10MB/s", "rates asked"),
    Count("seconds", 2.05, 2.05, "transfer length at the asked rate"),
]

CLIENTS = ["recv", "poll", "select", "epoll", "epollet", "send"]
STALL = 2  # seconds without a byte: the client gives up (trickle's stalled EPOLLET)


def rates(text):
    out = []
    for word in text.split(","):
        m = re.fullmatch(r"([0-9.]+)(KB|MB)/s", word.strip())
        if not m:
            raise SystemExit(f"faultline: bench: --bandwidth-rates: bad rate {word!r}")
        out.append((word.strip(), float(m.group(1)) * (1e3 if m.group(2) == "KB" else 1e6)))
    return out


def command(ctx, tool, rate_s, rate, client, port, nbytes, index):
    """(argv, asked rate in bytes/s) of one shaped client."""
    direction = "send" if client == "send" else "recv"
    prog = [program("net_rate"), client, str(port), str(nbytes), str(STALL)]
    if tool == "faultline":
        rule = f"net.bandwidth rate={rate_s} dir={direction}"
        return [FAULTLINE, "run", "-o", "none", "-s", f"{ctx.tag}-{index}", "-r", rule,
                "--"] + prog, rate
    kb = max(1, round(rate / 1024))  # trickle's KB/s are 1024 bytes
    return ["trickle", "-s", "-u" if direction == "send" else "-d", str(kb)] + prog, kb * 1024.0


def run_group(cmds, seconds):
    """Runs the clients of one group at once; their parsed output lines."""
    procs = [subprocess.Popen(argv, env=clean_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for argv, _asked in cmds]
    out = []
    deadline = time.monotonic() + 4 * seconds + 20
    for p in procs:
        try:
            so, se = p.communicate(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            so, se = p.communicate()
            se = "killed: timed out " + se
        f = dict(re.findall(r"(\w+)=(\S+)", so))
        if "wall" not in f:
            f = {"error": (se.strip() or f"exit status {p.returncode}")[:120]}
        out.append(f)
    return out


def row(rate_s, client, tool, asked, nbytes, f, group_wall):
    name = f"{rate_s} {client}: {tool}"
    if "error" in f:
        return Row(name, "B/s", [], ref=[asked], vs="asked",
                   checks={"bandwidth.rate": None, "bandwidth.intact": False},
                   extra={"failed": f["error"]}, judged=tool == "faultline")
    got, wall, cpu = int(f["bytes"]), float(f["wall"]), float(f["cpu"])
    calls = int(f.get("calls", 0)) + int(f.get("waits", 0))
    achieved = got / wall
    checks = {"bandwidth.rate": achieved / asked, "bandwidth.cpu": cpu / wall,
              "bandwidth.bytes_per_call": got / calls if calls else float(got),
              "bandwidth.intact": f.get("ok") == "1"}
    extra = {"calls": f"{f['calls']}+{f['waits']}",
             "group_wall_s": round(group_wall, 1)}
    if f.get("ok") != "1":
        extra["stalled" if got < nbytes else "bad_data"] = True
    return Row(name, "B/s", [achieved], ref=[asked], vs="asked", ratio=achieved / asked,
               checks=checks, extra=extra, judged=tool == "faultline")


def measure(ctx):
    res = Result()
    have_trickle = shutil.which("trickle") is not None
    if not have_trickle:
        res.notes.append("trickle is not installed (scripts/install-deps installs it): no "
                         "trickle rows")
    seconds = float(ctx.counts["seconds"])
    server = subprocess.Popen([program("net_rate"), "serve"], env=clean_env(),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    shown = set()
    try:
        line = server.stdout.readline()
        if not line.strip().isdigit():
            res.invalid.append(f"`net_rate serve` did not start: {line.strip()!r}")
            return res
        port = int(line)
        index = 0
        for rate_s, rate in rates(ctx.counts["rates"]):
            nbytes = int(rate * seconds)
            for tool in ["faultline", "trickle"] if have_trickle else ["faultline"]:
                cmds = []
                for client in CLIENTS:
                    cmds.append(command(ctx, tool, rate_s, rate, client, port, nbytes, index))
                    index += 1
                t0 = time.monotonic()
                lines = run_group(cmds, seconds)
                wall = time.monotonic() - t0
                for client, (argv, asked), f in zip(CLIENTS, cmds, lines):
                    res.rows.append(row(rate_s, client, tool, asked, nbytes, f, wall))
                    if (tool, client) not in shown:
                        shown.add((tool, client))
                        i = argv.index(program("net_rate"))
                        words = argv[:i + 2] + ["PORT", "BYTES"] + argv[i + 4:]
                        if tool == "trickle":
                            words[3] = "KB"
                        res.commands.append((f"{tool} {client}", sh(words)))
    finally:
        server.stdin.close()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
    res.commands.append(("", f"PORT: printed by `{sh([program('net_rate'), 'serve'])}`; "
                         f"BYTES = rate x {seconds:g} s; KB = rate / 1024, rounded; the six "
                         "clients of one tool run at once"))
    return res
