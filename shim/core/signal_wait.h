// Injected waits that yield to signals as the kernel's blocking calls do
// (docs/pitfalls.md item 23). A call the shim holds back sleeps here; when a
// signal handler runs meanwhile, the caller learns of it and of the
// handler's SA_RESTART, and answers EINTR or goes on waiting, as the kernel
// would for the call it stands for (man 7 signal).
//
// How the signal is known: a plain sleep returns EINTR after a handler ran,
// without saying which. So the wait blocks the signals the caller has not
// blocked itself and takes them with sigtimedwait; the one taken is queued
// back to the thread (rt_tgsigqueueinfo: its siginfo kept) and the caller's
// mask restored, so that the kernel delivers it as it would have: the
// handler runs in a real signal frame (its sa_mask, SA_SIGINFO,
// SA_RESETHAND, sigaltstack), a default action stops or ends the process at
// once, an ignored signal is dropped. Its disposition, read just before,
// says whether a handler ran and with SA_RESTART.
#pragma once

#include <cstdint>

namespace faultline::shim {

// Sleeps to `deadline` (CLOCK_MONOTONIC ns). Returns 0 at the deadline;
// else the number of a signal whose handler ran meanwhile, with
// `sa_restart` its SA_RESTART. Signals that run no handler (ignored, or
// stopped and continued) do not end the wait. errno is kept.
int sleep_or_handler(int64_t deadline, bool& sa_restart);

} // namespace faultline::shim
