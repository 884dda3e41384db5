#!/usr/bin/env python3
"""Load generator for memstore: a paced mix of writes, reads and searches.

Requests start on a fixed schedule (request i at start + i/rate), each on its
own thread, so a slow answer never delays the next request: the offered load
stays the same whatever the server does. A request succeeds when it gets the
expected status (201 for a write, 200 for a read or a search) within
--timeout; anything else (an error status, a refused or reset connection, a
late answer) is a failure. Reads ask for ids that earlier writes returned
(and 1..N with --preloaded N), so a 404 is a failure too: a memory the
service acknowledged was lost. Until an id is known, a read is sent as a
write.

    loadgen.py --url http://127.0.0.1:8080 --rate 20 --duration 30 \\
               --mix write=30,read=60,search=10 --log load.log --mark

--log FILE   one line per request, in the order they completed:
             `T KIND ok|fail LATENCY_MS STATUS`, T the monotonic time
             (CLOCK_MONOTONIC, seconds) the request was sent, STATUS 0 when
             there was no HTTP answer.
--mark       report each outcome to a faultline session as it completes:
             `$FAULTLINE mark -s $FAULTLINE_SESSION ok|fail LABEL` (LABEL:
             the kind, and for a failure why: `read-503`, `write-timeout`),
             started without waiting and reaped later.

It stops sending at --duration and returns at most --timeout later (plus
half a second to reap the last marks): a request still running then is
counted as failed (timeout). The summary goes to stdout (--json: one object).
Standard library only.
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

# The same words as the server's --preload memories, so that searches find them.
WORDS = (
    "river mountain coffee garden meeting project deadline birthday travel "
    "music python server database network memory cache upstream recipe "
    "weekend morning evening letter friend family budget invoice doctor "
    "train airport museum library concert holiday market bicycle kitchen"
).split()
EXPECTED_STATUS = {"write": 201, "read": 200, "search": 200}
MARK_REAP_GRACE = 0.5  # seconds the last marks get to finish after the run


# --------------------------------------------------------------------------
# Requests


class Outcome:
    """What one request came to."""

    __slots__ = ("kind", "sent", "ok", "latency", "status", "reason")

    def __init__(self, kind, sent, ok, latency, status, reason):
        self.kind, self.sent, self.ok = kind, sent, ok
        self.latency, self.status, self.reason = latency, status, reason

    def label(self):
        """The mark's label: the kind, and why it failed."""
        return self.kind if self.ok else f"{self.kind}-{self.reason}"


def make_request(base_url, kind, rng, known_ids):
    """(kind, urllib Request) for one request of KIND. A read with no known
    id yet becomes a write."""
    if kind == "read":
        memory_id = known_ids.pick(rng)
        if memory_id is None:
            kind = "write"
        else:
            return kind, urllib.request.Request(f"{base_url}/memories/{memory_id}")
    if kind == "search":
        return kind, urllib.request.Request(f"{base_url}/memories?q={rng.choice(WORDS)}")
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 14)))
    body = json.dumps({"text": text}).encode("utf-8")
    return kind, urllib.request.Request(
        f"{base_url}/memories", data=body, method="POST",
        headers={"Content-Type": "application/json"},
    )


def perform(opener, kind, request, timeout):
    """Send REQUEST; (Outcome, response body or None)."""
    sent = time.monotonic()
    status, body, reason = 0, None, ""
    try:
        with opener.open(request, timeout=timeout) as response:
            status = response.status
            body = response.read()
    except urllib.error.HTTPError as exc:
        status = exc.code
        exc.close()
    except urllib.error.URLError as exc:
        reason = reason_of(exc.reason)
    except Exception as exc:  # reset, timeout, malformed answer...
        reason = reason_of(exc)
    latency = time.monotonic() - sent
    ok = status == EXPECTED_STATUS[kind] and latency <= timeout
    if not ok and not reason:
        reason = "timeout" if latency > timeout else str(status)
    return Outcome(kind, sent, ok, latency, status, reason), body


def reason_of(exc):
    """A one-word reason for a failure without an HTTP status."""
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ConnectionResetError):
        return "reset"
    if isinstance(exc, str):
        return "timeout" if "timed out" in exc else "error"
    return "error"


class KnownIds:
    """Ids the server returned for writes: what reads ask for."""

    def __init__(self, ids=()):
        self._lock = threading.Lock()
        self._ids = list(ids)

    def add(self, memory_id):
        with self._lock:
            self._ids.append(memory_id)

    def pick(self, rng):
        with self._lock:
            return rng.choice(self._ids) if self._ids else None


# --------------------------------------------------------------------------
# Outcomes: the log, the marks, the tally


class Marker:
    """Reports outcomes with `faultline mark`, without waiting for it: each
    mark is a process, started at once and reaped later (reap())."""

    def __init__(self, binary, session):
        self._argv = [binary, "mark", "-s", session]
        self._lock = threading.Lock()
        self._running = []
        self.failed = 0  # marks that exited non-zero, were killed, or could not start

    def mark(self, outcome):
        try:
            proc = subprocess.Popen(
                self._argv + ["--duration", f"{outcome.latency * 1000:.3f}ms",
                              "ok" if outcome.ok else "fail", outcome.label()],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,  # its errors: on our stderr
            )
        except OSError as exc:
            with self._lock:
                self._failure(f"cannot run {self._argv[0]}: {exc}")
            return
        with self._lock:
            self._running.append(proc)

    def reap(self, until=None):
        """Collect the marks that have finished. With `until` (a monotonic
        time): wait for the others until then, and kill what is left."""
        while True:
            with self._lock:
                done = [p for p in self._running if p.poll() is not None]
                self._running = [p for p in self._running if p.returncode is None]
                for proc in done:
                    if proc.returncode != 0:
                        self._failure(f"`{' '.join(proc.args)}` exited {proc.returncode}")
                left = list(self._running)
            if until is None or not left:
                return
            if time.monotonic() >= until:
                for proc in left:
                    proc.kill()
                    proc.wait()
                with self._lock:
                    self._running = []
                    self._failure(f"{len(left)} still running after the run: killed", len(left))
                return
            time.sleep(0.01)

    def _failure(self, message, count=1):
        """Count failed marks (self._lock held), and say why for the first few."""
        if self.failed < 5:
            print(f"loadgen: mark: {message}", file=sys.stderr)
        self.failed += count


class Tally:
    """Every request from start to outcome. Closed at the end: requests
    still out are counted as timeouts, and their late answers are ignored."""

    def __init__(self, log_file, marker):
        self._lock = threading.Condition()
        self._log = log_file
        self._marker = marker
        self._in_flight = {}  # token -> (kind, time sent)
        self._next_token = 0
        self._closed = False
        self.outcomes = []

    def started(self, kind):
        """A request is going out now; the token to finish it with."""
        with self._lock:
            self._next_token += 1
            self._in_flight[self._next_token] = (kind, time.monotonic())
            return self._next_token

    def finished(self, token, outcome):
        with self._lock:
            if self._closed:
                return
            del self._in_flight[token]
            self._record(outcome)
            self._lock.notify_all()

    def wait_idle(self, until):
        """Wait until no request is out, or the monotonic time `until`."""
        with self._lock:
            while self._in_flight and time.monotonic() < until:
                self._lock.wait(max(0.0, until - time.monotonic()))

    def close(self):
        """Stop counting: what is still out failed (timeout)."""
        with self._lock:
            now = time.monotonic()
            for kind, sent in self._in_flight.values():
                self._record(Outcome(kind, sent, False, now - sent, 0, "timeout"))
            self._in_flight.clear()
            self._closed = True

    def _record(self, outcome):
        self.outcomes.append(outcome)
        if self._log is not None:
            self._log.write(f"{outcome.sent:.6f} {outcome.kind} {'ok' if outcome.ok else 'fail'} "
                            f"{outcome.latency * 1000:.3f} {outcome.status}\n")
        if self._marker is not None:
            self._marker.mark(outcome)


# --------------------------------------------------------------------------
# The run


def parse_mix(text):
    """`write=30,read=60,search=10` -> [(kind, weight)]."""
    mix = []
    for part in text.split(","):
        kind, sep, weight = part.partition("=")
        kind = kind.strip()
        if not sep or kind not in EXPECTED_STATUS:
            raise argparse.ArgumentTypeError(f"bad mix entry {part!r}: expected write=N, read=N or search=N")
        try:
            w = float(weight.rstrip("%"))
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad weight in {part!r}") from None
        if w < 0:
            raise argparse.ArgumentTypeError(f"negative weight in {part!r}")
        mix.append((kind, w))
    if sum(w for _, w in mix) <= 0:
        raise argparse.ArgumentTypeError("the mix needs a positive weight")
    return mix


def run(args, tally, marker, rng):
    """Send requests on schedule for args.duration; return when all have
    answered, or args.timeout after the end. Returns the time spent sending."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    known_ids = KnownIds(range(1, args.preloaded + 1))
    kinds, weights = zip(*args.mix)

    def worker(token, kind, request):
        outcome, body = perform(opener, kind, request, args.timeout)
        if outcome.ok and kind == "write":
            try:
                known_ids.add(json.loads(body)["id"])
            except (ValueError, KeyError, TypeError):
                pass
        tally.finished(token, outcome)

    start = time.monotonic()
    end = start + args.duration
    sent = 0
    while True:
        due = start + sent / args.rate
        if due >= end:
            break
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        if marker is not None:
            marker.reap()
        kind, request = make_request(args.url, rng.choices(kinds, weights)[0], rng, known_ids)
        token = tally.started(kind)
        try:
            threading.Thread(target=worker, args=(token, kind, request), daemon=True).start()
        except RuntimeError:  # no thread to be had: a failed request
            tally.finished(token, Outcome(kind, time.monotonic(), False, 0.0, 0, "client"))
        sent += 1
    sending_time = max(args.duration, time.monotonic() - start)
    tally.wait_idle(end + args.timeout)
    tally.close()
    return sending_time


def percentile(sorted_values, p):
    """Nearest rank: the ceil(p*n)-th smallest value, None if empty."""
    if not sorted_values:
        return None
    rank = max(1, -(-p * len(sorted_values) // 1))
    return sorted_values[int(rank) - 1]


def summarize(outcomes, sending_time, marker):
    latencies = sorted(o.latency * 1000 for o in outcomes)
    ok = sum(o.ok for o in outcomes)
    by_kind = {}
    for o in outcomes:
        entry = by_kind.setdefault(o.kind, {"requests": 0, "ok": 0})
        entry["requests"] += 1
        entry["ok"] += o.ok
    return {
        "requests": len(outcomes),
        "ok": ok,
        "failed": len(outcomes) - ok,
        "success_rate": ok / len(outcomes) if outcomes else None,
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "achieved_rate": len(outcomes) / sending_time if sending_time > 0 else None,
        "by_kind": by_kind,
        "failures": count_reasons(outcomes),
        "marks_failed": marker.failed if marker is not None else None,
    }


def count_reasons(outcomes):
    reasons = {}
    for o in outcomes:
        if not o.ok:
            reasons[o.label()] = reasons.get(o.label(), 0) + 1
    return dict(sorted(reasons.items()))


def print_summary(s):
    def fmt(x, spec):
        return "-" if x is None else format(x, spec)

    print(f"requests:      {s['requests']}")
    print(f"ok:            {s['ok']}")
    print(f"failed:        {s['failed']}")
    rate = s["success_rate"]
    print(f"success rate:  {fmt(None if rate is None else rate * 100, '.1f')}%")
    print(f"p50 latency:   {fmt(s['p50_ms'], '.1f')} ms")
    print(f"p99 latency:   {fmt(s['p99_ms'], '.1f')} ms")
    print(f"achieved rate: {fmt(s['achieved_rate'], '.1f')} req/s")
    for kind, e in sorted(s["by_kind"].items()):
        print(f"  {kind:7s} {e['ok']}/{e['requests']} ok")
    if s["failures"]:
        print("failures:      " + ", ".join(f"{k} {v}" for k, v in s["failures"].items()))
    if s["marks_failed"]:
        print(f"marks failed:  {s['marks_failed']}")


def parse_args(argv):
    p = argparse.ArgumentParser(description="Paced load for memstore; a summary at the end.")
    p.add_argument("--url", default="http://127.0.0.1:8080", help="the server (default %(default)s)")
    p.add_argument("--rate", type=float, default=20.0, help="requests per second (default %(default)s)")
    p.add_argument("--duration", type=float, default=10.0, help="seconds of sending (default %(default)s)")
    p.add_argument("--mix", type=parse_mix, default=parse_mix("write=30,read=60,search=10"),
                   help="weights of each kind (default write=30,read=60,search=10)")
    p.add_argument("--timeout", type=float, default=1.0, help="seconds per request (default %(default)s)")
    p.add_argument("--mark", action="store_true",
                   help="report each outcome with `faultline mark` ($FAULTLINE, $FAULTLINE_SESSION)")
    p.add_argument("--log", help="one line per request: T KIND ok|fail LATENCY_MS STATUS")
    p.add_argument("--preloaded", type=int, default=0, metavar="N",
                   help="ids 1..N exist already (server.py --preload N): reads ask for them too")
    p.add_argument("--seed", type=int, help="seed of the request mix and texts (default: random)")
    p.add_argument("--wait-ready", type=float, default=10.0, metavar="S",
                   help="first wait up to S seconds for GET /health to answer 200, so that a "
                        "service still starting is not counted as failing (default %(default)s; 0: no wait)")
    p.add_argument("--json", action="store_true", help="print the summary as one json object")
    args = p.parse_args(argv)
    if args.rate <= 0 or args.duration < 0 or args.timeout <= 0:
        p.error("--rate and --timeout must be positive, --duration not negative")
    args.url = args.url.rstrip("/")
    return args


def make_marker(args):
    """The Marker for --mark, or None; exits 2 when it cannot work."""
    if not args.mark:
        return None
    session = os.environ.get("FAULTLINE_SESSION", "")
    binary = shutil.which(os.environ.get("FAULTLINE", "faultline"))
    if not session or not binary:
        sys.exit("loadgen: --mark needs $FAULTLINE_SESSION and a faultline binary "
                 "($FAULTLINE or faultline in PATH)")
    return Marker(binary, session)


def listening(url):
    """Whether a socket listens on the url's local TCP port, from
    /proc/net/tcp{,6} (state 0A); None when that cannot be told (not Linux,
    not a local address)."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.hostname not in ("127.0.0.1", "localhost", "::1") or not parsed.port:
        return None
    port = f"{parsed.port:04X}"
    seen = False
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        seen = True
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[1].endswith(":" + port) and fields[3] == "0A":
                return True
    return False if seen else None


def wait_ready(url, seconds):
    """Polls GET /health every 50 ms until it answers 200 or `seconds` pass.
    Returns whether it did. (Load that starts before its service is up
    measures the start-up, not the service.) Until the port listens (when
    /proc tells) it does not connect: run as a faultline client, each
    refused connect would be a failed exchange, the service's start-up
    counted in the baseline."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and listening(url) is False:
        time.sleep(0.05)
    while time.monotonic() < deadline:
        try:
            with opener.open(url + "/health", timeout=0.5) as response:
                if response.status == 200:
                    return True
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    return False


def main(argv):
    args = parse_args(argv)
    if args.wait_ready > 0 and not wait_ready(args.url, args.wait_ready):
        print(f"loadgen: {args.url}/health did not answer 200 within {args.wait_ready:g} s; "
              "sending anyway", file=sys.stderr)
    marker = make_marker(args)
    log_file = open(args.log, "w", encoding="utf-8") if args.log else None
    try:
        tally = Tally(log_file, marker)
        sending_time = run(args, tally, marker, random.Random(args.seed))
        if marker is not None:
            marker.reap(until=time.monotonic() + MARK_REAP_GRACE)
    finally:
        if log_file is not None:
            log_file.close()
    summary = summarize(tally.outcomes, sending_time, marker)
    if args.json:
        print(json.dumps(summary))
    else:
        print_summary(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
