// The CPU's time-stamp counter as the clock that times intercepted calls
// while a recorder observes: reading it costs about a third of
// clock_gettime(CLOCK_MONOTONIC) (12 ns against 30 ns on the bench machine,
// two reads per call). It is used only where the kernel itself keeps
// CLOCK_MONOTONIC with it (clocksource "tsc": constant, synchronised across
// CPUs), and only once the recorder has calibrated it against
// CLOCK_MONOTONIC and published the result in the segment (tsc_ns_q32);
// until then, and elsewhere, calls are timed with CLOCK_MONOTONIC.
#pragma once

#include <cstdint>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace faultline {

inline uint64_t tsc_now() {
#if defined(__x86_64__)
    return __rdtsc();
#else
    return 0;
#endif
}

// Ticks to nanoseconds at `ns_q32` ns per tick (Q32 fixed point).
inline int64_t tsc_to_ns(uint64_t ticks, uint32_t ns_q32) {
    return int64_t((static_cast<unsigned __int128>(ticks) * ns_q32) >> 32);
}

// The Q32 ns-per-tick factor from two (tsc, CLOCK_MONOTONIC) readings; 0
// when they cannot give one (no counter, clocks going backwards, a counter
// slower than 1 GHz whose factor does not fit).
inline uint32_t tsc_calibrate(uint64_t tsc0, int64_t ns0, uint64_t tsc1, int64_t ns1) {
    if (tsc1 <= tsc0 || ns1 <= ns0) return 0;
    unsigned __int128 q = (static_cast<unsigned __int128>(ns1 - ns0) << 32) / (tsc1 - tsc0);
    return q == 0 || q > 0xffffffffu ? 0 : uint32_t(q);
}

} // namespace faultline
