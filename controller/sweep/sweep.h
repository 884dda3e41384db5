// faultline sweep (docs/sweep.md): what a sweep knows, stage by stage.
//
//   profile  one run without faults: the failure sites the program reaches
//   plan     one run per site, with a rule that fails that site (plan.h)
//   runs     the runs, in parallel, each bounded (runner.h)
//   verdict  each run's outcome; the findings, grouped (verdict.h)
//   report   table, json or html (sweep_format.h), and the recording (sweep_store.h)
#pragma once

#include "common/hooks.h"

#include <cstdint>
#include <string>
#include <vector>

namespace faultline::sweep {

enum class Mode { Once, Persistent };

// A failure site as the profile found it.
struct Site {
    uint64_t id = 0; // site= (common/site.h)
    Hook hook = Hook(0);
    uint64_t calls = 0; // from this site in the profile run
    uint64_t first = 0; // order of first reach (1: the first site reached)
    int32_t pid = 0;
    std::string comm;
    std::vector<std::string> stack; // "function+0xOFF (object)", the caller of the hook first
};

// How a process of a run ended by a fatal signal, as the shim saw it.
struct Crash {
    int32_t pid = 0;
    std::string comm;
    int signal = 0;
    std::vector<std::string> stack; // the crashing thread, innermost first
};

// What one program run did: the reference (the profile) or a fault run.
struct RunResult {
    bool ran = false;       // false: never started or stopped by the sweep's end
    bool timed_out = false; // killed at --timeout
    int status = 0;         // wait status of CMD when it ended
    double duration_s = 0;  // start to end
    uint64_t stdout_bytes = 0;
    uint64_t injected = 0;   // times the run's rule failed its site
    std::string sanitizer;   // the first line of an ASan/UBSan/LSan report on stderr
    std::string stderr_tail; // its last lines, for the report
    std::vector<Crash> crashes;
    bool probe_ran = false;
    int probe_status = 0; // wait status of --probe
};

enum class Outcome { Handled, Crashed, Hung, Sanitizer, ProbeFailed, Unreached, NotRun };
constexpr unsigned kOutcomeCount = 7;
const char* outcome_name(Outcome o); // "handled", "crashed", ... "not-run"

// One fault run: the site it fails, the rule that fails it, what happened.
struct Run {
    size_t site = 0; // index into the sweep's sites
    std::string rule;
    // Instead of arming `rule` in a session of the sweep's: this command
    // line, run by sh (a finding's reproducer, checked as printed), with the
    // site table only when `crash_table` (a crash only a child's table saw).
    std::string shell;
    bool crash_table = false;
    RunResult result;
    Outcome outcome = Outcome::NotRun;
};

// Runs that share an outcome, a failure site (the frame that called the
// failing function) and a crash site (the crashing stack's top frames).
struct Finding {
    Outcome outcome = Outcome::Crashed;
    int signal = 0;
    std::string function; // the hooked function that failed
    std::vector<std::string> stack;
    std::vector<std::string> crash_stack;
    std::string reproduce;    // a `faultline run` command line
    std::vector<size_t> runs; // indexes into the sweep's runs, the first reproduces it
    std::string detail;       // the sanitizer's line, or the run's stderr tail
    // Its reproducer, run as printed once the sweep is done: did it end the
    // same way? Checked: false when the check was not made (a stopped
    // sweep). `again`: how it ended ("exit 2", "killed by SIGSEGV").
    bool checked = false, reproduced = false;
    std::string again;
};

struct Options {
    uint32_t families = 0; // bit 1 << Family
    Mode mode = Mode::Once;
    unsigned jobs = 1;
    int64_t timeout_ns = 0; // 0: ten times the profile's duration, at least 2 s
    int64_t budget_ns = 0;  // 0: none
    uint64_t max_runs = 0;  // 0: none
    std::string probe;      // sh -c after each run; empty: none
    std::string output;     // recording file; "none": none
    std::string format = "table";
    bool verbose = false;
    std::vector<std::string> command;
};

struct Sweep {
    Options options;
    RunResult profile;
    uint64_t profile_calls = 0;  // failable calls the profile made
    uint64_t dropped_sites = 0;  // sites the profile table had no room for
    std::vector<Site> sites;     // in order of first reach
    std::vector<size_t> skipped; // sites no rule can fail (accept, ...)
    std::vector<Run> runs;
    std::vector<Finding> findings;
    double elapsed_s = 0;
    int64_t timeout_ns = 0;   // per run, as applied
    std::string faultline;    // how the reproducers call faultline (plan.h, self_command)
    bool interrupted = false; // Ctrl-C, or --budget / --max-runs reached
    std::string stopped_by;   // why it stopped early ("SIGINT", "budget", "max-runs")
};

} // namespace faultline::sweep
