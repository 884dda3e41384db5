// The bootstrap arena (docs/pitfalls.md item 1): blocks served while the real
// allocator is being resolved must be recognised by
// free/realloc/malloc_usable_size and never passed to the real allocator.
#include "shim/core/bootstrap_arena.h"

#include <cstdint>
#include <cstdlib>
#include <doctest/doctest.h>

using namespace faultline::shim;

TEST_CASE("arena blocks are recognised, sized and aligned") {
    void* a = arena_alloc(10);
    void* b = arena_alloc(100, 64);
    void* c = arena_alloc(1, 4096);
    REQUIRE(a);
    REQUIRE(b);
    REQUIRE(c);
    CHECK(in_arena(a));
    CHECK(in_arena(b));
    CHECK(uintptr_t(a) % 16 == 0);
    CHECK(uintptr_t(b) % 64 == 0);
    CHECK(uintptr_t(c) % 4096 == 0);
    CHECK(arena_block_size(a) == 10);
    CHECK(arena_block_size(b) == 100);
    CHECK(static_cast<char*>(b) >= static_cast<char*>(a) + 10); // no overlap
}

TEST_CASE("heap and null pointers are not arena pointers") {
    void* heap = std::malloc(16);
    CHECK_FALSE(in_arena(heap));
    CHECK_FALSE(in_arena(nullptr));
    std::free(heap);
}

TEST_CASE("an exhausted arena fails cleanly") {
    CHECK(arena_alloc(kArenaSize + 1) == nullptr);
}
