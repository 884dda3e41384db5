// The time-stamp counter as the clock of call timers (common/tsc.h): the
// recorder's calibration against CLOCK_MONOTONIC, and the conversion the
// shim applies, agree with CLOCK_MONOTONIC itself.
#include "common/segment.h"
#include "common/tsc.h"

#include <ctime>
#include <doctest/doctest.h>

using namespace faultline;

TEST_CASE("tsc: conversion and calibration arithmetic") {
    uint32_t half = uint32_t(1) << 31; // 0.5 ns per tick: a 2 GHz counter
    CHECK(tsc_to_ns(2'000'000'000, half) == 1'000'000'000);
    CHECK(tsc_to_ns(0, half) == 0);
    // Long calls do not overflow: an hour of ticks.
    CHECK(tsc_to_ns(uint64_t(7'200'000'000'000), half) == int64_t(3'600'000'000'000));
    CHECK(tsc_calibrate(1000, 0, 1000 + 2'000'000, 1'000'000) == half);
    CHECK(tsc_calibrate(5, 10, 5, 20) == 0);       // the counter stood still
    CHECK(tsc_calibrate(5, 10, 50, 10) == 0);      // no time passed
    CHECK(tsc_calibrate(0, 0, 1000, 10'000) == 0); // slower than 1 GHz: no Q32 factor
}

TEST_CASE("tsc: calibrated on this machine, it measures what CLOCK_MONOTONIC measures") {
    if (tsc_now() == 0) return; // no counter on this architecture: calls use the clock
    auto sleep_ms = [](long ms) {
        timespec ts{0, ms * 1'000'000};
        nanosleep(&ts, nullptr);
    };
    uint64_t t0 = tsc_now();
    int64_t m0 = monotonic_ns();
    sleep_ms(50);
    uint32_t q = tsc_calibrate(t0, m0, tsc_now(), monotonic_ns());
    REQUIRE(q != 0);
    uint64_t a = tsc_now();
    int64_t ma = monotonic_ns();
    sleep_ms(20);
    int64_t by_tsc = tsc_to_ns(tsc_now() - a, q);
    int64_t by_clock = monotonic_ns() - ma;
    CHECK(double(by_tsc) == doctest::Approx(double(by_clock)).epsilon(0.01));
}
