#include "shim/core/sites.h"

#include "common/site_table.h"
#include "shim/core/caller.h"
#include "shim/core/log.h"
#include "shim/core/objects.h"
#include "shim/core/runtime.h"
#include "shim/core/thread_state.h"
#include "shim/core/trigger.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <unistd.h>

namespace faultline::shim {

namespace {

// Room for the shim's own frames above a site's kSiteDepth.
constexpr int kRawFrames = 24;

SiteTable* g_table = nullptr;

// Stack (absolute addresses, shim frames included) -> site. Each entry is
// written as two words, `check` = stack ^ site and `site`: a torn entry fails
// the check and costs a walk, never a wrong site.
struct CacheEntry {
    std::atomic<uint64_t> check, site;
};
constexpr unsigned kCacheSize = 4096;
CacheEntry g_cache[kCacheSize];

// The frames below the shim of `ips`, at most `cap`; their objects entered
// in the table when one is attached.
unsigned program_frames(void* const* ips, int n, SiteFrame* out, unsigned cap) {
    unsigned k = 0;
    for (int i = 0; i < n && k < cap; ++i) {
        LoadedObject o;
        uintptr_t ip = reinterpret_cast<uintptr_t>(ips[i]);
        if (!object_at(ip, o)) {
            out[k++] = {0, 0}; // no object (JIT code): a marker, stable from run to run
            continue;
        }
        if (o.shim) continue;
        if (g_table) site_table_object(*g_table, o.hash, o.path);
        out[k++] = {o.hash, uint64_t(ip - o.base)};
    }
    return k;
}

uint64_t stack_key(Hook hook, void* const* ips, int n) {
    uint64_t h = site_mix(unsigned(hook) + 1, uint64_t(n));
    for (int i = 0; i < n; ++i) h = site_mix(h, reinterpret_cast<uintptr_t>(ips[i]));
    return h;
}

// The profile run: every counted operation of the families asked for enters
// its site (count_call, trigger.h).
void profile_call(Hook hook) {
    SiteTable* t = g_table;
    unsigned h = unsigned(hook);
    if (!t || h >= kHookCount || !hook_is_operation(hook) ||
        !(t->families & (1u << unsigned(kHooks[h].family))))
        return;
    ThreadState& ts = tls;
    HookScope scope(ts); // what the walk allocates is not a site
    int saved_errno = errno;
    uint64_t site = call_site(hook);
    if (site)
        site_table_count(*t, site, [&](SiteEntry& e) {
            void* ips[kRawFrames];
            int n = raw_backtrace(ips, kRawFrames);
            e.hook = h;
            e.depth = program_frames(ips, n, e.frames, kSiteDepth);
            e.pid = int32_t(getpid());
            memcpy(e.comm, g_comm, sizeof e.comm);
        });
    errno = saved_errno;
}

constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS};

// A fatal signal in a fault run: the crashing thread's stack into the table,
// then the signal goes on as if we were not here (default action).
void on_fatal_signal(int sig, siginfo_t*, void*) {
    int saved_errno = errno;
    SiteTable* t = g_table;
    uint32_t i = t ? t->crashes_used.fetch_add(1, std::memory_order_relaxed) : kMaxCrashes;
    if (i < kMaxCrashes) {
        CrashEntry& c = t->crashes[i];
        c.used.store(1, std::memory_order_relaxed);
        c.pid = int32_t(getpid());
        c.signal = sig;
        memcpy(c.comm, g_comm, sizeof c.comm);
        void* ips[kCrashDepth + 8];
        int n = raw_backtrace(ips, int(kCrashDepth + 8));
        // Above the interrupted frame: this handler (the shim's) and the
        // kernel's return path into it, the signal trampoline.
        int skip = 0;
        for (LoadedObject o; skip < n && object_at(uintptr_t(ips[skip]), o) && o.shim;) ++skip;
        if (skip < n) ++skip;
        c.depth = program_frames(ips + skip, n - skip, c.frames, kCrashDepth);
        c.used.store(2, std::memory_order_release);
    }
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, nullptr);
    // Pending until the handler returns (the signal is blocked meanwhile);
    // a fault re-executed after return would raise it anyway.
    raise(sig);
    errno = saved_errno;
}

void record_fatal_signals() {
    for (int sig : kFatalSignals) {
        struct sigaction old {};
        if (sigaction(sig, nullptr, &old) != 0 || old.sa_handler != SIG_DFL) continue;
        struct sigaction sa {};
        sa.sa_sigaction = on_fatal_signal;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        sigaction(sig, &sa, nullptr);
    }
}

} // namespace

uint64_t call_site(Hook hook) {
    void* ips[kRawFrames];
    int n = raw_backtrace(ips, kRawFrames);
    if (n <= 0) return 0;
    uint64_t key = stack_key(hook, ips, n);
    CacheEntry& e = g_cache[key % kCacheSize];
    uint64_t site = e.site.load(std::memory_order_relaxed);
    if (site && (e.check.load(std::memory_order_relaxed) ^ site) == key) return site;
    SiteFrame frames[kSiteDepth];
    unsigned k = program_frames(ips, n, frames, kSiteDepth);
    site = site_hash(kHooks[unsigned(hook)].name, frames, k);
    e.site.store(site, std::memory_order_relaxed);
    e.check.store(key ^ site, std::memory_order_relaxed);
    return site;
}

void sweep_attach(const char* table_path) {
    g_table = site_table_map(table_path);
    if (!g_table) {
        warn("FAULTLINE_SWEEP: cannot map ", table_path, " (no sites or crashes recorded)");
        return;
    }
    void* ips[1];
    raw_backtrace(ips, 1); // load libunwind now, never first inside a signal handler
    if (g_table->families) g_site_profiler = profile_call;
    record_fatal_signals();
}

} // namespace faultline::shim
