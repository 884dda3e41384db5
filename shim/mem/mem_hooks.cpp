// The malloc family: mem.fail, mem.limit, mem.delay, mem.ballast.
//
// Fast path (no memory rule armed in the session): one relaxed load of the
// family mask, a branch, the original. Everything else is in mem_decide().
// Failure semantics per function follow docs/pitfalls.md, item 14; free and realloc(p, 0)
// are never failed.

#include "shim/core/bootstrap_arena.h"
#include "shim/core/caller.h"
#include "shim/core/delay.h"
#include "shim/core/gate.h"
#include "shim/core/originals.h"
#include "shim/core/runtime.h"
#include "shim/core/sites.h"
#include "shim/core/thread_state.h"
#include "shim/core/trigger.h"
#include "shim/mem/mem_ballast.h"
#include "shim/mem/mem_limit.h"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <dlfcn.h>
#include <malloc.h>

namespace faultline::shim {

namespace {

MemOriginals g_orig;
std::atomic<bool> g_resolved{false};

// What the fast paths call: the original while nothing else needs doing,
// null otherwise (originals unresolved; ballast held, which the next
// allocation may have to give back; the bootstrap arena in use, whose blocks
// free/realloc must recognise). One load tells the fast path all of that.
// (glibc declares the allocators with __attribute__((malloc, alloc_size)):
// attributes of the function, which a pointer to it does not need to carry.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
struct FastOriginals {
#define FL_FAST_FIELD(symbol) std::atomic<decltype(&::symbol)> symbol;
#define FL_HOOK(family, id, symbol, role, failure, faults)                                         \
    FL_IF_Mem_##family(FL_WITH_ORIGINAL_##role(FL_FAST_FIELD, symbol))
#include "common/hooks.def"
#undef FL_HOOK
#undef FL_FAST_FIELD
};
#pragma GCC diagnostic pop
FastOriginals g_fast;

} // namespace

// Recomputes g_fast; again if the state changed meanwhile, so that the last
// writer never publishes a stale view.
void publish_fast() {
    for (;;) {
        uint64_t ballast = g_ballast_bytes.load(std::memory_order_acquire);
        bool arena = arena_used();
        bool alloc_ok = ballast == 0;
        bool block_ok = !arena;
        auto set = [](auto& fast, auto orig, bool ok) {
            fast.store(ok ? orig : nullptr, std::memory_order_release);
        };
        set(g_fast.malloc, g_orig.malloc, alloc_ok);
        set(g_fast.calloc, g_orig.calloc, alloc_ok);
        set(g_fast.realloc, g_orig.realloc, alloc_ok && block_ok);
        set(g_fast.reallocarray, g_orig.reallocarray, alloc_ok && block_ok);
        set(g_fast.posix_memalign, g_orig.posix_memalign, alloc_ok);
        set(g_fast.aligned_alloc, g_orig.aligned_alloc, alloc_ok);
        set(g_fast.memalign, g_orig.memalign, alloc_ok);
        set(g_fast.valloc, g_orig.valloc, alloc_ok);
        set(g_fast.pvalloc, g_orig.pvalloc, alloc_ok);
        set(g_fast.free, g_orig.free, block_ok);
        if (g_ballast_bytes.load(std::memory_order_acquire) == ballast && arena_used() == arena)
            return;
    }
}

namespace {

// dlsym may allocate (older glibc, musl): such nested calls see `resolving`
// and are served from the bootstrap arena.
__attribute__((noinline)) void resolve_originals() {
    if (g_resolved.load(std::memory_order_acquire) || tls.resolving) return;
    tls.resolving = true;
    MemOriginals o;
#define FL_RESOLVE(symbol)                                                                         \
    o.symbol = reinterpret_cast<decltype(o.symbol)>(dlsym(RTLD_NEXT, #symbol));
#define FL_HOOK(family, id, symbol, role, failure, faults)                                         \
    FL_IF_Mem_##family(FL_WITH_ORIGINAL_##role(FL_RESOLVE, symbol))
#include "common/hooks.def"
#undef FL_HOOK
#undef FL_RESOLVE
    // Publish free first and malloc last: a block the real malloc returned
    // must never reach a null free.
    g_orig.free = o.free;
    auto malloc_fn = o.malloc;
    o.malloc = nullptr;
    g_orig = o;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    g_orig.malloc = malloc_fn;
    g_resolved.store(true, std::memory_order_release);
    tls.resolving = false;
    publish_fast();
}

template <class Fn> inline Fn original(Fn MemOriginals::*field) {
    Fn f = g_orig.*field;
    if (__builtin_expect(f != nullptr, 1)) return f;
    resolve_originals();
    return g_orig.*field; // still null while resolving: callers use the arena
}

struct MemDecision {
    bool fail = false;
    uint64_t limit_slots = 0; // mem.limit rules this allocation counts against
};

bool size_in_range(const Rule& r, size_t size) {
    return size >= r.min_size && size <= r.max_size;
}

// Takes or releases ballast to match the active mem.ballast rules.
void sync_ballast(Segment& seg, uint64_t mask, CallContext& ctx) {
    uint64_t want = 0;
    int credit = -1;
    int64_t now = 0;
    for (uint64_t m = mask & kRuleBits; m; m &= m - 1) {
        unsigned i = unsigned(__builtin_ctzll(m));
        const RuleSlot& s = seg.rules[i];
        if (s.rule.kind != Kind::MemBallast) continue;
        if (state_of(s.state.load(std::memory_order_acquire)) != RuleState::Armed) continue;
        if (s.rule.proc[0] && !glob_match(s.rule.proc, ctx.comm)) continue;
        if ((s.rule.start_ns || s.rule.for_ns) &&
            detail::timing(s, ctx, now) != detail::Timing::Active)
            continue;
        want += s.rule.amount;
        credit = int(i);
    }
    ballast_sync(seg, want, credit);
}

// The slow path shared by every allocating hook. Runs with the hook depth
// raised; errno is the caller's on return unless the call fails. `old` is
// the block realloc/reallocarray replaces: its bytes, if a limit rule counts
// them, are given back by the call and must not count twice.
MemDecision mem_decide(Hook hook, uint32_t fn, size_t size, uint64_t mask,
                       const void* old = nullptr) {
    MemDecision d;
    ThreadState& ts = tls;
    Segment* seg = g_segment;
    if (ts.depth || !seg || ts.resolving) return d;
    HookScope scope(ts);
    int saved_errno = errno;
    prepare_thread(ts);
    unsigned h = unsigned(hook);
    count_call(*seg, ts, hook);
    Counters c = counters(*seg, ts);
    c.add(c.slot.bytes[h], size);
    CallContext ctx{ts, g_comm, monotonic_ns, caller_matches, call_site, hook};
    sync_ballast(*seg, mask, ctx);

    uint64_t old_slots = 0, old_size = 0;
    if (old && limit_tracking()) old_size = limit_block(old, old_slots);

    auto matches = [&](const Rule& r, unsigned slot) {
        if (r.ops && !(r.ops & fn)) return false;
        switch (r.kind) {
        case Kind::MemFail:
        case Kind::MemDelay:
            return size_in_range(r, size);
        case Kind::MemLimit: {
            if (!size_in_range(r, size)) return false;
            d.limit_slots |= uint64_t(1) << slot;
            uint64_t held = limit_held(*seg, slot);
            if (old_slots & (uint64_t(1) << slot)) held = held > old_size ? held - old_size : 0;
            return held + size > r.amount;
        }
        default:
            return false; // mem.ballast acts in sync_ballast
        }
    };
    Injection inj;
    if (pick_rule(*seg, mask, ctx, matches, inj)) {
        note_injection(*seg, ts, hook, inj.slot, effect_value(*inj.rule));
        if (inj.rule->kind == Kind::MemDelay) {
            inject_delay(*inj.rule, ts);
        } else {
            seg->hooks[h].errors.fetch_add(1, std::memory_order_relaxed);
            d.fail = true;
            d.limit_slots = 0;
        }
    }
    errno = saved_errno;
    return d;
}

// After the real call: mem.limit book-keeping and real failures.
void mem_after(Hook hook, void* p, size_t size, const MemDecision& d) {
    if (!p && g_segment)
        g_segment->hooks[unsigned(hook)].errors.fetch_add(1, std::memory_order_relaxed);
    if (p && d.limit_slots && g_segment) limit_track(*g_segment, p, size, d.limit_slots);
}

// Below the session's size gate no armed mem rule can act: count the call as
// mem_decide and pick_rule would (calls[hook], seen[] of every armed rule)
// and let it through. Anything unusual (nested call, thread not prepared,
// no own counter slot, ballast to give back) takes the full path.
inline bool gated(Hook hook, size_t size, uint64_t mask) {
    Segment* seg = g_segment;
    if (!seg || size >= seg->mem_gate.load(std::memory_order_acquire)) return false;
    if (g_ballast_bytes.load(std::memory_order_relaxed) != 0) return false;
    // ready is cleared in a fork child (after_fork_child) and is false in a
    // new thread: with it set, slot belongs to this thread of this process.
    ThreadState& ts = tls;
    ThreadSlot* slot = ts.slot;
    if (ts.depth || !ts.ready || !slot) return false;
    auto& calls = slot->calls[unsigned(hook)];
    calls.store(calls.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    if (mask & kObservedBit) { // bytes only for a recorder: a non-matching rule stays cheap
        auto& bytes = slot->bytes[unsigned(hook)];
        bytes.store(bytes.load(std::memory_order_relaxed) + size, std::memory_order_relaxed);
    }
    for (mask &= kRuleBits; mask; mask &= mask - 1) {
        auto& seen = slot->seen[__builtin_ctzll(mask)];
        seen.store(seen.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
    return true;
}

// Memory rules armed: the slow path. `call` performs the real allocation.
template <class Call>
inline void* allocate(Hook hook, uint32_t fn, size_t size, uint64_t mask, Call&& call) {
    if (gated(hook, size, mask)) {
        void* p = call();
        if (!p) g_segment->hooks[unsigned(hook)].errors.fetch_add(1, std::memory_order_relaxed);
        return p;
    }
    MemDecision d = mem_decide(hook, fn, size, mask);
    if (d.fail) {
        errno = ENOMEM;
        return nullptr;
    }
    void* p = call();
    mem_after(hook, p, size, d);
    return p;
}

// realloc and reallocarray: the old block is forgotten before the new one is
// recorded, because glibc may return the same address (grown in place).
template <class Call>
inline void* reallocate(Hook hook, uint32_t fn, void* old, size_t size, uint64_t mask,
                        Call&& call) {
    MemDecision d = mem_decide(hook, fn, size, mask, old);
    if (d.fail) {
        errno = ENOMEM;
        return nullptr;
    }
    void* p = call();
    if (p && old && limit_tracking()) limit_untrack(old);
    mem_after(hook, p, size, d);
    return p;
}

bool mul_overflows(size_t a, size_t b, size_t& out) {
    return __builtin_mul_overflow(a, b, &out);
}

// The fast path's test: a fast original (see g_fast) and no memory rule
// armed. Hooks that pass it tail-call the original with no frame of their
// own; everything else goes to their out-of-line slow path.
template <class Fn> inline bool fast(Fn f) {
    return __builtin_expect(f != nullptr && gate(Family::Mem) == Path::Original, 1);
}

// Serves allocations while the originals are being resolved. After the
// arena's first block, free and realloc must look at every pointer: the fast
// originals are republished.
void* bootstrap_alloc(size_t size, size_t align = 16) {
    bool first = !arena_used();
    void* p = arena_alloc(size, align);
    if (first && p) publish_fast();
    return p;
}

// Slow paths start here: resolve the original (or use the arena while
// resolving), give back ballast when nothing is armed, else decide.
#define FL_SLOW __attribute__((noinline))

FL_SLOW void* malloc_slow(size_t n) {
    auto real = original(&MemOriginals::malloc);
    if (!real) return bootstrap_alloc(n);
    uint64_t mask = armed_mask(Family::Mem);
    if (mask == 0) {
        if (g_segment) ballast_sync(*g_segment, 0, -1);
        return real(n);
    }
    return allocate(Hook::MemMalloc, kFnMalloc, n, mask, [&] { return real(n); });
}

FL_SLOW void* calloc_slow(size_t n, size_t m) {
    auto real = original(&MemOriginals::calloc);
    size_t total;
    bool overflow = mul_overflows(n, m, total);
    if (!real) {
        if (overflow) {
            errno = ENOMEM;
            return nullptr;
        }
        return bootstrap_alloc(total); // static storage: already zero
    }
    uint64_t mask = armed_mask(Family::Mem);
    if (mask == 0 || overflow) return real(n, m); // the real one reports overflow
    return allocate(Hook::MemCalloc, kFnCalloc, total, mask, [&] { return real(n, m); });
}

// Moves an arena block to the real heap; the arena keeps its copy.
void* move_from_arena(void* p, size_t n) {
    void* q = malloc(n);
    if (q) {
        size_t old = arena_block_size(p);
        memcpy(q, p, old < n ? old : n);
    }
    return q;
}

FL_SLOW void* realloc_slow(void* p, size_t n) {
    auto real = original(&MemOriginals::realloc);
    if (!real) {
        void* q = bootstrap_alloc(n);
        if (q && p && in_arena(p)) {
            size_t old = arena_block_size(p);
            memcpy(q, p, old < n ? old : n);
        }
        return q;
    }
    if (in_arena(p)) return move_from_arena(p, n);
    uint64_t mask = armed_mask(Family::Mem);
    if (mask == 0 || (p && n == 0)) return real(p, n);
    return reallocate(Hook::MemRealloc, kFnRealloc, p, n, mask, [&] { return real(p, n); });
}

FL_SLOW void* reallocarray_slow(void* p, size_t n, size_t m) {
    size_t total;
    if (mul_overflows(n, m, total)) {
        errno = ENOMEM;
        return nullptr;
    }
    auto real = original(&MemOriginals::reallocarray);
    if (!real || in_arena(p)) return realloc(p, total);
    uint64_t mask = armed_mask(Family::Mem);
    if (mask == 0 || (p && total == 0)) return real(p, n, m);
    return reallocate(Hook::MemReallocarray, kFnReallocarray, p, total, mask,
                      [&] { return real(p, n, m); });
}

FL_SLOW int posix_memalign_slow(void** out, size_t align, size_t n) {
    auto real = original(&MemOriginals::posix_memalign);
    if (!real) {
        void* p = bootstrap_alloc(n, align);
        if (!p) return ENOMEM;
        *out = p;
        return 0;
    }
    uint64_t mask = armed_mask(Family::Mem);
    if (mask == 0) return real(out, align, n);
    // Fails by return value only: *out and errno stay as they were.
    int saved_errno = errno;
    MemDecision d = mem_decide(Hook::MemPosixMemalign, kFnPosixMemalign, n, mask);
    if (d.fail) {
        errno = saved_errno;
        return ENOMEM;
    }
    int rc = real(out, align, n);
    mem_after(Hook::MemPosixMemalign, rc == 0 ? *out : nullptr, n, d);
    return rc;
}

template <class Fn>
FL_SLOW void* aligned_slow(Fn MemOriginals::*field, Hook hook, uint32_t bit, size_t align,
                           size_t n) {
    auto real = original(field);
    if (!real) return bootstrap_alloc(n, align);
    uint64_t mask = armed_mask(Family::Mem);
    if (mask == 0) return real(align, n);
    return allocate(hook, bit, n, mask, [&] { return real(align, n); });
}

template <class Fn>
FL_SLOW void* page_slow(Fn MemOriginals::*field, Hook hook, uint32_t bit, size_t n) {
    auto real = original(field);
    if (!real) return bootstrap_alloc(n, 4096);
    uint64_t mask = armed_mask(Family::Mem);
    if (mask == 0) return real(n);
    return allocate(hook, bit, n, mask, [&] { return real(n); });
}

FL_SLOW void free_slow(void* p) {
    if (in_arena(p)) return; // never the real allocator's
    auto real = original(&MemOriginals::free);
    if (!real) return; // nothing the real allocator gave out can exist yet
    if (armed_mask(Family::Mem) != 0 && limit_tracking()) limit_untrack(p);
    real(p);
}

} // namespace

void resolve_originals_early() {
    resolve_originals();
    net_originals();
    db_originals(); // stays incomplete (and retried) when libsqlite3 comes later
}

} // namespace faultline::shim

using namespace faultline;
using namespace faultline::shim;

#define FL_EXPORT extern "C" __attribute__((visibility("default")))

FL_EXPORT void* malloc(size_t n) {
    auto real = g_fast.malloc.load(std::memory_order_relaxed);
    if (fast(real)) return real(n);
    // Rules armed, but maybe none for this size: count and go on, in line
    // (a non-matching rule costs a few loads and two counter bumps).
    // Acquire: the size gate read after the mask is the one published with it.
    uint64_t mask = g_armed.load(std::memory_order_acquire)[unsigned(Family::Mem)].load(
        std::memory_order_acquire);
    if (real && mask && gated(Hook::MemMalloc, n, mask)) { // real: no ballast held
        void* p = real(n);
        if (__builtin_expect(!p, 0))
            g_segment->hooks[unsigned(Hook::MemMalloc)].errors.fetch_add(1,
                                                                         std::memory_order_relaxed);
        return p;
    }
    return malloc_slow(n);
}

FL_EXPORT void* calloc(size_t n, size_t m) {
    auto real = g_fast.calloc.load(std::memory_order_relaxed);
    if (fast(real)) return real(n, m);
    return calloc_slow(n, m);
}

FL_EXPORT void* realloc(void* p, size_t n) {
    auto real = g_fast.realloc.load(std::memory_order_relaxed);
    if (fast(real)) return real(p, n);
    return realloc_slow(p, n);
}

FL_EXPORT void* reallocarray(void* p, size_t n, size_t m) {
    auto real = g_fast.reallocarray.load(std::memory_order_relaxed);
    if (fast(real)) return real(p, n, m);
    return reallocarray_slow(p, n, m);
}

FL_EXPORT int posix_memalign(void** out, size_t align, size_t n) {
    auto real = g_fast.posix_memalign.load(std::memory_order_relaxed);
    if (fast(real)) return real(out, align, n);
    return posix_memalign_slow(out, align, n);
}

#define FL_ALIGNED_HOOK(fn_name, hook, bit)                                                        \
    FL_EXPORT void* fn_name(size_t align, size_t n) {                                              \
        auto real = g_fast.fn_name.load(std::memory_order_relaxed);                                \
        if (fast(real)) return real(align, n);                                                     \
        return aligned_slow(&MemOriginals::fn_name, hook, bit, align, n);                          \
    }
FL_ALIGNED_HOOK(aligned_alloc, Hook::MemAlignedAlloc, kFnAlignedAlloc)
FL_ALIGNED_HOOK(memalign, Hook::MemMemalign, kFnMemalign)
#undef FL_ALIGNED_HOOK

#define FL_PAGE_HOOK(fn_name, hook, bit)                                                           \
    FL_EXPORT void* fn_name(size_t n) {                                                            \
        auto real = g_fast.fn_name.load(std::memory_order_relaxed);                                \
        if (fast(real)) return real(n);                                                            \
        return page_slow(&MemOriginals::fn_name, hook, bit, n);                                    \
    }
FL_PAGE_HOOK(valloc, Hook::MemValloc, kFnValloc)
FL_PAGE_HOOK(pvalloc, Hook::MemPvalloc, kFnPvalloc)
#undef FL_PAGE_HOOK

FL_EXPORT void free(void* p) {
    auto real = g_fast.free.load(std::memory_order_relaxed);
    // free has nothing to do unless a mem.limit table exists (limit_untrack).
    if (__builtin_expect(real != nullptr && (armed_mask(Family::Mem) == 0 || !limit_tracking()), 1))
        return real(p);
    free_slow(p);
}

FL_EXPORT size_t malloc_usable_size(void* p) {
    if (__builtin_expect(in_arena(p), 0)) return arena_block_size(p);
    auto real = original(&MemOriginals::malloc_usable_size);
    return real ? real(p) : 0;
}
