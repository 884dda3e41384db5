// The report's figures (docs/metrics.md), on timelines whose
// answers are known by construction.
#include "controller/report/metrics.h"

#include <algorithm>
#include <cmath>
#include <doctest/doctest.h>
#include <string>

using namespace faultline;

namespace {

RuleSpan rule(uint32_t id, std::string name, Family f, double armed, double retired,
              uint64_t injected = 10) {
    RuleSpan r;
    r.id = id;
    r.name = name;
    r.text = "rule " + name;
    r.family = f;
    r.armed_s = armed;
    r.retired_s = retired;
    r.injected = injected;
    return r;
}

// Outcomes every 0.1 s from 0 to end (exclusive); ok(i) decides each one.
// Times are i / 10.0 so that boundaries (10.0, 20.0) are exact.
template <class Ok> void marks(Timeline& t, int count, Ok ok) {
    for (int i = 0; i < count; ++i) {
        Outcome o;
        o.t_s = i / 10.0;
        o.ok = ok(i);
        t.outcomes.push_back(o);
    }
}

// The seed's scenario: 30 s, a fault from 10 to 20 s.
Timeline fault_10_20() {
    Timeline t;
    t.session = "api";
    t.seed = 7;
    t.end_s = 30;
    t.rules.push_back(rule(1, "db-down", Family::Db, 10, 20, 25));
    return t;
}

Sample calls_sample(double t_s, Family f, uint64_t calls, uint64_t errors = 0) {
    Sample s;
    s.t_s = t_s;
    s.calls[unsigned(f)] = calls;
    s.errors[unsigned(f)] = errors;
    return s;
}

const WindowReport& window(const Report& r, const std::string& name) {
    for (const WindowReport& w : r.windows)
        if (w.name == name) return w;
    FAIL("no window " << name);
    return r.windows.front();
}

} // namespace

TEST_CASE("fault windows are the union of the rules' intervals, baseline first") {
    Timeline t;
    t.end_s = 40;
    // given out of arming order on purpose
    t.rules.push_back(rule(2, "b", Family::Net, 8, 15, 3));
    t.rules.push_back(rule(1, "a", Family::Net, 5, 10, 2));
    t.rules.push_back(rule(3, "c", Family::Net, 15, 20, 0)); // touches b: same window
    t.rules.push_back(rule(4, "d", Family::Mem, 25, 27, 1));
    Report r = compute_report(t, {});
    REQUIRE(r.windows.size() == 3);
    CHECK(r.windows[0].name == "baseline");
    CHECK(r.windows[0].start_s == 0);
    CHECK(r.windows[0].end_s == 5);
    CHECK(r.windows[0].rules.empty());
    CHECK(r.windows[0].verdict == "");
    CHECK_FALSE(r.windows[0].recovery_s);
    CHECK_FALSE(r.windows[0].throughput_change);
    CHECK(r.windows[1].name == "a+b+c");
    CHECK(r.windows[1].start_s == 5);
    CHECK(r.windows[1].end_s == 20);
    CHECK(r.windows[1].injected == 5);
    CHECK(r.windows[1].rule_ids == std::vector<uint32_t>{1, 2, 3});
    CHECK(r.windows[1].rules == std::vector<std::string>{"rule a", "rule b", "rule c"});
    CHECK(r.windows[2].name == "d");
    CHECK(r.windows[2].start_s == 25);
    CHECK(r.windows[2].end_s == 27);
    CHECK(r.windows[2].injected == 1);
}

TEST_CASE("a rule re-armed back to back (a ramp's steps) is one window, named once") {
    Timeline t;
    t.end_s = 10;
    for (int k = 0; k < 4; ++k) {
        RuleSpan r;
        r.id = uint32_t(k + 1);
        r.name = "ramp";
        r.text = "db.error p=0." + std::to_string(k);
        r.family = Family::Db;
        r.armed_s = 2 + k + (k ? 0.0001 : 0); // each step armed just after the last retired
        r.retired_s = 3 + k;
        r.injected = 10;
        r.joins = k > 0; // the experiment said so
        t.rules.push_back(r);
    }
    Report r = compute_report(t, {});
    REQUIRE(r.windows.size() == 2);
    CHECK(r.windows[1].name == "ramp");
    CHECK(r.windows[1].start_s == doctest::Approx(2));
    CHECK(r.windows[1].end_s == doctest::Approx(6));
    CHECK(r.windows[1].injected == 40);
    CHECK(r.windows[1].rules.size() == 4);

    SUBCASE("another name, or a longer gap, starts a window of its own") {
        t.rules[2].armed_s = 4.05;
        Report q = compute_report(t, {});
        CHECK(q.windows.size() == 3);
    }
    SUBCASE("the same steps armed live (not joined) are four windows") {
        for (RuleSpan& rule : t.rules) rule.joins = false;
        Report q = compute_report(t, {});
        CHECK(q.windows.size() == 5);
    }
}

TEST_CASE("live toggles back to back: disable A; enable B 1 ms later is two windows") {
    Timeline t;
    t.end_s = 10;
    t.rules.push_back(rule(1, "A", Family::Net, 2, 4));
    t.rules.push_back(rule(2, "B", Family::Net, 4.001, 6));
    Report r = compute_report(t, {});
    REQUIRE(r.windows.size() == 3);
    CHECK(r.windows[1].name == "A");
    CHECK(r.windows[2].name == "B");
    CHECK(r.windows[2].start_s == doctest::Approx(4.001));
    // An experiment's next phase, armed as A is disarmed, continues A's.
    t.rules[1].joins = true;
    r = compute_report(t, {});
    REQUIRE(r.windows.size() == 2);
    CHECK(r.windows[1].name == "A+B");
    // Rules that overlap are one window, joined or not.
    t.rules[1].joins = false;
    t.rules[1].armed_s = 3.5;
    r = compute_report(t, {});
    REQUIRE(r.windows.size() == 2);
    CHECK(r.windows[1].name == "A+B");
}

TEST_CASE("a session without rules is one baseline window") {
    Timeline t;
    t.end_s = 10;
    marks(t, 100, [](int i) { return i % 2 == 0; });
    Report r = compute_report(t, {});
    REQUIRE(r.windows.size() == 1);
    CHECK(r.windows[0].name == "baseline");
    CHECK(r.windows[0].end_s == 10);
    CHECK(r.windows[0].ops == 100);
    CHECK(r.windows[0].success_rate == doctest::Approx(0.5));
    CHECK(r.windows[0].ops_per_s == doctest::Approx(10));
    CHECK(report_exit_code(r) == 0);
}

TEST_CASE("success rate from marks: every 4th fails in the fault window") {
    Timeline t = fault_10_20();
    marks(t, 300, [](int i) { return !(i >= 100 && i < 200 && i % 4 == 0); });
    Report r = compute_report(t, {});
    CHECK(r.source == "outcomes");
    REQUIRE(r.windows.size() == 2);
    const WindowReport& base = r.windows[0];
    const WindowReport& fault = r.windows[1];
    CHECK(base.ops == 100);
    CHECK(base.failed == 0);
    CHECK(base.success_rate == doctest::Approx(1.0));
    CHECK(fault.ops == 100);
    CHECK(fault.failed == 25);
    CHECK(fault.success_rate == doctest::Approx(0.75));
    // The same pace, a quarter of it failed: goodput is 25% lower.
    CHECK(fault.ops_per_s == doctest::Approx(*base.ops_per_s));
    CHECK(fault.goodput_per_s == doctest::Approx(7.5));
    CHECK(fault.throughput_change == doctest::Approx(-0.25));
    REQUIRE(fault.recovery_s);
    CHECK(*fault.recovery_s == doctest::Approx(0.0)); // all ok right after the fault
    CHECK(fault.injected == 25);
}

TEST_CASE("recovery time: failures go on 2 s after the fault ends") {
    // Candidates are the fault's end and each operation after it, so the
    // answer is exact to the spacing of operations (0.1 s here).
    Timeline t = fault_10_20();
    marks(t, 300, [](int i) { return i < 100 || i >= 220; }); // fails from 10.0 to 21.9
    Report r = compute_report(t, {});
    const WindowReport& fault = window(r, "db-down");
    CHECK(fault.success_rate == doctest::Approx(0.0));
    REQUIRE(fault.recovery_s);
    CHECK(std::fabs(*fault.recovery_s - 2.0) <= 0.1 + 1e-9);
    CHECK(*fault.recovery_s == doctest::Approx(2.0)); // first op of a clean second: 22.0

    SUBCASE("a partial failure rate after the fault: the last failure decides") {
        Timeline u = fault_10_20();
        // after the fault every 4th fails until 22 s: the last failure is at 21.6
        marks(u, 300, [](int i) { return i < 200 ? i < 100 : !(i < 220 && i % 4 == 0); });
        Report q = compute_report(u, {});
        REQUIRE(window(q, "db-down").recovery_s);
        CHECK(*window(q, "db-down").recovery_s == doctest::Approx(1.7));
    }
    SUBCASE("a longer steady span dilutes one failure within the margin") {
        MetricOptions opt;
        opt.recovery_window_s = 3;
        Report q = compute_report(t, {}, opt);
        REQUIRE(window(q, "db-down").recovery_s);
        // [21.9, 24.9): 1 failure in 30 ops, 96.7% >= 100% - 5%
        CHECK(*window(q, "db-down").recovery_s == doctest::Approx(1.9));
        opt.success_margin = 0.01;
        Report strict = compute_report(t, {}, opt);
        REQUIRE(window(strict, "db-down").recovery_s);
        CHECK(*window(strict, "db-down").recovery_s == doctest::Approx(2.0));
    }
    SUBCASE("the success margin tolerates a few failures") {
        MetricOptions opt;
        opt.success_margin = 0.5; // steady from 50% on
        Report q = compute_report(t, {}, opt);
        REQUIRE(window(q, "db-down").recovery_s);
        // [t, t+1) holds 10 ops; at least 5 ok from t = 21.5 (ops 21.5..21.9 fail)
        CHECK(*window(q, "db-down").recovery_s == doctest::Approx(1.5));
    }
}

TEST_CASE("recovery waits for throughput to come back") {
    Timeline t = fault_10_20();
    // all ok, but silent from 20 to 23 s
    marks(t, 300, [](int) { return true; });
    std::erase_if(t.outcomes, [](const Outcome& o) { return o.t_s >= 20 && o.t_s < 23 - 1e-9; });
    Report r = compute_report(t, {});
    REQUIRE(window(r, "db-down").recovery_s);
    CHECK(*window(r, "db-down").recovery_s == doctest::Approx(3.0));

    SUBCASE("too slow is not steady: 2 ops/s against 10 (floor 50%)") {
        Timeline u = fault_10_20();
        marks(u, 300, [](int) { return true; });
        std::erase_if(u.outcomes, [](const Outcome& o) {
            int i = int(std::lround(o.t_s * 10));
            return i >= 200 && i < 250 && i % 5 != 0;
        });
        Report q = compute_report(u, {});
        REQUIRE(window(q, "db-down").recovery_s);
        // the floor is 5 ops/s: [24.5, 25.5) is the first span with 5 or more (6)
        CHECK(*window(q, "db-down").recovery_s == doctest::Approx(4.5));
        MetricOptions opt;
        opt.throughput_floor = 0.1; // 1 op/s is enough
        Report loose = compute_report(u, {}, opt);
        REQUIRE(window(loose, "db-down").recovery_s);
        CHECK(*window(loose, "db-down").recovery_s == doctest::Approx(0.0));
    }
}

TEST_CASE("no recovery before the next fault window, nor while a rule is armed") {
    Timeline t = fault_10_20();
    t.rules.push_back(rule(2, "net-down", Family::Net, 21.5, 25, 3));
    marks(t, 300, [](int i) { return i < 100 || i >= 220; });
    Report r = compute_report(t, {});
    REQUIRE(r.windows.size() == 3);
    CHECK_FALSE(window(r, "db-down").recovery_s); // steady from 22.0, after net-down began
    REQUIRE(window(r, "net-down").recovery_s);
    CHECK(*window(r, "net-down").recovery_s == doctest::Approx(0.0));

    Timeline u = fault_10_20();
    u.rules[0].retired_s = -1; // never retired
    marks(u, 300, [](int i) { return i < 100; });
    Report q = compute_report(u, {});
    const WindowReport& w = window(q, "db-down");
    CHECK(w.open);
    CHECK(w.end_s == 30);
    CHECK(w.ops == 200);
    CHECK_FALSE(w.recovery_s);

    // ended too close to the end of the recording for a steady span
    Timeline v = fault_10_20();
    v.rules[0].retired_s = 29.5;
    marks(v, 300, [](int) { return true; });
    CHECK_FALSE(window(compute_report(v, {}), "db-down").recovery_s);
}

TEST_CASE("recovery without baseline operations: success alone decides") {
    Timeline t = fault_10_20();
    marks(t, 300, [](int i) { return i >= 235; });
    std::erase_if(t.outcomes, [](const Outcome& o) { return o.t_s < 10; });
    Report r = compute_report(t, {});
    CHECK(r.windows[0].ops == 0);
    CHECK_FALSE(r.windows[0].success_rate);
    CHECK_FALSE(window(r, "db-down").throughput_change);
    REQUIRE(window(r, "db-down").recovery_s);
    CHECK(*window(r, "db-down").recovery_s == doctest::Approx(3.5));
}

TEST_CASE("throughput drop from the calls: 100 per sample, then 60") {
    Timeline t = fault_10_20();
    // A sample covers (t - 0.1, t]: those ending in (10, 20] measured the fault.
    for (int i = 1; i <= 300; ++i) {
        bool in_fault = i > 100 && i <= 200;
        t.samples.push_back(calls_sample(i / 10.0, Family::Db, in_fault ? 60 : 100));
        t.samples.back().calls[unsigned(Family::Mem)] = 1000; // not a measured family
    }
    Report r = compute_report(t, {});
    CHECK(r.source == "calls");
    CHECK(r.families == std::vector<std::string>{"db"});
    CHECK(r.windows[0].ops == 10000);
    CHECK(r.windows[0].ops_per_s == doctest::Approx(1000));
    const WindowReport& fault = window(r, "db-down");
    CHECK(fault.ops == 6000);
    REQUIRE(fault.throughput_change);
    CHECK(*fault.throughput_change == doctest::Approx(-0.4));
    CHECK(fault.success_rate == doctest::Approx(1.0));
    // throughput is back to 100/sample from 20 s: 1000 ops/s >= 50% of the baseline
    REQUIRE(fault.recovery_s);
    CHECK(*fault.recovery_s == doctest::Approx(0.0));

    SUBCASE("errors are failures, per measured family") {
        for (Sample& s : t.samples)
            if (s.t_s > 10 && s.t_s <= 20) s.errors[unsigned(Family::Db)] = 15;
        Report q = compute_report(t, {});
        CHECK(window(q, "db-down").failed == 1500);
        CHECK(window(q, "db-down").success_rate == doctest::Approx(0.75));
    }
}

TEST_CASE("throughput: the baseline counts from its first operation; samples from their span") {
    Timeline t = fault_10_20();
    // 3 s of start-up without a call, then 100 per sample; the samples of the
    // fault window are 0.2 s apart (a slow recorder), 120 calls each.
    for (int i = 1; i <= 100; ++i)
        t.samples.push_back(calls_sample(i / 10.0, Family::Db, i <= 30 ? 0 : 100));
    for (int i = 1; i <= 50; ++i) t.samples.push_back(calls_sample(10 + i / 5.0, Family::Db, 120));
    for (int i = 1; i <= 100; ++i)
        t.samples.push_back(calls_sample(20 + i / 10.0, Family::Db, 100));
    Report r = compute_report(t, {});
    // 7000 calls in (3, 10]: 1000/s, not 700/s over (0, 10].
    CHECK(r.windows[0].ops_per_s == doctest::Approx(1000));
    // 6000 calls over the 10 s the fault's samples cover: 600/s, -40%.
    const WindowReport& fault = window(r, "db-down");
    CHECK(fault.ops_per_s == doctest::Approx(600));
    REQUIRE(fault.throughput_change);
    CHECK(*fault.throughput_change == doctest::Approx(-0.4));
}

TEST_CASE("measured families") {
    auto families = [](std::vector<Family> rules, std::vector<Family> with_calls) {
        Timeline t;
        t.end_s = 10;
        for (Family f : rules) t.rules.push_back(rule(1, "r", f, 2, 4));
        Sample s;
        s.t_s = 1;
        for (Family f : with_calls) s.calls[unsigned(f)] = 5;
        t.samples.push_back(s);
        return compute_report(t, {}).families;
    };
    using V = std::vector<std::string>;
    CHECK(families({Family::Vfs}, {Family::Db, Family::Vfs}) == V{"db"});
    CHECK(families({Family::Vfs}, {Family::Vfs}) == V{"vfs"});
    CHECK(families({Family::Db}, {Family::Vfs}) == V{"db"});
    CHECK(families({Family::Net, Family::Mem}, {Family::Mem}) == V{"mem", "net"});
    CHECK(families({}, {Family::Net, Family::Vfs}) == V{"net", "vfs"});
    CHECK(families({}, {}) == V{});
}

TEST_CASE("outcomes, when there are any, are the operations") {
    Timeline t = fault_10_20();
    marks(t, 300, [](int) { return true; });
    for (int i = 1; i <= 300; ++i)
        t.samples.push_back(calls_sample(i / 10.0, Family::Db, 100, i > 100 && i <= 200 ? 50 : 0));
    Report r = compute_report(t, {});
    CHECK(r.source == "outcomes");
    CHECK(window(r, "db-down").ops == 100);
    CHECK(window(r, "db-down").success_rate == doctest::Approx(1.0));
}

TEST_CASE("histogram percentiles, interpolated inside a bucket") {
    LatencyHistogram h{};
    CHECK_FALSE(histogram_percentile_ms(h, 0.5));

    // one value repeated: every percentile lies inside its bucket
    unsigned b = latency_bucket(1'000'000); // 1 ms
    h[b] = 100;
    for (double q : {0.01, 0.5, 0.99, 1.0}) {
        auto p = histogram_percentile_ms(h, q);
        REQUIRE(p);
        CHECK(*p * 1e6 >= double(latency_bucket_floor_ns(b)));
        CHECK(*p * 1e6 <= double(latency_bucket_floor_ns(b + 1)));
    }

    // 1..1000 us, uniform: p50 = 500 us and p99 = 990 us within bucket resolution
    h = {};
    for (int us = 1; us <= 1000; ++us) h[latency_bucket(int64_t(us) * 1000)] += 1;
    auto p50 = histogram_percentile_ms(h, 0.5), p99 = histogram_percentile_ms(h, 0.99);
    REQUIRE(p50);
    REQUIRE(p99);
    CHECK(*p50 == doctest::Approx(0.5).epsilon(0.1));
    CHECK(*p99 == doctest::Approx(0.99).epsilon(0.1));
    CHECK(*p50 < *p99);

    // below 4 us buckets share floors: bucket 1 is [1024, 2048) ns
    h = {};
    h[latency_bucket(1500)] = 10;
    auto low = histogram_percentile_ms(h, 0.5);
    REQUIRE(low);
    CHECK(*low * 1e6 == doctest::Approx(1536));

    CHECK(*histogram_percentile_ms(h, 0.25) * 1e6 == doctest::Approx(1280));

    // two buckets, 10 values each: the 60th percentile is 20% into the second
    h = {};
    unsigned lo = latency_bucket(100'000), hi = latency_bucket(1'000'000);
    h[lo] = 10;
    h[hi] = 10;
    double floor_hi = double(latency_bucket_floor_ns(hi));
    double width_hi = double(latency_bucket_floor_ns(hi + 1)) - floor_hi;
    CHECK(*histogram_percentile_ms(h, 0.6) * 1e6 == doctest::Approx(floor_hi + 0.2 * width_hi));
    CHECK(*histogram_percentile_ms(h, 0.5) * 1e6 ==
          doctest::Approx(double(latency_bucket_floor_ns(lo + 1))));

    // the first bucket: [0, 1024) ns
    h = {};
    h[0] = 4;
    CHECK(*histogram_percentile_ms(h, 0.5) * 1e6 == doctest::Approx(512));
}

TEST_CASE("window latency: probes give exact percentiles, else the histograms") {
    Timeline t = fault_10_20();
    for (int i = 1; i <= 100; ++i) { // 100 probes in the fault window, 1..100 ms
        Outcome o;
        o.t_s = 10.1 + i * 0.05; // reported as it ends: it began inside the window
        o.ok = true;
        o.probe = true;
        o.duration_ms = 101 - i; // out of order on purpose
        t.outcomes.push_back(o);
    }
    for (int i = 1; i <= 300; ++i) {
        Sample s = calls_sample(i / 10.0, Family::Db, 10);
        s.latency[unsigned(Family::Db)][latency_bucket(i <= 100 ? 2'000'000 : 30'000'000)] = 10;
        s.latency[unsigned(Family::Mem)][latency_bucket(500'000'000)] = 10; // not measured
        t.samples.push_back(s);
    }
    Report r = compute_report(t, {});
    const WindowReport& fault = window(r, "db-down");
    REQUIRE(fault.p50_ms);
    REQUIRE(fault.p99_ms);
    CHECK(*fault.p50_ms == 50);
    CHECK(*fault.p99_ms == 99);
    // the baseline has no probes: its 2 ms calls, within a bucket
    const WindowReport& base = r.windows[0];
    REQUIRE(base.p50_ms);
    REQUIRE(base.p99_ms);
    CHECK(*base.p50_ms == doctest::Approx(2.0).epsilon(0.25));
    CHECK(*base.p99_ms == doctest::Approx(2.0).epsilon(0.25));
}

TEST_CASE("exchanges: the operations, their latencies the exchanges' own") {
    Timeline t = fault_10_20();
    t.exchanges = true;
    for (int i = 0; i < 200; ++i) { // 10 per second, 4 ms each; half fail in the fault
        Outcome o;
        o.t_s = i * 0.1 + 0.004;
        o.duration_ms = 4;
        o.ok = !(o.t_s >= 10 && o.t_s < 20 && i % 2);
        if (!o.ok) o.label = i % 3 ? "http-5xx" : "reset";
        t.outcomes.push_back(o);
    }
    for (int i = 1; i <= 300; ++i) {
        Sample s = calls_sample(i / 10.0, Family::Db, 10);
        s.latency[unsigned(Family::Db)][latency_bucket(500'000'000)] = 10; // the server's calls
        t.samples.push_back(s);
    }
    Report r = compute_report(t, {});
    CHECK(r.source == "exchanges");
    const WindowReport& fault = window(r, "db-down");
    CHECK(fault.ops == 100);
    REQUIRE(fault.success_rate);
    CHECK(*fault.success_rate == doctest::Approx(0.5));
    REQUIRE(fault.p50_ms);
    CHECK(*fault.p50_ms == 4);
    // why they failed, most first: 16 of the 50 odd i in [101, 199] are multiples of 3
    REQUIRE(fault.failures.size() == 2);
    CHECK(fault.failures[0].first == "http-5xx");
    CHECK(fault.failures[0].second == 34);
    CHECK(fault.failures[1].first == "reset");
    CHECK(fault.failures[1].second == 16);
    CHECK(r.windows[0].failures.empty());
    // A window without exchanges has no latency: the calls' are not its.
    t.outcomes.erase(std::remove_if(t.outcomes.begin(), t.outcomes.end(),
                                    [](const Outcome& o) { return o.t_s < 10; }),
                     t.outcomes.end());
    r = compute_report(t, {});
    CHECK(!r.windows[0].p50_ms);
}

TEST_CASE("verdicts and exit codes") {
    Timeline t = fault_10_20();
    marks(t, 300, [](int i) { return !(i >= 100 && i < 220 && i % 4 == 0); });
    // success 0.75 in the window, recovery 1.7 s (last failure at 21.6)

    SUBCASE("no tolerances: no verdict, exit 0") {
        Report r = compute_report(t, {});
        CHECK(window(r, "db-down").verdict == "");
        CHECK_FALSE(r.judged);
        CHECK(report_exit_code(r) == 0);
    }
    SUBCASE("held within every tolerance") {
        Tolerances tol;
        tol.min_success = 0.7;
        tol.max_recovery_s = 2;
        tol.max_throughput_drop = 0.26; // goodput: -25%
        Report r = compute_report(t, tol);
        CHECK(window(r, "db-down").verdict == "held");
        CHECK(window(r, "db-down").deviations.empty());
        CHECK(r.windows[0].verdict == "");
        CHECK(report_exit_code(r) == 0);
    }
    SUBCASE("deviated on success") {
        Tolerances tol;
        tol.min_success = 0.9;
        Report r = compute_report(t, tol);
        const WindowReport& w = window(r, "db-down");
        CHECK(w.verdict == "deviated");
        REQUIRE(w.deviations.size() == 1);
        CHECK(w.deviations[0].find("75.0%") != std::string::npos);
        CHECK(w.deviations[0].find("90.0%") != std::string::npos);
        CHECK(report_exit_code(r) == 1);
    }
    SUBCASE("deviated on recovery") {
        Tolerances tol;
        tol.max_recovery_s = 1.5;
        Report r = compute_report(t, tol);
        CHECK(window(r, "db-down").verdict == "deviated");
        REQUIRE(window(r, "db-down").deviations.size() == 1);
        CHECK(window(r, "db-down").deviations[0].find("1.7 s") != std::string::npos);
        CHECK(report_exit_code(r) == 1);
    }
    SUBCASE("a rule that never injected: inconclusive, never a pass") {
        t.rules[0].injected = 0;
        Report plain = compute_report(t, {});
        CHECK(window(plain, "db-down").verdict == "inconclusive");
        CHECK(report_exit_code(plain) == 0); // nothing was asked
        Tolerances tol;
        tol.min_success = 0.1;
        Report r = compute_report(t, tol);
        CHECK(window(r, "db-down").verdict == "inconclusive");
        CHECK(report_exit_code(r) == 2);
    }
    SUBCASE("deviated beats inconclusive") {
        t.rules.push_back(rule(2, "idle", Family::Net, 25, 26, 0));
        Tolerances tol;
        tol.min_success = 0.9;
        Report r = compute_report(t, tol);
        CHECK(window(r, "idle").verdict == "inconclusive");
        CHECK(window(r, "db-down").verdict == "deviated");
        CHECK(report_exit_code(r) == 1);
    }
    SUBCASE("no operations while a success minimum is set: deviated") {
        t.outcomes.clear();
        Tolerances tol;
        tol.min_success = 0.5;
        Report r = compute_report(t, tol);
        CHECK_FALSE(window(r, "db-down").success_rate);
        CHECK(window(r, "db-down").verdict == "deviated");
    }
    SUBCASE("a rule still armed at the end cannot meet a recovery bound") {
        t.rules[0].retired_s = -1;
        Tolerances tol;
        tol.max_recovery_s = 100;
        Report r = compute_report(t, tol);
        CHECK(window(r, "db-down").verdict == "deviated");
    }
}

TEST_CASE("throughput tolerance") {
    Timeline t = fault_10_20();
    for (int i = 1; i <= 300; ++i)
        t.samples.push_back(calls_sample(i / 10.0, Family::Db, i > 100 && i <= 200 ? 60 : 100));
    Tolerances tol;
    tol.max_throughput_drop = 0.3;
    CHECK(window(compute_report(t, tol), "db-down").verdict == "deviated");
    tol.max_throughput_drop = 0.5;
    CHECK(window(compute_report(t, tol), "db-down").verdict == "held");
}

TEST_CASE("dropped events per window") {
    Timeline t = fault_10_20();
    for (int i = 1; i <= 300; ++i) {
        Sample s = calls_sample(i / 10.0, Family::Db, 1);
        s.dropped = i > 100 && i <= 200 ? 3 : 0;
        t.samples.push_back(s);
    }
    Report r = compute_report(t, {});
    CHECK(r.windows[0].dropped == 0);
    CHECK(window(r, "db-down").dropped == 300);
}

TEST_CASE("series: buckets over the whole recording") {
    Timeline t = fault_10_20();
    marks(t, 300, [](int i) { return !(i >= 100 && i < 200 && i % 2 == 0); });
    MetricOptions opt;
    opt.bucket_s = 1;
    Report r = compute_report(t, {}, opt);
    REQUIRE(r.series.size() == 30);
    CHECK(r.series[0].t_s == 0);
    CHECK(r.series[29].t_s == doctest::Approx(29));
    CHECK(r.series[5].ops_per_s == doctest::Approx(10));
    CHECK(r.series[5].success == doctest::Approx(1.0));
    CHECK(r.series[15].success == doctest::Approx(0.5));
    CHECK_FALSE(r.series[5].p50_ms); // no probes, no histograms

    Timeline e;
    e.end_s = 2.2;
    Report q = compute_report(e, {}, opt);
    REQUIRE(q.series.size() == 3);
    CHECK(q.series[2].width_s == doctest::Approx(0.2));
    CHECK_FALSE(q.series[0].success);
}

TEST_CASE("leak suspects: a robust RSS slope") {
    Timeline t;
    t.end_s = 30;
    auto proc = [&](int32_t pid, double at, double rss) {
        ProcessSample p;
        p.t_s = at;
        p.pid = pid;
        p.comm = "p" + std::to_string(pid);
        p.rss_mb = rss;
        t.processes.push_back(p);
    };
    for (int i = 0; i <= 20; ++i) {
        proc(1, i, 100 + 0.5 * i + (i % 2 ? 0.3 : -0.3)); // 30 MB/min, noisy
        proc(2, i, 100 + (i % 3));                        // flat
        proc(3, i, 100 + 0.1 * i);                        // 6 MB/min: below 10
    }
    proc(4, 0, 10);
    proc(4, 20, 500);                                     // two samples only
    for (int i = 0; i <= 5; ++i) proc(5, i, 10 + 10 * i); // fast, but over 5 s only
    Report r = compute_report(t, {});
    REQUIRE(r.leaks.size() == 1);
    CHECK(r.leaks[0].pid == 1);
    CHECK(r.leaks[0].comm == "p1");
    CHECK(r.leaks[0].mb_per_min == doctest::Approx(30).epsilon(0.05));

    MetricOptions opt;
    opt.leak_mb_per_min = 5;
    CHECK(compute_report(t, {}, opt).leaks.size() == 2);
}

namespace {

ProcessExit death(double t, int32_t pid, int status, int signal, bool target = false,
                  bool stopped = false) {
    ProcessExit e;
    e.t_s = t;
    e.pid = pid;
    e.comm = "svc";
    e.status = status;
    e.signal = signal;
    e.target = target;
    e.stopped = stopped;
    return e;
}

} // namespace

TEST_CASE("deaths: each exit in the window holding its time; a failure deviates when judged") {
    Timeline t = fault_10_20();
    marks(t, 300, [](int) { return true; });
    t.exits.push_back(death(5, 100, 0, 0));           // baseline: exited 0
    t.exits.push_back(death(12.5, 101, -1, 6, true)); // the fault window: SIGABRT
    t.exits.push_back(death(25, 102, -1, 9));         // between windows: none
    Report r = compute_report(t, {});
    REQUIRE(r.windows.size() == 2);
    REQUIRE(r.windows[0].exits.size() == 1);
    CHECK(r.windows[0].exits[0].pid == 100);
    REQUIRE(r.windows[1].exits.size() == 1);
    CHECK(r.windows[1].exits[0].pid == 101);
    REQUIRE(r.exits.size() == 3);
    CHECK(r.exit_windows == std::vector<std::string>{"baseline", "db-down", ""});
    // Unjudged: figures only (every mark ok), no verdict, exit 0.
    CHECK(r.windows[1].verdict == "");
    CHECK(report_exit_code(r) == 0);
    // Judged by a tolerance the figures pass: the death deviates.
    Tolerances tol;
    tol.min_success = 0.5;
    r = compute_report(t, tol);
    CHECK(r.windows[1].verdict == "deviated");
    REQUIRE(r.windows[1].deviations.size() == 1);
    CHECK(r.windows[1].deviations[0] == "process 101 (svc) killed by signal 6 (SIGABRT) at 12.5 s");
    CHECK(report_exit_code(r) == 1);
    CHECK(r.windows[0].verdict == ""); // the baseline is never judged
}

TEST_CASE("deaths: what is not a failure does not deviate") {
    Timeline t = fault_10_20();
    marks(t, 300, [](int) { return true; });
    t.exits.push_back(death(11, 200, 3, 0));               // not a target: its status is its own
    t.exits.push_back(death(12, 201, 0, 0, true));         // a target that exited 0
    t.exits.push_back(death(13, 202, -1, 0));              // status not known
    t.exits.push_back(death(14, 203, -1, 15, true, true)); // stopped by faultline
    Tolerances tol;
    tol.min_success = 0.5;
    Report r = compute_report(t, tol);
    CHECK(r.windows[1].exits.size() == 4);
    CHECK(r.windows[1].verdict == "held");
    // A target that exited non-zero does.
    t.exits.push_back(death(15, 204, 2, 0, true));
    r = compute_report(t, tol);
    CHECK(r.windows[1].verdict == "deviated");
    CHECK(r.windows[1].deviations.at(0) == "process 204 (svc) exited with status 2 at 15.0 s");
}

TEST_CASE("deaths: a window without operations after a death failed") {
    Timeline t;
    t.end_s = 30;
    t.rules.push_back(rule(1, "a", Family::Net, 10, 15));
    t.rules.push_back(rule(2, "b", Family::Net, 20, 25));
    // Operations until the service died at 12 s, none after.
    marks(t, 120, [](int) { return true; });
    t.exits.push_back(death(12, 300, -1, 11, true));
    Report r = compute_report(t, {});
    REQUIRE(r.windows.size() == 3);
    CHECK(r.windows[1].ops == 20);
    CHECK(r.windows[1].success_rate == doctest::Approx(1.0));
    CHECK(r.windows[2].ops == 0);
    REQUIRE(r.windows[2].success_rate);
    CHECK(*r.windows[2].success_rate == 0.0);
    // Without the death, the same window has no success rate at all.
    t.exits.clear();
    r = compute_report(t, {});
    CHECK_FALSE(r.windows[2].success_rate);
    CHECK(exit_text(death(1, 1, -1, 6)) == "killed by signal 6 (SIGABRT)");
    ProcessExit core = death(1, 1, -1, 11);
    core.core = true;
    CHECK(exit_text(core) == "killed by signal 11 (SIGSEGV), core dumped");
    CHECK(exit_text(death(1, 1, -1, 0)) == "ended (status not known)");
}

TEST_CASE("goodput: a paced loop whose operations half fail reads -50%, its pace unchanged") {
    // 10 operations a second throughout; from 10 to 20 s every other fails.
    Timeline t = fault_10_20();
    marks(t, 300, [](int i) { return !(i >= 100 && i < 200 && i % 2 == 1); });
    Report r = compute_report(t, {});
    const WindowReport& base = r.windows[0];
    const WindowReport& fault = window(r, "db-down");
    CHECK(base.goodput_per_s == doctest::Approx(10));
    CHECK(fault.ops_per_s == doctest::Approx(10));
    CHECK(fault.goodput_per_s == doctest::Approx(5));
    CHECK(fault.throughput_change == doctest::Approx(-0.5));
    Tolerances tol;
    tol.max_throughput_drop = 0.4;
    r = compute_report(t, tol);
    CHECK(window(r, "db-down").verdict == "deviated");
    CHECK(window(r, "db-down").deviations.at(0) ==
          "throughput dropped 50.0%, more than the allowed 40.0%");
}

TEST_CASE("goodput: a baseline without a success has no goodput to compare with") {
    Timeline t = fault_10_20();
    marks(t, 300, [](int i) { return i >= 100; }); // the baseline fails throughout
    Report r = compute_report(t, {});
    CHECK(r.windows[0].goodput_per_s == doctest::Approx(0));
    CHECK_FALSE(window(r, "db-down").throughput_change);
}

TEST_CASE("an outcome with a duration belongs to the window that holds its start") {
    // A paced client, a request every 0.1 s (at 0.05, 0.15...) taking 5 ms,
    // and a 300 ms pause from 10 s: the requests sent during it are
    // answered when it ends, so they are all reported after the window.
    Timeline t;
    t.end_s = 20;
    RuleSpan pause = rule(1, "gc pause", Family::Mem, 10, 10.3, 1);
    pause.pause = true;
    t.rules.push_back(pause);
    for (int i = 0; i < 199; ++i) {
        double start = 0.05 + i / 10.0;
        double end = start + 0.005;
        if (start >= 10 && start < 10.3) end = 10.305; // stalled by the pause
        Outcome o;
        o.t_s = end;
        o.ok = true;
        o.duration_ms = (end - start) * 1000;
        t.outcomes.push_back(o);
    }
    // A mark without a duration is an instant: reported at 10.32 s, after the pause.
    Outcome instant;
    instant.t_s = 10.32;
    instant.ok = false;
    t.outcomes.push_back(instant);

    Report r = compute_report(t, {});
    REQUIRE(r.windows.size() == 2);
    const WindowReport& w = window(r, "gc pause");
    CHECK(w.ops == 3); // those sent at 10.05, 10.15 and 10.25 s
    CHECK(w.failed == 0);
    REQUIRE(w.p50_ms);
    CHECK(*w.p50_ms == doctest::Approx(155));
    REQUIRE(w.p99_ms);
    CHECK(*w.p99_ms == doctest::Approx(255));
    CHECK(r.windows[0].ops == 100); // sent from 0.05 to 9.95 s
    // Recovery spans count operations from when they began too: the
    // failed mark at 10.32 s is in [10.3, 11.3) and [10.32, 11.32); the
    // first request after it, sent at 10.35 s, starts a steady span.
    REQUIRE(w.recovery_s);
    CHECK(*w.recovery_s == doctest::Approx(0.05));
}

TEST_CASE("each window is measured in the families of its own rules") {
    // 40 s sampled every 0.1 s: 100 net calls a sample, 20 from 10 to 20 s
    // (a net rule), and 1000 allocations a sample throughout, 100 of them
    // failing from 25 to 30 s.
    Timeline t;
    t.end_s = 40;
    t.rules.push_back(rule(1, "net-slow", Family::Net, 10, 20));
    for (int i = 1; i <= 400; ++i) {
        Sample s = calls_sample(i / 10.0, Family::Net, i > 100 && i <= 200 ? 20 : 100);
        s.calls[unsigned(Family::Mem)] = 1000;
        s.errors[unsigned(Family::Mem)] = i > 250 && i <= 300 ? 100 : 0;
        s.latency[unsigned(Family::Net)]
                 [latency_bucket(i > 100 && i <= 200 ? 50'000'000 : 1'000'000)] = 1;
        t.samples.push_back(s);
    }
    Report alone = compute_report(t, {});
    const WindowReport& net_alone = window(alone, "net-slow");
    CHECK(net_alone.families == std::vector<std::string>{"net"});
    CHECK(net_alone.ops == 2000);
    REQUIRE(net_alone.throughput_change);
    CHECK(*net_alone.throughput_change == doctest::Approx(-0.8));

    // Arming an unrelated mem rule later changes nothing of the net window.
    t.rules.push_back(rule(2, "oom", Family::Mem, 25, 30));
    Report r = compute_report(t, {});
    REQUIRE(r.windows.size() == 3);
    CHECK(r.families == std::vector<std::string>{"mem", "net"});
    CHECK(r.windows[0].families == r.families); // the baseline: the session's families
    CHECK(r.windows[0].ops == 100 * 1100);
    const WindowReport& net = window(r, "net-slow");
    CHECK(net.families == std::vector<std::string>{"net"});
    CHECK(net.ops == 2000);
    CHECK(net.failed == 0);
    REQUIRE(net.throughput_change);
    CHECK(*net.throughput_change == doctest::Approx(-0.8));
    REQUIRE(net.recovery_s);
    CHECK(*net.recovery_s == doctest::Approx(*net_alone.recovery_s));
    REQUIRE(net.p50_ms);
    CHECK(*net.p50_ms == doctest::Approx(50).epsilon(0.25));
    // The mem window in allocations alone: its failures, its unchanged pace.
    const WindowReport& mem = window(r, "oom");
    CHECK(mem.families == std::vector<std::string>{"mem"});
    CHECK(mem.ops == 50 * 1000);
    CHECK(mem.failed == 50 * 100);
    REQUIRE(mem.success_rate);
    CHECK(*mem.success_rate == doctest::Approx(0.9));
    REQUIRE(mem.throughput_change);
    CHECK(*mem.throughput_change == doctest::Approx(-0.1));
    CHECK_FALSE(mem.p50_ms); // allocations are never timed
}

TEST_CASE("a window of pauses alone is measured in every family with calls") {
    Timeline t;
    t.end_s = 20;
    RuleSpan pause = rule(1, "pause", Family::Mem, 10, 11, 1);
    pause.pause = true;
    t.rules.push_back(pause);
    t.rules.push_back(rule(2, "db-down", Family::Db, 15, 16));
    for (int i = 1; i <= 200; ++i) {
        Sample s = calls_sample(i / 10.0, Family::Net, 10);
        s.calls[unsigned(Family::Db)] = 5;
        t.samples.push_back(s);
    }
    Report r = compute_report(t, {});
    REQUIRE(r.windows.size() == 3);
    CHECK(r.windows[1].families == std::vector<std::string>{"net", "db"});
    CHECK(r.windows[1].ops == 10 * 15);
    CHECK(r.windows[2].families == std::vector<std::string>{"db"});
    CHECK(r.windows[2].ops == 10 * 5);
}

namespace {

// One process's RSS, sampled every second for `seconds`.
template <class Rss> Timeline rss_curve(double seconds, Rss rss) {
    Timeline t;
    t.end_s = seconds;
    for (int i = 0; i <= int(seconds); ++i) {
        ProcessSample p;
        p.t_s = i;
        p.pid = 7;
        p.comm = "svc";
        p.rss_mb = rss(double(i));
        t.processes.push_back(p);
    }
    return t;
}

// Deterministic noise in [-1, 1] MB.
double wobble(double x) {
    return std::sin(x * 12.9898) * 1.0;
}

} // namespace

TEST_CASE("leak suspects: a warming cache is not a leak, steady growth is") {
    SUBCASE("a cache that fills fast, then stays (least squares read 57 MB/min)") {
        Timeline t = rss_curve(
            120, [](double x) { return 100 + 200 * (1 - std::exp(-x / 15)) + wobble(x); });
        CHECK(compute_report(t, {}).leaks.empty());
    }
    SUBCASE("shared buffers touched at a steady pace for 40 s, then full") {
        // 300 MB/min while filling; least squares over the 120 s read 78 MB/min.
        Timeline t =
            rss_curve(120, [](double x) { return 50 + 5 * std::min(x, 40.0) + wobble(x); });
        CHECK(compute_report(t, {}).leaks.empty());
    }
    SUBCASE("growth that stops in the last half (least squares: 18.6 MB/min)") {
        Timeline t =
            rss_curve(120, [](double x) { return 50 + 0.5 * std::min(x, 70.0) + wobble(x); });
        CHECK(compute_report(t, {}).leaks.empty());
    }
    SUBCASE("growth given back before the end (a burst; least squares: 10.6 MB/min)") {
        Timeline t = rss_curve(120, [](double x) { return x < 100 ? 50 + 0.5 * x : 60.0; });
        CHECK(compute_report(t, {}).leaks.empty());
    }
    SUBCASE("a steady leak after a warm-up") {
        // 100 MB in the first 10 s (start-up), then 20 MB/min to the end
        // (least squares, the start-up included: 32 MB/min).
        Timeline t = rss_curve(120, [](double x) {
            return 100 + 10 * std::min(x, 10.0) + std::max(x - 10, 0.0) / 3 + wobble(x);
        });
        Report r = compute_report(t, {});
        REQUIRE(r.leaks.size() == 1);
        CHECK(r.leaks[0].pid == 7);
        CHECK(r.leaks[0].mb_per_min == doctest::Approx(20).epsilon(0.1));
        // Below the threshold it is not one.
        MetricOptions opt;
        opt.leak_mb_per_min = 25;
        CHECK(compute_report(t, {}, opt).leaks.empty());
    }
    SUBCASE("a steady leak with outliers: the slope is the leak's, not theirs") {
        Timeline t = rss_curve(120, [](double x) {
            double spike = int(x) % 17 == 0 ? 400 : 0; // a transient buffer now and then
            return 100 + x / 2 + spike;
        });
        Report r = compute_report(t, {});
        REQUIRE(r.leaks.size() == 1);
        CHECK(r.leaks[0].mb_per_min == doctest::Approx(30).epsilon(0.05));
    }
}
