#include "controller/sweep/site_reader.h"

#include <algorithm>
#include <cstring>

namespace faultline::sweep {

namespace {

std::vector<std::string> frames(const SiteTable& table, const SiteFrame* f, unsigned n,
                                Symbolizer& symbols) {
    std::vector<std::string> out;
    for (unsigned i = 0; i < n; ++i) {
        const char* path = f[i].object ? site_table_object_path(table, f[i].object) : nullptr;
        out.push_back(path ? symbols.object_frame(path, f[i].offset) : "? (no object)");
    }
    return out;
}

std::string comm_of(const char (&comm)[16]) {
    return std::string(comm, strnlen(comm, sizeof comm));
}

} // namespace

std::vector<Site> read_sites(const SiteTable& table, Symbolizer& symbols) {
    std::vector<Site> out;
    for (const SiteEntry& e : table.sites) {
        uint64_t key = e.key.load(std::memory_order_acquire);
        uint64_t first = e.first.load(std::memory_order_acquire);
        if (!key || !first || e.hook >= kHookCount) continue;
        Site s;
        s.id = key;
        s.hook = Hook(e.hook);
        s.calls = e.count.load(std::memory_order_relaxed);
        s.first = first;
        s.pid = e.pid;
        s.comm = comm_of(e.comm);
        s.stack = frames(table, e.frames, std::min(e.depth, kSiteDepth), symbols);
        out.push_back(std::move(s));
    }
    std::sort(out.begin(), out.end(),
              [](const Site& a, const Site& b) { return a.first < b.first; });
    return out;
}

std::vector<Crash> read_crashes(const SiteTable& table, Symbolizer& symbols) {
    std::vector<Crash> out;
    uint32_t used = std::min(table.crashes_used.load(std::memory_order_acquire), kMaxCrashes);
    for (uint32_t i = 0; i < used; ++i) {
        const CrashEntry& c = table.crashes[i];
        if (c.used.load(std::memory_order_acquire) != 2) continue;
        Crash crash;
        crash.pid = c.pid;
        crash.comm = comm_of(c.comm);
        crash.signal = c.signal;
        crash.stack = frames(table, c.frames, std::min(c.depth, kCrashDepth), symbols);
        while (!crash.stack.empty() && crash.stack.front().rfind("__restore_rt", 0) == 0)
            crash.stack.erase(crash.stack.begin());
        out.push_back(std::move(crash));
    }
    return out;
}

} // namespace faultline::sweep
