#include "shim/mem/mem_limit.h"

#include <atomic>
#include <sys/mman.h>

namespace faultline::shim {

std::atomic<bool> g_limit_tracking{false};

namespace {

struct Entry {
    std::atomic<uintptr_t> key; // 0 empty, 1 tombstone, else the block
    uint64_t size;
    uint64_t slots;
};

constexpr size_t kEntries = size_t(1) << 20; // 24 MiB of address space, touched as used
constexpr unsigned kProbes = 64;             // beyond that a block goes untracked
constexpr uintptr_t kTombstone = 1;

std::atomic<Entry*> g_table{nullptr};
std::atomic<int64_t> g_held[kMaxRules];
std::atomic<uint64_t> g_generation[kMaxRules];

Entry* table() {
    Entry* t = g_table.load(std::memory_order_acquire);
    if (t) return t;
    void* p = mmap(nullptr, kEntries * sizeof(Entry), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    Entry* expected = nullptr;
    if (!g_table.compare_exchange_strong(expected, static_cast<Entry*>(p))) {
        munmap(p, kEntries * sizeof(Entry));
        g_limit_tracking.store(true, std::memory_order_release);
        return expected;
    }
    g_limit_tracking.store(true, std::memory_order_release);
    return static_cast<Entry*>(p);
}

size_t home(const void* p) {
    uint64_t h = uint64_t(uintptr_t(p)) * 0x9e3779b97f4a7c15ull;
    return size_t(h >> 44) & (kEntries - 1);
}

void sync_generation(const Segment& seg, unsigned slot) {
    uint64_t gen = seg.rules[slot].state.load(std::memory_order_acquire) >> 8;
    uint64_t seen = g_generation[slot].load(std::memory_order_acquire);
    if (seen != gen && g_generation[slot].compare_exchange_strong(seen, gen))
        g_held[slot].store(0, std::memory_order_relaxed);
}

} // namespace

uint64_t limit_held(const Segment& seg, unsigned slot) {
    sync_generation(seg, slot);
    int64_t h = g_held[slot].load(std::memory_order_relaxed);
    return h > 0 ? uint64_t(h) : 0;
}

void limit_track(const Segment& seg, void* p, size_t size, uint64_t slots) {
    Entry* t = table();
    if (!t || !p) return;
    size_t i = home(p);
    for (unsigned n = 0; n < kProbes; ++n, i = (i + 1) & (kEntries - 1)) {
        uintptr_t k = t[i].key.load(std::memory_order_relaxed);
        if (k > kTombstone) continue;
        // Publish size and slots before the key (readers acquire the key).
        if (t[i].key.compare_exchange_strong(k, kTombstone, std::memory_order_acquire)) {
            t[i].size = size;
            t[i].slots = slots;
            t[i].key.store(uintptr_t(p), std::memory_order_release);
            for (uint64_t s = slots; s; s &= s - 1) {
                unsigned slot = unsigned(__builtin_ctzll(s));
                sync_generation(seg, slot);
                g_held[slot].fetch_add(int64_t(size), std::memory_order_relaxed);
            }
            return;
        }
    }
}

uint64_t limit_block(const void* p, uint64_t& slots) {
    slots = 0;
    Entry* t = g_table.load(std::memory_order_acquire);
    if (!t || !p) return 0;
    size_t i = home(p);
    for (unsigned n = 0; n < kProbes; ++n, i = (i + 1) & (kEntries - 1)) {
        uintptr_t k = t[i].key.load(std::memory_order_acquire);
        if (k == 0) return 0;
        if (k != uintptr_t(p)) continue;
        slots = t[i].slots;
        return t[i].size;
    }
    return 0;
}

void limit_untrack(void* p) {
    Entry* t = g_table.load(std::memory_order_acquire);
    if (!t || !p) return;
    size_t i = home(p);
    for (unsigned n = 0; n < kProbes; ++n, i = (i + 1) & (kEntries - 1)) {
        uintptr_t k = t[i].key.load(std::memory_order_acquire);
        if (k == 0) return;
        if (k != uintptr_t(p)) continue;
        uint64_t size = t[i].size, slots = t[i].slots;
        if (!t[i].key.compare_exchange_strong(k, kTombstone, std::memory_order_acq_rel)) return;
        for (; slots; slots &= slots - 1)
            g_held[__builtin_ctzll(slots)].fetch_sub(int64_t(size), std::memory_order_relaxed);
        return;
    }
}

} // namespace faultline::shim
