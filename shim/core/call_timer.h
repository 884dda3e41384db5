// Measures one intercepted call while a recorder observes its family
// (kObservedBit in the family's mask): its duration into the thread's
// per-function total and, for operations, the family's latency histogram;
// the bytes it moved. Without a recorder it costs nothing, not even a clock
// read.
#pragma once

#include "common/hooks.h"
#include "common/segment.h"
#include "shim/core/runtime.h"
#include "shim/core/thread_state.h"

#include <cstdint>

namespace faultline::shim {

class CallTimer {
  public:
    explicit CallTimer(uint64_t mask) : start_(mask & kObservedBit ? monotonic_ns() : 0) {}

    // `bytes`: what the call moved (0 when it failed or moves none).
    // `count`: also count the call (the observe path, where no decision
    // counted it).
    void done(Hook hook, uint64_t bytes = 0, bool count = false) const {
        Segment* seg = g_segment;
        ThreadState& ts = tls;
        if (!start_ || !seg || ts.depth) return;
        int64_t took = monotonic_ns() - start_;
        prepare_thread(ts);
        Counters c = counters(*seg, ts);
        unsigned h = unsigned(hook);
        if (count) c.add(c.slot.calls[h]);
        c.add(c.slot.latency_ns[h], uint64_t(took));
        if (bytes) c.add(c.slot.bytes[h], bytes);
        if (hook_is_operation(hook))
            c.add(c.slot.latency[unsigned(kHooks[h].family)][latency_bucket(took)]);
    }

  private:
    int64_t start_;
};

} // namespace faultline::shim
