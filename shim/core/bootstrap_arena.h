// A small static arena serving allocations made while the shim resolves the
// real allocator with dlsym (docs/pitfalls.md, item 1). Its blocks are never freed and
// never handed to the real allocator.
#pragma once

#include <cstddef>
#include <cstdint>

namespace faultline::shim {

constexpr size_t kArenaSize = 256 * 1024;
extern unsigned char g_arena[kArenaSize] __attribute__((visibility("hidden")));

void* arena_alloc(size_t size, size_t align = 16);
// Inline: free() asks this on every call.
inline bool in_arena(const void* p) {
    return uintptr_t(p) - uintptr_t(g_arena) < kArenaSize;
}
size_t arena_block_size(const void* p); // usable size of an arena block
bool arena_used();                      // has the arena served any block?

} // namespace faultline::shim
