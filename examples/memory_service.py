#!/usr/bin/env python3
"""A small stand-in for a service under memory pressure: it handles
"requests" that each need a 64 KiB buffer, for DURATION seconds, and prints
every half second how many succeeded and how many hit MemoryError.

It knows nothing of faultline: the faults come from the shim, through malloc.
"""
import sys
import time

duration = float(sys.argv[1]) if len(sys.argv) > 1 else 6.0
start = time.monotonic()
window_end = start + 0.5
ok = failed = 0
total_ok = total_failed = 0
while True:
    now = time.monotonic()
    if now >= window_end:
        print(f"t={window_end - start:4.1f}s  requests ok={ok:5d}  MemoryError={failed:5d}", flush=True)
        total_ok += ok
        total_failed += failed
        ok = failed = 0
        window_end += 0.5
        if window_end - start > duration + 1e-9:
            break
    try:
        buf = bytearray(64 * 1024)  # large enough to come from malloc, not pymalloc
        buf[0] = 1
        ok += 1
    except MemoryError:
        failed += 1
    time.sleep(0.001)
print(f"total: ok={total_ok} MemoryError={total_failed}", flush=True)
