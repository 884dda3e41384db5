#include "shim/core/trigger.h"

#include <cerrno>

namespace faultline::shim::detail {

unsigned armed_in_order(const Segment& seg, uint64_t mask, uint8_t* out) {
    unsigned n = 0;
    mask &= kRuleBits;
    while (mask) {
        unsigned i = unsigned(__builtin_ctzll(mask));
        mask &= mask - 1;
        // Insertion sort by arming order: there are rarely more than a few.
        unsigned j = n++;
        while (j > 0 && seg.rules[out[j - 1]].arm_seq > seg.rules[i].arm_seq) {
            out[j] = out[j - 1];
            --j;
        }
        out[j] = uint8_t(i);
    }
    return n;
}

Timing timing(const RuleSlot& s, CallContext& ctx, int64_t& now) {
    if (!now) now = ctx.clock();
    const Rule& r = s.rule;
    int64_t active_from = s.armed_ns + r.start_ns;
    if (now < active_from) return Timing::Inactive;
    if (r.for_ns && now >= active_from + r.for_ns) return Timing::Expired;
    return Timing::Active;
}

bool decide(Segment& seg, unsigned slot, uint64_t word, CallContext& ctx, int64_t& now) {
    RuleSlot& s = seg.rules[slot];
    const Rule& r = s.rule;
    if (r.after || r.every || r.nth) {
        // A session-wide ordinal: "the 3rd matching call" counts every thread
        // and process of the session.
        uint64_t n = s.ordinal.fetch_add(1, std::memory_order_relaxed) + 1;
        if (r.nth) {
            if (n != r.nth) return false;
        } else {
            if (n <= r.after) return false;
            if (r.every && (n - r.after) % r.every != 0) return false;
        }
    }
    uint64_t hits = 1;
    if (ctx.draw) {
        hits = ctx.draw(ctx.draw_obj, r, ctx.thread);
        if (!hits) return false;
    } else if (r.p < 1.0 && next_unit(ctx.thread) >= r.p) {
        return false;
    }
    if (r.times) {
        uint64_t k = s.taken.fetch_add(1, std::memory_order_relaxed);
        if (k >= r.times) return false;
        if (k + 1 == r.times) {
            if (!now) now = ctx.clock();
            segment_retire(&seg, slot, word, now);
        }
    }
    // A slot disarmed and re-armed meanwhile holds another rule's bytes: the
    // generation tells. (Retiring keeps the generation.)
    if (!still_armed(s, word)) return false;
    s.injected.fetch_add(hits, std::memory_order_relaxed);
    return true;
}

} // namespace faultline::shim::detail

namespace faultline::shim {

int (*g_stack_capture)(uint64_t* ips, int cap) = nullptr;
void (*g_site_profiler)(Hook hook) = nullptr;

int64_t effect_value(const Rule& r) {
    switch (r.kind) {
    case Kind::MemDelay:
    case Kind::NetDelay:
    case Kind::DbDelay:
        return r.delay_ns;
    case Kind::NetTimeout:
        return r.timeout_ns;
    case Kind::MemFail:
    case Kind::MemLimit:
        return ENOMEM;
    default:
        return r.code;
    }
}

void note_injection(Segment& seg, ThreadState& ts, Hook hook, unsigned slot, int64_t value) {
    seg.hooks[unsigned(hook)].injected.fetch_add(1, std::memory_order_relaxed);
    if (!segment_recorded(&seg)) return;
    const RuleSlot& rs = seg.rules[slot];
    // The event's clock is read once its record is claimed: with the ring
    // full (a recorder behind) a drop costs a few loads, not a clock read.
    int64_t now = 0;
    int32_t pid = ts.pid;
    bool traced = false;
    if (rs.rule.trace && g_stack_capture) {
        now = monotonic_ns();
        uint64_t ips[kTraceFrames];
        int n = g_stack_capture(ips, int(kTraceFrames));
        traced = n > 0 && seg.traces.push([&](Trace& t) {
            t.t_ns = now;
            t.pid = pid;
            t.tid = ts.tid;
            t.frames = uint32_t(n);
            for (int i = 0; i < n; ++i) t.ips[i] = ips[i];
        });
    }
    seg.events.push([&](Event& e) {
        e.t_ns = now ? now : monotonic_ns();
        e.pid = pid;
        e.tid = ts.tid;
        e.rule_id = rs.id;
        e.hook = uint16_t(hook);
        e.kind = uint8_t(rs.rule.kind);
        e.value = value;
        e.traced = traced;
    });
}

} // namespace faultline::shim
