// Latency histogram buckets, shared by the shim (which fills them) and the
// report (which reads percentiles out of them). Log-linear: four buckets per
// power of two of microseconds (about ±10% resolution), from under 1 us to
// about 36 minutes. Pure integer arithmetic: the shim calls it on hot paths.
#pragma once

#include <cstdint>

namespace faultline {

constexpr unsigned kLatencyBuckets = 128;

// Bucket 0: below 1024 ns. Then, with us = ns / 1024 and b = floor(log2 us):
// bucket 1 + 4b + (the two bits of `us` below its top bit).
inline unsigned latency_bucket(int64_t ns) {
    if (ns < 1024) return 0;
    uint64_t us = uint64_t(ns) >> 10;
    unsigned b = 63u - unsigned(__builtin_clzll(us));
    unsigned sub = b >= 2 ? unsigned(us >> (b - 2)) & 3u : unsigned(us << (2 - b)) & 3u;
    unsigned i = 1 + 4 * b + sub;
    return i < kLatencyBuckets ? i : kLatencyBuckets - 1;
}

// The smallest latency (ns) that falls in bucket i. (Below 4 us an octave has
// fewer than four distinct values: some buckets there stay empty.)
inline int64_t latency_bucket_floor_ns(unsigned i) {
    if (i == 0) return 0;
    unsigned b = (i - 1) / 4, sub = (i - 1) % 4;
    uint64_t us = (uint64_t(4 + sub) << b) >> 2;
    return int64_t(us << 10);
}

} // namespace faultline
