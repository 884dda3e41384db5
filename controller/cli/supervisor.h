// What `faultline run` and `faultline experiment` have in common: the
// session they create or join, its recorder, the processes they start under
// the shim, the stop signals, and one teardown that every way out goes
// through (finish(), or the destructor when an error skipped it): our rules
// disarmed, the children stopped and reaped, the recording finished, and a
// session we created removed once nothing is attached to it any more.
#pragma once

#include "controller/cli/children.h"
#include "controller/cli/launcher.h"
#include "controller/cli/session.h"
#include "controller/cli/stop_signals.h"
#include "controller/record/recorder.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace faultline {

class Supervisor {
  public:
    // What SIGINT, SIGTERM and SIGHUP (and for Relay SIGQUIT) do while it
    // lives.
    enum class Signals {
        // run: passed on to the targets, whose end decides ours. What the
        // terminal sends its whole foreground group (Ctrl-C) reaches them
        // anyway and is not sent twice. One that came before any target
        // started: launch() starts nothing.
        Relay,
        // experiment: stop_signal() turns non-zero; the command winds down.
        Stop,
    };

    static constexpr int64_t kStopGraceNs = 2'000'000'000; // SIGTERM, then SIGKILL

    Supervisor(const char* command, Signals signals);
    ~Supervisor(); // finish() when it was not reached
    Supervisor(const Supervisor&) = delete;
    Supervisor& operator=(const Supervisor&) = delete;

    // The session: a new one (ours: we are its controller), or a live one.
    void create(const std::string& name, uint64_t seed);
    void join(const std::string& name);
    // run's rule: join NAME when live, replace it when stale, else create
    // it. True when created.
    bool join_or_create(const std::string& name, uint64_t seed);
    Session& session() { return *session_; }
    bool created() const { return created_; }

    // All or nothing; the ids are disarmed at the end unless disarm() was
    // given them before.
    std::vector<uint32_t> arm(std::vector<Rule>& rules);
    void disarm(const std::vector<uint32_t>& ids);

    // The rules `ids`, just armed, continue the window before them (an
    // experiment's next ramp step or phase; docs/metrics.md "Windows").
    void continue_window(const std::vector<uint32_t>& ids) {
        if (recorder_) recorder_->continue_window(ids);
    }

    // Starts recording the session (its baseline too: call it before the
    // targets start).
    void record(const RecorderOptions& opt);
    bool recording() const { return recorder_ != nullptr; }
    // Drains the recorder; true when it is behind (poll again at once).
    bool poll() { return recorder_ && recorder_->poll(); }
    int64_t poll_interval_ns() const {
        return recorder_ ? recorder_->poll_interval_ns() : 5'000'000;
    }

    // Forks and execs a target (launcher.h) with the signal dispositions
    // faultline was started with. Throws cli::Failure (exit 1) when fork
    // fails; -1 when (Relay) a stop signal came first.
    pid_t launch(const std::vector<std::string>& argv, const LaunchEnv& env);
    // A child started otherwise (the probe, a pause's watchdog): stopped at
    // the end with the targets.
    void adopt(pid_t pid, Children::Kind kind) { children_.add(pid, kind); }
    Children& children() { return children_; }
    // Waits for target `pid` while the recorder drains; its exit code (128+N
    // when signal N killed it). Throws cli::Failure when waitpid fails.
    int wait(pid_t pid);

    // The last stop signal received, 0 while none has been.
    int stop_signal() const { return stop_.received(); }

    // At the end, in a session we created, also stop what is still attached
    // to it (a daemon, a killed script's orphans).
    void stop_attached_at_end() { stop_attached_ = true; }

    // A target ended by itself, before the teardown, killed by a signal or
    // with a non-zero status.
    bool target_failed() const { return target_failed_; }

    // The teardown, once. Never throws.
    void finish() noexcept;

  private:
    void stop_attached() noexcept;
    void close_session() noexcept;

    const char* command_;
    Signals mode_;
    StopSignals stop_;  // first: caught from the start, restored last
    Children children_; // SIGCHLD at its default while we reap
    std::optional<Session> session_;
    std::unique_ptr<Recorder> recorder_;
    std::vector<uint32_t> armed_;
    bool created_ = false, stop_attached_ = false, finished_ = false;
    bool stopping_ = false, target_failed_ = false;
};

} // namespace faultline
