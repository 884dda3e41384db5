// Layout of the file shared by bench/enable_latency (the driver, no shim) and
// bench/busy_malloc (the target, under the shim). Both sides are built from
// this header by the same compiler; only lock-free atomics are used, so the
// values compare across processes. Times are CLOCK_MONOTONIC, system-wide.
#pragma once

#include <atomic>
#include <cstdint>
#include <ctime>

constexpr unsigned kBusyMaxThreads = 64;

struct alignas(64) ThreadRecord {
    std::atomic<uint64_t> epoch;        // epoch of first_null_ns (0: none yet)
    std::atomic<int64_t> first_null_ns; // first NULL seen in that epoch
    std::atomic<uint64_t> nulls;        // NULLs seen, all epochs
    std::atomic<uint64_t> loops;        // iterations, updated every 1024
};

struct BusyShared {
    std::atomic<uint64_t> epoch; // bumped by the driver before each `enable`
    std::atomic<uint32_t> started;
    std::atomic<uint32_t> stop;
    alignas(64) ThreadRecord threads[kBusyMaxThreads];
};

static_assert(std::atomic<uint64_t>::is_always_lock_free);
static_assert(std::atomic<int64_t>::is_always_lock_free);

inline int64_t busy_now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}
