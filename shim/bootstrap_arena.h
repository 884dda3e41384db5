// A small static arena serving allocations made while the shim resolves the
// real allocator with dlsym (PITFALLS 1). Its blocks are never freed and
// never handed to the real allocator.
#pragma once

#include <cstddef>
#include <cstdint>

namespace faultline::shim {

void* arena_alloc(size_t size, size_t align = 16);
bool in_arena(const void* p);
size_t arena_block_size(const void* p); // usable size of an arena block

} // namespace faultline::shim
