// An experiment file (TOML, docs/experiments.md): the target, the
// steady-state probe and its tolerances, and the phases with their rules.
// Loading validates everything up front: unknown keys, wrong types and bad
// rules are errors naming file, line and column.
#pragma once

#include "controller/report/metrics.h"

#include "common/rule.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace faultline {

struct ExperimentProcess {
    std::vector<std::string> command;
    bool inherit = true; // its children join the session
    bool shim = true;    // false: not under the shim (a load generator), FAULTLINE_SESSION set
    // role = "client": under the shim but never faulted, its TCP exchanges
    // the session's operations (LaunchEnv::client).
    bool client = false;
};

// `p` of every rule of the phase goes from `from` to `to` in `steps` equal
// steps over the phase (the first step at `from`, the last at `to`).
struct Ramp {
    double from = 0, to = 0;
    unsigned steps = 5;
};

struct Phase {
    std::string name;
    int64_t duration_ns = 0;
    std::vector<Rule> rules; // parsed, named after the phase unless name= is given
    std::optional<Ramp> ramp;
    int64_t pause_ns = 0; // stop the session's processes this long at the phase's start
};

struct SteadyState {
    std::vector<std::string> probe; // empty: no probe (marks or calls then)
    int64_t every_ns = 1'000'000'000;
    int64_t timeout_ns = 0; // 0: the period
    Tolerances tolerances;
    double recovery_window_s = 1.0;
};

struct Experiment {
    std::string path;
    std::string name;
    std::optional<uint64_t> seed;
    std::string session;                      // join this live session instead of starting one
    std::vector<ExperimentProcess> processes; // started under the shim
    std::vector<Rule> rules;                  // armed for the whole run
    SteadyState steady;
    std::vector<Phase> phases;
    std::string output; // the recording; empty: the caller's default
};

// Throws cli::Failure{command, "FILE:LINE:COL: why"} on any problem.
Experiment load_experiment(const std::string& path, const char* command);

// The rules of a file for `faultline run -c`: its top-level `rules` (the
// rest of an experiment file is ignored there).
std::vector<Rule> load_rules_file(const std::string& path, const char* command);

// The name a phase gives its rules (and its pause): letters, digits, '-',
// '_' and '.' ("db busy" → "db-busy").
std::string phase_rule_name(const std::string& phase);

// A rule with p= set to `p` (its text rewritten to match).
Rule with_probability(const Rule& r, double p);

} // namespace faultline
