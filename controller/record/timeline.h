// A recorded session as the report sees it. Loaded from the recorder's SQLite
// file (recording_db.cpp, docs/recording.md) or built by hand in unit tests.
// Times are seconds since the session began (the segment's creation).
#pragma once

#include "common/latency.h"
#include "common/rule.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace faultline {

// One armed rule: when it was armed and retired, and what it did.
struct RuleSpan {
    uint32_t id = 0;
    std::string name, text;
    Family family = Family::Mem;
    double armed_s = 0;
    double retired_s = -1; // < 0: still armed when the recording ended
    uint64_t injected = 0; // the rule's final injection count
    bool pause = false;    // a `faultline pause` (injected: processes stopped): no family
    // Armed by an experiment as the next step of its ramp or its next phase,
    // back to back with the rules before: continues their window.
    bool joins = false;
};

// An outcome reported from outside the target: `faultline mark` or one run
// of a `faultline probe` command; or, when there are none, a client's
// exchange (its latency as its duration).
struct Outcome {
    double t_s = 0; // when it was reported (a probe: when its command ended)
    bool ok = false;
    bool probe = false;
    double duration_ms = -1; // a probe's run time; < 0 for marks
    std::string label;
};

using LatencyHistogram = std::array<uint64_t, kLatencyBuckets>;

// Counter deltas over one sampling interval (previous sample, t_s], summed
// over the session's processes. calls/errors count operation hooks only
// (hook_is_operation in common/hooks.h), per family.
struct Sample {
    double t_s = 0;
    std::array<uint64_t, kFamilyCount> calls{}, errors{};
    std::array<LatencyHistogram, kFamilyCount> latency{}; // per family, operation hooks
    uint64_t dropped = 0;                                 // events lost in the interval
};

// One attached process read from /proc at a sample.
struct ProcessSample {
    double t_s = 0;
    int32_t pid = 0;
    std::string comm;
    double rss_mb = 0;
    double cpu_s = 0; // user + system, cumulative
    int fds = 0;
};

// A process of the session that ended (recording_db's `exits`).
struct ProcessExit {
    double t_s = 0; // when it was reaped or noticed gone
    int32_t pid = 0;
    std::string comm;
    int status = -1;      // its exit status; -1: killed by a signal, or not known
    int signal = 0;       // the signal that killed it; 0: none, or not known
    bool core = false;    // it dumped core
    bool target = false;  // started by run or experiment (its status is exact)
    bool stopped = false; // stopped by faultline at the end (not a death)
    bool known() const { return status >= 0 || signal > 0; }
    // A death that says the program failed: killed by a signal, or a
    // target that exited non-zero; never one faultline stopped.
    bool failure() const { return !stopped && (signal > 0 || (target && status > 0)); }
};

struct Timeline {
    std::string session;
    uint64_t seed = 0;
    double end_s = 0; // when the recording ended
    uint64_t dropped_events = 0;
    std::vector<RuleSpan> rules;          // by arming time
    std::vector<Outcome> outcomes;        // by time
    bool exchanges = false;               // the outcomes are clients' exchanges
    std::vector<Sample> samples;          // by time
    std::vector<ProcessSample> processes; // by time
    std::vector<ProcessExit> exits;       // by time
};

} // namespace faultline
