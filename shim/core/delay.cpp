#include "shim/core/delay.h"

#include <cerrno>
#include <ctime>

namespace faultline::shim {

int64_t delay_of(const Rule& r, ThreadState& ts) {
    int64_t ns = r.delay_ns;
    if (r.jitter_ns) ns += int64_t(next_random(ts) % uint64_t(2 * r.jitter_ns + 1)) - r.jitter_ns;
    return ns > 0 ? ns : 0;
}

void inject_delay(const Rule& r, ThreadState& ts) {
    int64_t ns = delay_of(r, ts);
    if (ns <= 0) return;
    // An absolute deadline: EINTR restarts never stretch the delay.
    timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += time_t(ns / 1000000000);
    deadline.tv_nsec += long(ns % 1000000000);
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_nsec -= 1000000000;
        ++deadline.tv_sec;
    }
    int saved = errno;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nullptr) == EINTR) {
    }
    errno = saved;
}

} // namespace faultline::shim
