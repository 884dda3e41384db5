// The trigger engine: decides whether a call is faulted, and by which rule.
//
// Order of evaluation (docs/rules.md), per armed rule of the
// call's family, in arming order:
//   active (start=/for=) → seen → kind and its filters → proc= → caller= → site= →
//   matched → after=/every=/nth= → p= → times= → inject
// The first rule that injects wins; later rules are not evaluated.
//
// Free of hooks and globals so that unit tests drive it with a fake clock
// and a fake thread.
#pragma once

#include "common/hooks.h"
#include "common/segment.h"
#include "common/units.h"
#include "shim/core/thread_state.h"

#include <cstdint>

namespace faultline::shim {

// What the engine needs to know about the calling thread and process.
struct CallContext {
    ThreadState& thread;
    const char* comm;   // process name, for proc=
    int64_t (*clock)(); // CLOCK_MONOTONIC, read only when a rule needs it
    // caller=: does the calling stack match rule r (slot and state word
    // identify it)? Asked only for rules with a caller filter; null: no
    // frame matches.
    bool (*caller)(const Rule& r, unsigned slot, uint64_t word) = nullptr;
    // site=: the failure site of this call of `hook` (common/site.h), asked
    // once per call and only for rules with a site; null: no site matches.
    uint64_t (*site)(Hook hook) = nullptr;
    Hook hook = Hook(0);
    uint64_t site_of_call = 0; // site(hook), once asked
    // per=connection: the decision a rule already made for what this call
    // belongs to (its socket), kept for its life. recall: -1 not decided
    // yet, 0 spared, 1 faulted; null: every call is judged.
    int (*recall)(void* memo, unsigned slot, uint64_t word) = nullptr;
    void (*remember)(void* memo, unsigned slot, uint64_t word, bool hit) = nullptr;
    void* memo = nullptr;
    // The p= step of a rule drawn in units (TCP net.loss: one draw per
    // segment): the units hit, 0 for none (not injected); each counts as an
    // injection. Null: one draw per call.
    uint32_t (*draw)(void* obj, const Rule& r, ThreadState& ts) = nullptr;
    void* draw_obj = nullptr;

    bool at_site(uint64_t want) {
        if (!site) return false;
        if (!site_of_call) site_of_call = site(hook);
        return site_of_call == want;
    }
};

struct Injection {
    unsigned slot = 0;
    const Rule* rule = nullptr;
};

// faultline sweep's profile run: enters the failure site of every counted
// call (shim/core/sites.h); null otherwise, and in unit tests.
extern void (*g_site_profiler)(Hook hook);

// Counts one intercepted call of `hook` (slow path only: a family armed or
// observed).
inline void count_call(Segment& seg, ThreadState& ts, Hook hook) {
    Counters c = counters(seg, ts);
    c.add(c.slot.calls[unsigned(hook)]);
    if (__builtin_expect(g_site_profiler != nullptr, 0)) g_site_profiler(hook);
}

// Books an injection by rule `slot` into `hook`: the function's counter, and
// an event for the recorder when one is attached (never blocks: a full ring
// drops and counts). `value`: the code the call returns, or the delay in ns.
void note_injection(Segment& seg, ThreadState& ts, Hook hook, unsigned slot, int64_t value);

// trace=1: captures the calling stack's return addresses (set by the shim's
// runtime to libunwind's walk; null in unit tests: no traces).
extern int (*g_stack_capture)(uint64_t* ips, int cap);

// What an injection of `r` does, as an event's value: the delay (ns) of a
// delaying kind, else the code the call returns (0: none of its own).
int64_t effect_value(const Rule& r);

namespace detail {

// Armed slots of `mask` (its rule bits), sorted by arming order; returns
// their count.
unsigned armed_in_order(const Segment& seg, uint64_t mask, uint8_t* out);

enum class Timing { Inactive, Active, Expired };
Timing timing(const RuleSlot& s, CallContext& ctx, int64_t& now);

// The slot still holds the rule armed with `word` (not re-armed since).
inline bool still_armed(const RuleSlot& s, uint64_t word) {
    return (s.state.load(std::memory_order_acquire) >> 8) == (word >> 8);
}

// The counting, probability and times= steps for a rule that matched.
bool decide(Segment& seg, unsigned slot, uint64_t word, CallContext& ctx, int64_t& now);

} // namespace detail

// Runs the order of evaluation over the rules armed in `mask`. `matches(rule,
// slot)` is the kind's own test (kind, fn=, sizes, peers...). On injection fills
// `out` and returns true; the rule's `injected` counter is already bumped.
template <class Matches>
bool pick_rule(Segment& seg, uint64_t mask, CallContext& ctx, Matches&& matches, Injection& out) {
    uint8_t order[kMaxRules];
    unsigned n = detail::armed_in_order(seg, mask, order);
    Counters c = counters(seg, ctx.thread);
    int64_t now = 0; // read lazily: most rules have no timing
    for (unsigned k = 0; k < n; ++k) {
        unsigned i = order[k];
        RuleSlot& s = seg.rules[i];
        uint64_t word = s.state.load(std::memory_order_acquire);
        if (state_of(word) != RuleState::Armed) continue;
        const Rule& r = s.rule;
        if (r.start_ns || r.for_ns) {
            detail::Timing t = detail::timing(s, ctx, now);
            if (t == detail::Timing::Expired) segment_retire(&seg, i, word, now);
            if (t != detail::Timing::Active) continue;
        }
        c.add(c.slot.seen[i]);
        if (!matches(r, i)) continue;
        if (r.proc[0] && !glob_match(r.proc, ctx.comm)) continue;
        if (r.caller[0] && !(ctx.caller && ctx.caller(r, i, word))) continue;
        if (r.site && !ctx.at_site(r.site)) continue;
        c.add(c.slot.matched[i]);
        if (r.per != Per::Call && ctx.recall) {
            int known = ctx.recall(ctx.memo, i, word);
            if (known == 0) continue; // spared for the connection's life
            if (known == 1) {         // faulted for its life: no new draw
                if (!detail::still_armed(s, word)) continue;
                s.injected.fetch_add(1, std::memory_order_relaxed);
                out.slot = i;
                out.rule = &r;
                return true;
            }
            bool hit = detail::decide(seg, i, word, ctx, now);
            ctx.remember(ctx.memo, i, word, hit);
            if (!hit) continue;
        } else if (!detail::decide(seg, i, word, ctx, now)) {
            continue;
        }
        out.slot = i;
        out.rule = &r;
        return true;
    }
    return false;
}

} // namespace faultline::shim
