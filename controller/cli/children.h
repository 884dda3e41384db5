// The processes a command started and must reap: the targets, the probe, a
// pause's watchdog. Waiting for them, stopping them, and what a target's
// end means as faultline's exit code.
#pragma once

#include <csignal>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace faultline {

class StopSignals;

// The exit code a wait status stands for: the child's own, or 128+N when
// signal N killed it (as a shell reports it).
int exit_code(int wait_status);

class Children {
  public:
    enum class Kind {
        Target,   // what the command is about: its end ends a run
        Client,   // a client of the session (run --client, role = "client"): the load
        Probe,    // stopped first, so that the targets' shutdown is not measured
        Watchdog, // a pause's (pauser.h): told to resume, never just killed
    };

    // Sets SIGCHLD to SIG_DFL while it lives. A parent that ignored SIGCHLD
    // passes that on through exec, and then the kernel reaps our children
    // itself and waitpid fails: read as status 0, a failed run turns green.
    // `command` names the errors; `relays`, when given, stops relaying
    // signals to a child before it is reaped (its pid may be reused).
    explicit Children(const char* command, StopSignals* relays = nullptr);
    ~Children(); // puts SIGCHLD back; stops nothing (stop() does)
    Children(const Children&) = delete;
    Children& operator=(const Children&) = delete;

    void add(pid_t pid, Kind kind);

    // Called with each child as it is reaped: its kind, its name (/proc's
    // comm, read just before), its wait status. Must not throw.
    using Reaped = std::function<void(pid_t, Kind, const std::string& comm, int wait_status)>;
    void on_reaped(Reaped hook) { on_reaped_ = std::move(hook); }

    // Blocks until `pid` (one of ours) ends; its wait status. Throws
    // cli::Failure when it cannot be waited for: never a status made up.
    int wait(pid_t pid);
    // Its wait status when `pid` has ended, nothing while it runs. Throws
    // like wait().
    std::optional<int> poll(pid_t pid);

    // True while a target runs; reaps those that ended.
    bool targets_running();

    // Every child still running gets its stop signal (SIGTERM; for a
    // watchdog, the one that has it resume what it froze), the latest first;
    // SIGKILL for what still runs after `grace_ns`. Reaps them all.
    void stop(int64_t grace_ns) noexcept;

    // In a forked child before exec: SIGCHLD as faultline found it, so that
    // the program starts as it would without faultline. Async-signal-safe.
    void restore_sigchld() const;

  private:
    struct Child {
        pid_t pid;
        Kind kind;
        bool ended;
    };
    Child* find(pid_t pid);
    // Reaps `c` if it has ended (blocking: waits until it has). The status,
    // or nothing while it runs; -1 in `error` when waitpid failed.
    std::optional<int> reap(Child& c, bool block, int& error);

    const char* command_;
    StopSignals* relays_;
    std::vector<Child> children_;
    Reaped on_reaped_;
    struct sigaction saved_sigchld_;
};

} // namespace faultline
