// The delay every *.delay kind injects: `delay` ± `jitter` (uniform, drawn
// from the thread's stream). inject_delay sleeps it in full even across
// signals: mem.delay, db.delay and net.dns's delay stand for functions that
// never fail with EINTR. Network calls wait in signal_wait.h instead.
#pragma once

#include "common/rule.h"
#include "shim/core/thread_state.h"

namespace faultline::shim {

void inject_delay(const Rule& rule, ThreadState& ts);
// The delay one injection stands for (delay ± jitter), without sleeping: a
// non-blocking socket is delayed by holding its readiness back instead.
int64_t delay_of(const Rule& rule, ThreadState& ts);

} // namespace faultline::shim
