// Book-keeping for mem.limit: which live blocks were allocated while a limit
// rule was armed, and how many bytes they hold, per rule, in this process.
// A fixed open-addressing table in its own mapping; lock-free, no malloc.
#pragma once

#include "common/segment.h"

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace faultline::shim {

// Bytes held for the rule in `slot`; restarts from 0 when the slot holds a
// new rule (its generation changed).
uint64_t limit_held(const Segment& seg, unsigned slot);
// Records a successful allocation counted against the rules in `slots`.
void limit_track(const Segment& seg, void* p, size_t size, uint64_t slots);
// The bytes recorded for block `p` and the rules they count against (`slots`);
// 0 when the block is not tracked.
uint64_t limit_block(const void* p, uint64_t& slots);
// Forgets a block being freed or moved by realloc.
void limit_untrack(void* p);
// True once a mem.limit rule made this process track blocks: free() has
// nothing to do before that. Inline: free() asks on every call.
extern std::atomic<bool> g_limit_tracking;
inline bool limit_tracking() {
    return g_limit_tracking.load(std::memory_order_relaxed);
}

} // namespace faultline::shim
