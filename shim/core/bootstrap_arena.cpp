#include "shim/core/bootstrap_arena.h"

#include <atomic>
#include <cerrno>

namespace faultline::shim {

alignas(4096) unsigned char g_arena[kArenaSize];

namespace {
std::atomic<size_t> g_used{0};
constexpr size_t kHeader = 16; // the block's size, just before the block
} // namespace

void* arena_alloc(size_t size, size_t align) {
    if (align < 16) align = 16;
    size_t used = g_used.load(std::memory_order_relaxed);
    while (true) {
        size_t start = (used + kHeader + align - 1) & ~(align - 1);
        size_t end = start + size;
        if (end > kArenaSize || end < start) {
            errno = ENOMEM;
            return nullptr;
        }
        if (g_used.compare_exchange_weak(used, end, std::memory_order_relaxed)) {
            *reinterpret_cast<size_t*>(g_arena + start - kHeader) = size;
            return g_arena + start;
        }
    }
}

bool arena_used() {
    return g_used.load(std::memory_order_acquire) != 0;
}

size_t arena_block_size(const void* p) {
    return *reinterpret_cast<const size_t*>(static_cast<const unsigned char*>(p) - kHeader);
}

} // namespace faultline::shim
