// The one question every hook asks first: which path does this call take?
//
//   Original  nothing armed and nobody observing the family: the original,
//             for one relaxed load and one branch
//   Observe   a recorder observes the family (kObservedBit): count the call,
//             time it, let it through
//   Rules     rules are armed for the family: the family's decision
//
// Families add what only they know (a network fault that outlives its
// rule, an injected SQLite code still reported): net/net_gate.h, db_hooks.
#pragma once

#include "shim/core/runtime.h"

#include <cstdint>

namespace faultline::shim {

enum class Path : uint8_t { Original, Observe, Rules };

inline Path path_of(uint64_t mask) {
    if (__builtin_expect(mask == 0, 1)) return Path::Original;
    return mask & kRuleBits ? Path::Rules : Path::Observe;
}

inline Path gate(Family f) {
    return path_of(armed_mask(f));
}

} // namespace faultline::shim
