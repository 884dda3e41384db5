// The delay every *.delay kind injects: `delay` ± `jitter` (uniform, drawn
// from the thread's stream), slept in full even across signals.
#pragma once

#include "common/rule.h"
#include "thread_state.h"

namespace faultline::shim {

void inject_delay(const Rule& rule, ThreadState& ts);

} // namespace faultline::shim
