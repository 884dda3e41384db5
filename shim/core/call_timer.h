// Measures one intercepted call while a recorder observes its family
// (kObservedBit in the family's mask): its duration into the thread's
// per-function total and, for operations, the family's latency histogram;
// the bytes it moved. Without a recorder it costs nothing, not even a clock
// read; with one, two reads of the time-stamp counter once the recorder has
// calibrated it (common/tsc.h), of CLOCK_MONOTONIC before.
#pragma once

#include "common/hooks.h"
#include "common/segment.h"
#include "common/tsc.h"
#include "shim/core/runtime.h"
#include "shim/core/thread_state.h"
#include "shim/core/trigger.h"

#include <cstdint>

namespace faultline::shim {

class CallTimer {
  public:
    explicit CallTimer(uint64_t mask) {
        if (!(mask & kObservedBit)) return;
        Segment* seg = g_segment;
        ns_q32_ = seg ? seg->tsc_ns_q32.load(std::memory_order_relaxed) : 0;
        start_ = ns_q32_ ? int64_t(tsc_now()) : monotonic_ns();
    }

    // `bytes`: what the call moved (0 when it failed or moves none).
    // `count`: also count the call (the observe path, where no decision
    // counted it).
    void done(Hook hook, uint64_t bytes = 0, bool count = false) const {
        Segment* seg = g_segment;
        ThreadState& ts = tls;
        if (!start_ || !seg || ts.depth) return;
        int64_t took =
            ns_q32_ ? tsc_to_ns(tsc_now() - uint64_t(start_), ns_q32_) : monotonic_ns() - start_;
        prepare_thread(ts);
        Counters c = counters(*seg, ts);
        unsigned h = unsigned(hook);
        if (count) count_call(*seg, ts, hook);
        c.add(c.slot.latency_ns[h], uint64_t(took));
        if (bytes) c.add(c.slot.bytes[h], bytes);
        if (hook_is_operation(hook))
            c.add(c.slot.latency[unsigned(kHooks[h].family)][latency_bucket(took)]);
    }

  private:
    int64_t start_ = 0;   // 0: not timing
    uint32_t ns_q32_ = 0; // the counter's factor when timing with it
};

} // namespace faultline::shim
