// Process-wide state of the shim: the attached segment, the per-family
// armed masks the hooks' fast paths read, and the process identity used for
// `proc=` and for seeding.
#pragma once

#include "common/rule.h"
#include "common/segment.h"

#include <atomic>
#include <cstdint>

namespace faultline::shim {

// Points at a static all-zero array until a valid segment is attached, then at
// the segment's masks: a hook's "is anything armed?" is one relaxed load.
extern std::atomic<std::atomic<uint64_t>*> g_armed;
extern Segment* g_segment;                  // null while dormant
extern std::atomic<uint32_t> g_process_gen; // bumped in every fork child
extern char g_comm[16];
extern uint64_t g_lineage; // seeds differ between parent and forked children
// A client process of the session (FAULTLINE_CLIENT=1: `run --client`, an
// experiment's role = "client"): no rule acts in it; its network hooks watch
// its exchanges (net/exchanges.h). Its masks say "observed" for the network
// alone, so that only those hooks leave their fast path.
extern bool g_client;
// This process's pid, set when the shim attaches and in every fork child. A
// vfork (or posix_spawn) child runs in its parent's memory before it execs:
// it still sees its parent's pid here, and must not change what the shim
// knows of the parent's fds (CPython's subprocess closes them all there).
extern int32_t g_pid;
bool in_vfork_child();

// Recomputes the originals the malloc hooks' fast paths may call (defined in
// mem_hooks.cpp); called when the originals are resolved, when ballast is
// taken or given back, and when the bootstrap arena serves its first block.
void publish_fast();

// Resolves the real malloc-family, libc network and (if loaded) SQLite
// functions; called by the constructor.
void resolve_originals_early();

// Nonzero: the family's hooks take their slow path (rules armed, or a
// recorder observing: kObservedBit).
inline uint64_t armed_mask(Family f) {
    return g_armed.load(std::memory_order_relaxed)[unsigned(f)].load(std::memory_order_relaxed);
}

// The family's armed rules alone.
inline uint64_t rule_mask(Family f) {
    return armed_mask(f) & kRuleBits;
}

} // namespace faultline::shim
