// The delay every *.delay kind injects: `delay` ± `jitter` (uniform, drawn
// from the thread's stream), slept in full even across signals.
#pragma once

#include "common/rule.h"
#include "shim/core/thread_state.h"

namespace faultline::shim {

void inject_delay(const Rule& rule, ThreadState& ts);
// The delay one injection stands for (delay ± jitter), without sleeping: a
// non-blocking socket is delayed by holding its readiness back instead.
int64_t delay_of(const Rule& rule, ThreadState& ts);

} // namespace faultline::shim
