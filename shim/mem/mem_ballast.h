// mem.ballast: while such a rule is active the process holds SIZE bytes of
// touched anonymous memory. Taken and released by whichever thread's
// allocation call notices the change first; nothing runs in the background.
#pragma once

#include "common/segment.h"

#include <atomic>
#include <cstdint>

namespace faultline::shim {

extern std::atomic<uint64_t> g_ballast_bytes; // held now

// Brings the held ballast to `want` bytes (0 releases). `slot` is the rule
// credited with the injection when ballast is taken.
void ballast_sync(Segment& seg, uint64_t want, int slot);

} // namespace faultline::shim
