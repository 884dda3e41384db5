"""The performance bars: the one table, and the one check.

A row of a benchmark names the bars it is judged against (Row.checks: bar id
-> the measured value); judge() below is the only place a value meets a bar.
"""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    op: str  # "max": value <= limit; "min": value >= limit; "abs": |value| <= limit;
    #          "range": limit[0] <= value <= limit[1]; "true": value is true
    limit: object
    short: str  # as printed in the table's bar column
    what: str
    show: object = None  # value -> text for the verdict; None: another column shows it


BARS = {
    # overhead, no recorder (-o none), against the same program without the shim
    "malloc.idle": Bar("max", 1.10, "<=1.10x", "malloc(64)+free, shim loaded, no rule armed"),
    "malloc.armed": Bar("max", 1.50, "<=1.50x", "malloc(64)+free, a non-matching mem rule armed"),
    "net.idle": Bar("max", 1.02, "<=1.02x", "loopback 4 KiB ping-pong, no rule armed"),
    "sqlite.idle": Bar("max", 1.03, "<=1.03x", "SQLite insert/select loop, no rule armed"),
    # recorded: `faultline run` with its default recorder
    "waits.epoll": Bar("max", 1.15, "<=1.15x", "recorded epoll_wait, 16 ready fds registered "
                       "with data.ptr, against -o none"),
    "waits.poll": Bar("max", 1.15, "<=1.15x", "recorded poll over 64 ready fds, against -o none"),
    "net.recorded": Bar("max", 1.15, "<=1.15x",
                        "recorded loopback 4 KiB ping-pong, against no shim"),
    "sqlite.recorded": Bar("max", 1.15, "<=1.15x",
                           "recorded SQLite insert/select loop, against no shim"),
    # live arming
    "enable.latency": Bar("max", 1000.0, "<=1000us",
                          "`enable` returning -> first injection, 8 busy threads (the max)",
                          lambda v: f"max {v:.0f} us"),
    # fault accuracy
    "bandwidth.rate": Bar("range", (0.95, 1.05), "+-5%",
                          "net.bandwidth achieved / asked rate, 100 KB/s to 100 MB/s, 2 s",
                          lambda v: f"{(v - 1) * 100:+.1f}%"),
    "bandwidth.cpu": Bar("max", 0.50, "cpu<=50%", "no busy spin: client CPU <= 50% of its wall",
                         lambda v: f"cpu {v * 100:.0f}%"),
    "bandwidth.bytes_per_call": Bar("min", 256, ">=256B/call",
                                    "no busy spin: >= 256 bytes per recv/send/wait call",
                                    lambda v: f"{v:.0f} B/call"),
    "bandwidth.intact": Bar("true", None, "intact", "every byte arrived intact, no stall"),
    "delay.error": Bar("abs", 1.0, "+-1ms",
                       "net.delay / db.delay 10 ms to 1 s: median error within 1 ms",
                       lambda v: f"{v:+.3f} ms"),
    # injection events
    "ring.flat": Bar("min", 1e6, ">=1M/s", "event ring flat out: >= 1 M records/s stored"),
    "ring.paced": Bar("max", 0, "none lost", "event ring paced at 1-2 M/s: no record dropped",
                      lambda v: f"{v * 100:.3f}% dropped"),
    "ring.exact": Bar("true", None, "exact",
                      "event ring: each record popped once, in order; drops counted"),
    "events.flat": Bar("min", 1e6, ">=1M/s",
                       "injections flat out from 2 threads with the recorder: >= 1 M/s"),
    "events.lossless": Bar("max", 0, "none lost",
                           "paced injections the recorder keeps up with: no event dropped",
                           lambda v: f"{v:,} dropped"),
    "events.exact": Bar("true", None, "exact",
                        "stored + dropped events == injected == NULLs the program got"),
    "events.db_exact": Bar("true", None, "exact", "RecordingDb::add_event: all rows stored"),
    # the report against a real client's own figures (run --client)
    "clients.ops": Bar("abs", 0.02, "+-2%", "report's ops vs the client's own count",
                       lambda v: f"{v * 100:+.2f}%"),
    "clients.success": Bar("abs", 0.03, "+-3pt", "report's success rate vs the client's own",
                           lambda v: f"{v * 100:+.2f} pt"),
    "clients.p50": Bar("abs", 0.10, "+-10%", "report's p50 vs the client's own",
                       lambda v: f"{v * 100:+.1f}%"),
}


def judge(bar_id, value):
    """Whether `value` meets bar `bar_id` (no measurement never does)."""
    bar = BARS[bar_id]
    if bar.op == "true":
        return bool(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    if bar.op == "max":
        return value <= bar.limit
    if bar.op == "min":
        return value >= bar.limit
    if bar.op == "abs":
        return abs(value) <= bar.limit
    if bar.op == "range":
        return bar.limit[0] <= value <= bar.limit[1]
    raise ValueError(f"bar {bar_id}: unknown op {bar.op}")
