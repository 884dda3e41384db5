// The runs of a sweep: CMD under the shim, each in a session of its own and
// a process group of its own, stdin from /dev/null, stdout and stderr into
// files of the sweep's scratch directory, FAULTLINE_SWEEP naming a site
// table for the shim to fill (sites in the profile, fatal signals always).
// Up to -j at once, each bounded by the run timeout, all by the budget, the
// run limit and the stop signals.
#pragma once

#include "controller/cli/children.h"
#include "controller/cli/stop_signals.h"
#include "controller/record/symbolizer.h"
#include "controller/sweep/sweep.h"

#include <csignal>
#include <functional>
#include <string>

namespace faultline::sweep {

class Runner {
  public:
    Runner(const Options& options, std::string shim, StopSignals& stop);
    ~Runner(); // removes the scratch directory
    Runner(const Runner&) = delete;
    Runner& operator=(const Runner&) = delete;

    // CMD without faults, bounded by `timeout_ns` (0: unbounded): its result,
    // and the sites it reached into sweep.sites.
    RunResult profile(Sweep& sweep, int64_t timeout_ns);

    // sweep.runs in order, each bounded by sweep.timeout_ns; fills their
    // results. Stops starting runs at a stop signal, the budget (measured
    // from `started_ns`) or --max-runs; runs cut short stay not-run.
    // `done(run, count)` after each run ends, with its index and how many
    // have.
    void run_all(Sweep& sweep, int64_t started_ns,
                 const std::function<void(size_t run, size_t count)>& done);

  private:
    struct Active;
    enum class Step { Running, Ended, TimedOut };
    Step step(Active& a, int64_t now, int64_t timeout_ns);
    void release(Active& a);
    const char* stop_reason(int64_t now, int64_t started_ns) const;
    bool start(Active& a, const std::string& rule, uint32_t families);
    void start_shell(Active& a, const std::string& line, bool crash_table);
    void start_child(Active& a, const std::vector<std::string>& argv, const std::string* table);
    void finish(Active& a, bool killed, bool timed_out);
    void start_probe(Active& a);

    const Options& options_;
    std::string shim_, scratch_;
    StopSignals& stop_;
    Children children_;
    Symbolizer symbols_;
    sigset_t sigmask_;
    unsigned sessions_ = 0;
};

} // namespace faultline::sweep
