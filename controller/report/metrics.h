// The report's figures (docs/metrics.md), computed from a Timeline. Pure: no I/O,
// so that unit tests feed it timelines whose answers are known by
// construction. Every definition is written out in docs/metrics.md.
#pragma once

#include "controller/record/timeline.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace faultline {

// Pass/fail bounds (from `report --min-success ...` or an experiment file).
struct Tolerances {
    std::optional<double> min_success;         // 0..1
    std::optional<double> max_recovery_s;      // seconds
    std::optional<double> max_throughput_drop; // 0..1: 0.5 allows halving
    bool any() const { return min_success || max_recovery_s || max_throughput_drop; }
};

struct MetricOptions {
    double bucket_s = 0.5;          // width of the timeline's points
    double recovery_window_s = 1.0; // steady state must hold this long
    double success_margin = 0.05;   // steady: success >= baseline - margin
    double throughput_floor = 0.5;  // steady: ops/s >= floor * baseline
    double leak_mb_per_min = 10;    // RSS slope flagged as a suspected leak
};

struct WindowReport {
    std::string name; // "baseline", else the rules' names joined by '+'
    double start_s = 0, end_s = 0;
    std::vector<uint32_t> rule_ids;
    std::vector<std::string> rules; // rule texts
    std::vector<std::string>
        families; // whose calls are its operations (the baseline: the session's)
    uint64_t injected = 0;
    uint64_t ops = 0, failed = 0;
    // The failed outcomes by what they said (a mark's label, an exchange's
    // failure: "http-5xx", "reset"...), most first; "" for those that said
    // nothing. Empty when the operations are calls.
    std::vector<std::pair<std::string, uint64_t>> failures;
    uint64_t dropped = 0;
    std::optional<double> success_rate;      // 0..1; none without operations
    std::optional<double> recovery_s;        // none: never recovered (or baseline)
    std::optional<double> throughput_change; // goodput against the baseline's: -0.25 is 25% less
    std::optional<double> ops_per_s;         // none for a window of zero length
    std::optional<double> goodput_per_s;     // successful operations per second, likewise
    bool open = false;                       // a rule was still armed when the recording ended
    std::optional<double> p50_ms, p99_ms;
    std::vector<ProcessExit> exits;      // processes of the session that ended in it
    std::string verdict;                 // "", "held", "deviated", "inconclusive"
    std::vector<std::string> deviations; // which tolerance failed, in words
};

// One point of the timeline drawn by svg/html.
struct SeriesPoint {
    double t_s = 0;     // start of the bucket
    double width_s = 0; // the bucket's length (the last one may be shorter)
    double ops_per_s = 0;
    std::optional<double> success; // 0..1
    std::optional<double> p50_ms;
};

struct LeakSuspect {
    int32_t pid = 0;
    std::string comm;
    double mb_per_min = 0;
};

struct Report {
    std::string session;
    uint64_t seed = 0;
    uint64_t dropped_events = 0;
    // "outcomes" (marks, probes), "exchanges" (the clients') or "calls" (the
    // shim's counters)
    std::string source;
    std::vector<std::string> families; // families whose calls are the operations
    std::vector<WindowReport> windows; // baseline first
    std::vector<SeriesPoint> series;
    std::vector<LeakSuspect> leaks;
    std::vector<ProcessExit> exits;        // every one, by time
    std::vector<std::string> exit_windows; // the name of the window holding each ("" none)
    double end_s = 0;
    bool judged = false; // tolerances were given (Tolerances::any)
};

Report compute_report(const Timeline& t, const Tolerances& tol, const MetricOptions& opt = {});

// 0 when every window held or no tolerance was given, 1 when one deviated,
// 2 when one was inconclusive and none deviated.
int report_exit_code(const Report& r);

// How a process ended, in words: "killed by signal 6 (SIGABRT), core
// dumped", "exited with status 3", "ended (status not known)".
std::string exit_text(const ProcessExit& e);

// Percentile (0..1) of a histogram, interpolated inside the bucket, in ms.
std::optional<double> histogram_percentile_ms(const LatencyHistogram& h, double q);

} // namespace faultline
