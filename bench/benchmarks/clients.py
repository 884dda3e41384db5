"""The report against a real client's own figures: an unmodified load
generator run as a client of the session (`faultline run --client`) counts
its requests, failures and latency itself; the report measures its
exchanges. Both are read and compared: ops, success rate, p50.

  - redis-benchmark against redis-server, whose replies wait 2 ms
    (`net.delay on=send`): ops and p50;
  - ab against nginx with 3% of its allocations failing and its responses
    waiting 20 ms: ops, success (ab: Complete - Failed - Non-2xx), p50
    (ab's is whole milliseconds and includes the connect).
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time

from .common import FAULTLINE, Count, Result, Row, clean_env, remove_db, run, sh

NAME = "clients"
TITLE = "report vs a real client's own figures (run --client; recorded)"
PROGRAMS = []
COUNTS = [
    Count("redis_requests", 20000, 5000, "redis-benchmark GET requests"),
    Count("ab_requests", 2000, 600, "ab requests"),
]

NGINX_CONF = """daemon off;
master_process off;
worker_processes 1;
error_log {d}/error.log;
pid {d}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{ listen 127.0.0.1:{port}; root {d}/www; }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, seconds=10):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def serve(session, db, argv):
    """The server under `faultline run`, recording into db (its own process group)."""
    remove_db(db)
    return subprocess.Popen([FAULTLINE, "run", "-s", session, "-o", db, "--"] + argv,
                            env=clean_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def stop(server):
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def report_totals(db, invalid, label):
    """(ops, success, p50 ms of the busiest window) of the report's json."""
    rc, out, err = run([FAULTLINE, "report", "-o", db, "--format", "json"])
    if rc != 0:
        invalid.append(f"{label}: faultline report: exit {rc}: {err.strip()[:200]}")
        return None
    r = json.loads(out)
    if r.get("source") != "exchanges":
        invalid.append(f"{label}: the report's source is {r.get('source')}, not exchanges")
        return None
    ops = sum(w["ops"] for w in r["windows"])
    failed = sum(w["failed"] for w in r["windows"])
    busiest = max(r["windows"], key=lambda w: w["ops"])
    return ops, (ops - failed) / ops if ops else None, busiest["p50_ms"]


def redis_case(ctx, res):
    if not shutil.which("redis-server") or not shutil.which("redis-benchmark"):
        res.notes.append("redis-server or redis-benchmark missing: not measured")
        return
    port, n = free_port(), ctx.counts["redis_requests"]
    session, db = f"{ctx.tag}-redis", os.path.join(ctx.tmp, "clients-redis.db")
    server = serve(session, db, ["redis-server", "--port", str(port), "--save", "",
                                 "--appendonly", "no"])
    try:
        if not wait_port(port):
            res.invalid.append("redis-server did not start under faultline run")
            return
        run([FAULTLINE, "enable", "-s", session, f"net.delay delay=2ms on=send lport={port}"])
        client = [FAULTLINE, "run", "--client", "-s", session, "--", "redis-benchmark", "-p",
                  str(port), "-t", "get", "-n", str(n), "-c", "10", "--csv"]
        res.commands.append(("redis-benchmark as a client", sh(client)))
        rc, out, err = run(client)
    finally:
        stop(server)
    m = re.search(r'^"GET","([0-9.]+)","([0-9.]+)","([0-9.]+)","([0-9.]+)"', out, re.M)
    if rc != 0 or not m:
        res.invalid.append(f"redis-benchmark: exit {rc}: {(out + err).strip()[:200]}")
        return
    own_p50 = float(m.group(4))
    got = report_totals(db, res.invalid, "redis")
    if not got:
        return
    ops, _success, p50 = got
    res.rows.append(Row("redis-benchmark GET: ops, report / its own", "x", [ops / n], ref=[1],
                        vs="redis-benchmark", checks={"clients.ops": ops / n - 1},
                        extra={"report_ops": ops, "requests": n}))
    res.rows.append(Row("redis-benchmark GET: p50, report / its own", "x",
                        [p50 / own_p50 if p50 else float("nan")], ref=[1], vs="redis-benchmark",
                        checks={"clients.p50": (p50 / own_p50 - 1) if p50 else None},
                        extra={"report_p50_ms": p50, "own_p50_ms": own_p50}))


def ab_figures(out):
    """(complete, failed, non-2xx, p50 ms) of ab's output, or None."""
    def num(pattern):
        m = re.search(pattern, out, re.M)
        return int(m.group(1)) if m else None
    complete, failed = num(r"^Complete requests:\s+(\d+)"), num(r"^Failed requests:\s+(\d+)")
    non2xx, p50 = num(r"^Non-2xx responses:\s+(\d+)") or 0, num(r"^\s+50%\s+(\d+)")
    if complete is None or failed is None or p50 is None:
        return None
    return complete, failed, non2xx, p50


def ab_case(ctx, res):
    if not shutil.which("nginx") or not shutil.which("ab"):
        res.notes.append("nginx or ab (apache2-utils) missing: not measured")
        return
    port, n = free_port(), ctx.counts["ab_requests"]
    d = os.path.join(ctx.tmp, "clients-nginx")
    for sub in ("www", "body", "proxy", "fastcgi", "uwsgi", "scgi"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    with open(os.path.join(d, "www", "index.html"), "w") as f:
        f.write("x" * 2000)
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(NGINX_CONF.format(d=d, port=port))
    session, db = f"{ctx.tag}-nginx", os.path.join(ctx.tmp, "clients-nginx.db")
    server = serve(session, db, ["nginx", "-p", d, "-e", os.path.join(d, "error.log"), "-c",
                                 os.path.join(d, "nginx.conf")])
    try:
        if not wait_port(port):
            res.invalid.append("nginx did not start under faultline run")
            return
        run([FAULTLINE, "enable", "-s", session, "mem.fail p=3%",
             f"net.delay delay=20ms on=send lport={port}"])
        # -l: lengths vary (a failed response is shorter); -r: go on after errors
        client = [FAULTLINE, "run", "--client", "-s", session, "--", "ab", "-l", "-r", "-n",
                  str(n), "-c", "4", f"http://127.0.0.1:{port}/index.html"]
        res.commands.append(("ab as a client", sh(client)))
        rc, out, err = run(client)
    finally:
        stop(server)
    own = ab_figures(out)
    if rc != 0 or not own:
        res.invalid.append(f"ab: exit {rc}: {(out + err).strip()[-300:]}")
        return
    complete, failed, non2xx, own_p50 = own
    got = report_totals(db, res.invalid, "ab")
    if not got:
        return
    ops, success, p50 = got
    own_success = (complete - failed - non2xx) / complete
    res.rows.append(Row("ab, nginx under mem.fail 3%: ops, report / ab's", "x",
                        [ops / complete], ref=[1], vs="ab", checks={"clients.ops": ops /
                                                                    complete - 1},
                        extra={"report_ops": ops, "ab_complete": complete}))
    res.rows.append(Row("ab, nginx under mem.fail 3%: success, report - ab's", "points",
                        [(success - own_success) * 100], ref=[0], vs="ab",
                        checks={"clients.success": success - own_success},
                        extra={"report": round(success, 4), "ab": round(own_success, 4),
                               "ab_failed": failed, "ab_non2xx": non2xx}))
    res.rows.append(Row("ab, nginx under mem.fail 3%: p50, report / ab's", "x",
                        [p50 / own_p50 if p50 else float("nan")], ref=[1], vs="ab",
                        checks={"clients.p50": (p50 / own_p50 - 1) if p50 else None},
                        extra={"report_p50_ms": p50, "ab_p50_ms": own_p50}))


def measure(ctx):
    res = Result()
    redis_case(ctx, res)
    ab_case(ctx, res)
    return res
