#include "shim/core/caller.h"

#include "common/units.h"
#include "shim/core/objects.h"

#include <atomic>
#include <dlfcn.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>

namespace faultline::shim {

namespace {

// libunwind is loaded the first time a caller= or trace=1 rule needs it, with
// RTLD_LOCAL, never linked: libunwind.so.8 exports _Unwind_RaiseException and
// backtrace(), which in the global scope would shadow libgcc's unwinder (C++
// exceptions) and glibc's backtrace for the host (docs/pitfalls.md, item 15).
struct Unwind {
    int (*getcontext)(unw_context_t*);
    int (*init_local)(unw_cursor_t*, unw_context_t*);
    int (*step)(unw_cursor_t*);
    int (*get_reg)(unw_cursor_t*, unw_regnum_t, unw_word_t*);
    int (*get_proc_name)(unw_cursor_t*, char*, size_t, unw_word_t*);
    int (*backtrace)(void**, int);
};

enum LoadState { kNotLoaded, kLoading, kReady, kMissing };
std::atomic<int> g_unwind_state{kNotLoaded};
Unwind g_unwind;

// Null while another thread loads it, or when it cannot be loaded: the
// caller filter then matches nothing (fail open) and traces are empty.
const Unwind* unwind() {
    int state = g_unwind_state.load(std::memory_order_acquire);
    if (state == kReady) return &g_unwind;
    int expected = kNotLoaded;
    if (state != kNotLoaded ||
        !g_unwind_state.compare_exchange_strong(expected, kLoading, std::memory_order_acq_rel))
        return nullptr;
    void* h = dlopen("libunwind.so.8", RTLD_LAZY | RTLD_LOCAL);
    auto get = [h](const char* name) { return h ? dlsym(h, name) : nullptr; };
    Unwind u;
    u.getcontext = reinterpret_cast<decltype(u.getcontext)>(get("_Ux86_64_getcontext"));
    u.init_local = reinterpret_cast<decltype(u.init_local)>(get("_ULx86_64_init_local"));
    u.step = reinterpret_cast<decltype(u.step)>(get("_ULx86_64_step"));
    u.get_reg = reinterpret_cast<decltype(u.get_reg)>(get("_ULx86_64_get_reg"));
    u.get_proc_name = reinterpret_cast<decltype(u.get_proc_name)>(get("_ULx86_64_get_proc_name"));
    u.backtrace = reinterpret_cast<decltype(u.backtrace)>(get("unw_backtrace"));
    bool ok = u.getcontext && u.init_local && u.step && u.get_reg && u.get_proc_name && u.backtrace;
    if (ok) g_unwind = u;
    g_unwind_state.store(ok ? kReady : kMissing, std::memory_order_release);
    return ok ? &g_unwind : nullptr;
}

constexpr int kMaxFrames = 32;
constexpr unsigned kCacheSize = 4096; // direct-mapped, per process

// entry: hash of (return addresses, slot, generation) with its low bit
// replaced by the answer; 0 = empty. A collision costs a walk, never a wrong
// answer: the whole 63-bit hash must agree.
std::atomic<uint64_t> g_cache[kCacheSize];

uint64_t mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h * 0xbf58476d1ce4e5b9ull;
}

// The shim's own frames (the hook, the trigger engine) are not the program's
// and are skipped.
bool in_shim(uint64_t ip, LoadedObject& o) {
    return object_at(uintptr_t(ip), o) && o.shim;
}

const char* base_name(const char* path) {
    const char* slash = path;
    for (const char* p = path; *p; ++p)
        if (*p == '/') slash = p + 1;
    return slash;
}

// Per frame: does the function or object at this return address match the
// rule? Keyed like g_cache by (address, slot, generation). libunwind's
// get_proc_name maps the object's file to read its symbols, every time: a
// stack that is new but whose frames are not pays nothing of it.
constexpr unsigned kFrameCacheSize = 16384;
std::atomic<uint64_t> g_frame_cache[kFrameCacheSize];

bool frame_matches(const Unwind& u, unw_cursor_t& cursor, uint64_t ip, const LoadedObject* o,
                   const char* glob, uint64_t rule_key) {
    uint64_t h = mix(rule_key, ip) | 1;
    std::atomic<uint64_t>& e = g_frame_cache[(h >> 1) % kFrameCacheSize];
    uint64_t seen = e.load(std::memory_order_relaxed);
    if (seen && (seen | 1) == h) return (seen & 1) != 0;
    char name[256];
    unw_word_t off = 0;
    bool match =
        (u.get_proc_name(&cursor, name, sizeof name, &off) == 0 && glob_match(glob, name)) ||
        (o && o->path[0] && (glob_match(glob, o->path) || glob_match(glob, base_name(o->path))));
    e.store((h & ~uint64_t(1)) | uint64_t(match), std::memory_order_relaxed);
    return match;
}

// The slow path: every frame's function (from the object's symbol tables)
// and object file, matched against the glob.
bool walk_and_match(const Unwind& u, const char* glob, uint64_t rule_key) {
    unw_context_t uc;
    unw_cursor_t cursor;
    if (u.getcontext(&uc) != 0 || u.init_local(&cursor, &uc) != 0) return false;
    for (int depth = 0; depth < kMaxFrames && u.step(&cursor) > 0; ++depth) {
        unw_word_t ip = 0;
        if (u.get_reg(&cursor, UNW_REG_IP, &ip) != 0 || ip == 0) break;
        LoadedObject o;
        bool known = object_at(uintptr_t(ip), o);
        if (known && o.shim) continue;
        if (frame_matches(u, cursor, ip, known ? &o : nullptr, glob, rule_key)) return true;
    }
    return false;
}

} // namespace

int raw_backtrace(void** ips, int cap) {
    const Unwind* u = unwind();
    return u ? u->backtrace(ips, cap) : 0;
}

int capture_stack(uint64_t* out, int cap) {
    const Unwind* u = unwind();
    if (!u) return 0;
    void* ips[kMaxFrames];
    int n = u->backtrace(ips, kMaxFrames);
    int k = 0;
    for (int i = 0; i < n && k < cap; ++i) {
        LoadedObject o;
        if (in_shim(uint64_t(ips[i]), o)) continue;
        out[k++] = uint64_t(ips[i]);
    }
    return k;
}

bool caller_matches(const Rule& r, unsigned slot, uint64_t word) {
    const Unwind* u = unwind();
    if (!u) return false;
    void* ips[kMaxFrames];
    int n = u->backtrace(ips, kMaxFrames);
    uint64_t h = mix(slot + 1, word >> 8);
    for (int i = 0; i < n; ++i) h = mix(h, uint64_t(ips[i]));
    h |= 1; // never 0
    std::atomic<uint64_t>& e = g_cache[(h >> 1) % kCacheSize];
    uint64_t seen = e.load(std::memory_order_relaxed);
    if (seen && (seen | 1) == h) return (seen & 1) != 0;
    bool match = walk_and_match(*u, r.caller, mix(slot + 1, word >> 8));
    e.store((h & ~uint64_t(1)) | uint64_t(match), std::memory_order_relaxed);
    return match;
}

} // namespace faultline::shim
