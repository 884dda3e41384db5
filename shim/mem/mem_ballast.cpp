#include "shim/mem/mem_ballast.h"
#include "shim/core/runtime.h"

#include <sys/mman.h>

namespace faultline::shim {

std::atomic<uint64_t> g_ballast_bytes{0};

namespace {
std::atomic<bool> g_busy{false};
void* g_ballast = nullptr;
} // namespace

void ballast_sync(Segment& seg, uint64_t want, int slot) {
    if (g_ballast_bytes.load(std::memory_order_relaxed) == want) return;
    // Another thread is at it: it will converge; never wait in a hook.
    if (g_busy.exchange(true, std::memory_order_acquire)) return;
    uint64_t held = g_ballast_bytes.load(std::memory_order_relaxed);
    if (held != want) {
        if (g_ballast) munmap(g_ballast, held);
        g_ballast = nullptr;
        held = 0;
        if (want) {
            // MAP_POPULATE writes every page in: real resident memory, which
            // is the pressure the rule asks for.
            void* p = mmap(nullptr, want, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
            if (p != MAP_FAILED) {
                g_ballast = p;
                if (slot >= 0) seg.rules[slot].injected.fetch_add(1, std::memory_order_relaxed);
            }
            held = want; // even on failure: do not retry on every allocation
        }
        g_ballast_bytes.store(held, std::memory_order_release);
        publish_fast(); // ballast held: allocations take the slow path
    }
    g_busy.store(false, std::memory_order_release);
}

} // namespace faultline::shim
