#include "shim/mem/mem_ballast.h"
#include "shim/core/runtime.h"

#include <sys/mman.h>

namespace faultline::shim {

std::atomic<uint64_t> g_ballast_bytes{0};

namespace {
std::atomic<bool> g_busy{false};
void* g_ballast = nullptr;
} // namespace

namespace {

constexpr uint64_t kPage = 4096;
uint64_t g_mapped = 0; // bytes g_ballast really holds (g_ballast_bytes: those wanted)

uint64_t pages(uint64_t bytes) {
    return (bytes + kPage - 1) / kPage * kPage;
}

// Resizes the ballast to `want` bytes, keeping what old and new share:
// disabling one of two ballast rules gives back that rule's share, never the
// whole pressure for a moment. New memory is written, page by page, so that
// it is resident (the pressure the rule asks for). False when the memory
// could not be had (what was held stays held).
bool resize(uint64_t want) {
    if (want == 0) {
        if (g_ballast) munmap(g_ballast, pages(g_mapped));
        g_ballast = nullptr;
        g_mapped = 0;
        return true;
    }
    if (!g_ballast) {
        void* p = mmap(nullptr, pages(want), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (p == MAP_FAILED) return false;
        g_ballast = p;
        g_mapped = want;
        return true;
    }
    if (pages(want) <= pages(g_mapped)) {
        if (pages(want) < pages(g_mapped))
            munmap(static_cast<char*>(g_ballast) + pages(want), pages(g_mapped) - pages(want));
        g_mapped = want;
        return true;
    }
    void* p = mremap(g_ballast, pages(g_mapped), pages(want), MREMAP_MAYMOVE);
    if (p == MAP_FAILED) return false;
    for (uint64_t off = pages(g_mapped); off < pages(want); off += kPage)
        static_cast<volatile char*>(p)[off] = 1;
    g_ballast = p;
    g_mapped = want;
    return true;
}

} // namespace

void ballast_sync(Segment& seg, uint64_t want, int slot) {
    if (g_ballast_bytes.load(std::memory_order_relaxed) == want) return;
    // Another thread is at it: it will converge; never wait in a hook.
    if (g_busy.exchange(true, std::memory_order_acquire)) return;
    uint64_t held = g_ballast_bytes.load(std::memory_order_relaxed);
    if (held != want) {
        if (resize(want) && want > held && slot >= 0)
            seg.rules[slot].injected.fetch_add(1, std::memory_order_relaxed);
        // Even when the memory could not be had: the wanted size stands, so
        // that every allocation does not try again.
        g_ballast_bytes.store(want, std::memory_order_release);
        publish_fast(); // ballast held: allocations take the slow path
    }
    g_busy.store(false, std::memory_order_release);
}

} // namespace faultline::shim
