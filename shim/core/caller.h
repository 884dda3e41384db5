// caller=GLOB: does a frame of the calling stack match? (docs/rules.md.)
// The stack is walked with libunwind only when a rule with a
// caller filter is reached, never on the fast path, and the answer is cached
// per call site (the stack's return addresses) and rule, so that a
// stack-filtered rule stays cheap in a loop.
#pragma once

#include "common/rule.h"

#include <cstdint>

namespace faultline::shim {

// True when a frame outside the shim has a function name, object file path
// or object file name matching r.caller. `slot` and `word` (the rule slot's
// state word) key the cache: a slot re-armed with another rule is asked anew.
bool caller_matches(const Rule& r, unsigned slot, uint64_t word);

// Up to `cap` return addresses of the calling stack, the shim's own frames
// left out; returns how many (trace=1).
int capture_stack(uint64_t* out, int cap);

// Up to `cap` return addresses of the calling stack, the shim's own frames
// included (libunwind's unw_backtrace); 0 when libunwind cannot be loaded.
int raw_backtrace(void** ips, int cap);

} // namespace faultline::shim
