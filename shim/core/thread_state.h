// Per-thread state of the shim: plain data in initial-exec TLS (docs/pitfalls.md, item 3),
// so touching it never allocates, not even on a thread's first call.
#pragma once

#include "common/segment.h"

#include <cstdint>

namespace faultline::shim {

struct ThreadState {
    int depth;    // > 0 inside the shim's own code: nested calls go straight through
    int db_depth; // > 0 inside an intercepted SQLite call: SQLite calling its own
                  // API is neither counted nor faulted (docs/pitfalls.md, item 13)
    int32_t tid;
    int32_t pid;
    uint32_t process_gen; // g_process_gen when the fields below were set
    uint32_t ordinal;     // order in which this thread first reached a slow path
    uint64_t rng;         // splitmix64 state, seeded per thread
    ThreadSlot* slot;     // this thread's counters in the segment; null: overflow
    bool ready;           // the fields above are valid for this process
    bool resolving;       // resolving originals: allocations go to the arena
    bool error_counted;   // the current net call's failure was counted where injected
};

extern __thread ThreadState tls __attribute__((tls_model("initial-exec")));

extern std::atomic<uint32_t> g_process_gen; // bumped in every fork child (runtime.h)

// Makes tls valid for the current process (first use, or first use after
// fork): claims a counter slot and seeds the random stream. Inline: every
// slow path asks, and the answer is nearly always "ready" (two loads).
void prepare_thread_slow(ThreadState& ts);
inline void prepare_thread(ThreadState& ts) {
    if (__builtin_expect(
            ts.ready && ts.process_gen == g_process_gen.load(std::memory_order_relaxed), 1))
        return;
    prepare_thread_slow(ts);
}

// The thread's counters: its own slot, or the shared overflow slot when all
// slots are taken. Own slot: single writer, so a plain load+store suffices and
// no lock prefix lands on the hot path. Overflow: atomic adds.
struct Counters {
    ThreadSlot& slot;
    bool owned;
    void add(std::atomic<uint64_t>& c, uint64_t n = 1) const {
        if (owned)
            c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
        else
            c.fetch_add(n, std::memory_order_relaxed);
    }
};

inline Counters counters(Segment& seg, const ThreadState& ts) {
    return ts.slot ? Counters{*ts.slot, true} : Counters{seg.overflow, false};
}

// Uniform 64-bit draw from the thread's stream.
inline uint64_t next_random(ThreadState& ts) {
    uint64_t z = (ts.rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

inline double next_unit(ThreadState& ts) {
    return double(next_random(ts) >> 11) * 0x1.0p-53;
}

// Marks the thread as inside a hook for its lifetime (docs/pitfalls.md, item 2).
class HookScope {
  public:
    explicit HookScope(ThreadState& ts) : ts_(ts) { ++ts_.depth; }
    ~HookScope() { --ts_.depth; }
    HookScope(const HookScope&) = delete;
    HookScope& operator=(const HookScope&) = delete;

  private:
    ThreadState& ts_;
};

} // namespace faultline::shim
