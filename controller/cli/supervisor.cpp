#include "controller/cli/supervisor.h"

#include "controller/cli/cli.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

namespace faultline {

using cli::fail;

namespace {

constexpr int kRelayed[] = {SIGINT, SIGQUIT, SIGTERM, SIGHUP};

void nap(int64_t ns) {
    timespec ts{time_t(ns / 1'000'000'000), long(ns % 1'000'000'000)};
    nanosleep(&ts, nullptr);
}

} // namespace

Supervisor::Supervisor(const char* command, Signals signals)
    : command_(command), mode_(signals),
      stop_(signals == Signals::Relay ? std::initializer_list<int>{SIGINT, SIGQUIT, SIGTERM, SIGHUP}
                                      : std::initializer_list<int>{SIGINT, SIGTERM, SIGHUP}),
      children_(command, &stop_) {
    // A target's end, exact, as we reap it: the recording's exits, and
    // whether one died before we stopped it.
    children_.on_reaped([this](pid_t pid, Children::Kind kind, const std::string& comm,
                               int status) {
        if (kind != Children::Kind::Target && kind != Children::Kind::Client) return;
        bool target = kind == Children::Kind::Target;
        // A stop signal passed on (Ctrl-C, SIGTERM to run) ended it:
        // ours, not a death.
        if (target && stop_.requested() && !stopping_) {
            stopping_ = true;
            if (recorder_) recorder_->stopping();
        }
        // A client's end is recorded, never a target's death: its
        // failures are its exchanges'.
        if (target && !stopping_ &&
            (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status))))
            target_failed_ = true;
        // A client ended by a stop signal passed on is stopped too.
        bool stopped = stopping_ || stop_.requested();
        if (recorder_)
            recorder_->process_ended(int32_t(pid), comm, status, target, stopped);
        else if (session_) // the session's recorder would only see it gone
            segment_push_exit(&session_->segment(), int32_t(pid), status, target, stopped, comm);
    });
}

Supervisor::~Supervisor() {
    finish();
}

void Supervisor::create(const std::string& name, uint64_t seed) {
    session_.emplace(Session::create(name, seed, command_));
    created_ = true;
    session_->segment().controller_pid.store(int32_t(getpid()));
}

void Supervisor::join(const std::string& name) {
    session_.emplace(Session::open(name, command_));
    // Root may control another user's session, but what it starts would not
    // join it: the shim takes rules only from its own user's segments.
    uint32_t owner = uint32_t(geteuid());
    if (segment_owner(name, owner) && owner != uint32_t(geteuid())) {
        session_.reset();
        const passwd* pw = getpwuid(owner);
        fail(command_, "session '" + name + "' belongs to " +
                           (pw ? std::string(pw->pw_name) : "uid " + std::to_string(owner)) +
                           ": programs started by another user do not join it (control it "
                           "with enable, disable, list, status, record; start programs as " +
                           (pw ? std::string(pw->pw_name) : "its owner") + ")");
    }
}

bool Supervisor::join_or_create(const std::string& name, uint64_t seed) {
    SegmentError err;
    if (Segment* existing = segment_open(name, err, Opener::OwnerOrRoot)) {
        // Another user's session, stale or not, is theirs: join() says why
        // it cannot be used to start programs.
        uint32_t owner = uint32_t(geteuid());
        bool stale = segment_is_stale(existing) &&
                     (!segment_owner(name, owner) || owner == uint32_t(geteuid()));
        segment_unmap(existing);
        if (!stale) {
            join(name);
            return false;
        }
        segment_unlink(name);
    } else if (err != SegmentError::NotFound) {
        fail(command_, "session '" + name + "': " + segment_error_text(err));
    }
    create(name, seed);
    return true;
}

std::vector<uint32_t> Supervisor::arm(std::vector<Rule>& rules) {
    if (rules.empty()) return {};
    std::vector<uint32_t> ids = session_->arm(rules, command_);
    armed_.insert(armed_.end(), ids.begin(), ids.end());
    return ids;
}

void Supervisor::disarm(const std::vector<uint32_t>& ids) {
    for (uint32_t id : ids) {
        segment_disarm(&session_->segment(), std::to_string(id));
        std::erase(armed_, id);
    }
}

void Supervisor::record(const RecorderOptions& opt) {
    recorder_ = std::make_unique<Recorder>(session_->segment(), opt, command_);
}

pid_t Supervisor::launch(const std::vector<std::string>& argv, const LaunchEnv& env) {
    // Blocked across the fork: the child puts faultline's dispositions back
    // before one can reach it, and one relayed finds the child's pid known.
    sigset_t block, saved;
    sigemptyset(&block);
    for (int sig : kRelayed) sigaddset(&block, sig);
    sigprocmask(SIG_BLOCK, &block, &saved);
    if (mode_ == Signals::Relay && stop_.requested()) {
        sigprocmask(SIG_SETMASK, &saved, nullptr);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        stop_.restore();
        children_.restore_sigchld();
        exec_target(argv, env);
    }
    int fork_errno = errno;
    if (pid > 0) {
        children_.add(pid, env.client ? Children::Kind::Client : Children::Kind::Target);
        if (mode_ == Signals::Relay) stop_.relay_to(pid, 0, true);
    }
    sigprocmask(SIG_SETMASK, &saved, nullptr);
    if (pid < 0) fail(command_, std::string("fork: ") + strerror(fork_errno), cli::kCheckFailed);
    return pid;
}

int Supervisor::wait(pid_t pid) {
    if (!recorder_) return exit_code(children_.wait(pid));
    for (;;) {
        // A stop signal passed on (Ctrl-C, SIGTERM to run): what ends from
        // now on, the target's helpers that its shutdown stops included, we
        // stopped.
        if (stop_.requested() && !stopping_) {
            stopping_ = true;
            recorder_->stopping();
        }
        if (std::optional<int> status = children_.poll(pid)) return exit_code(*status);
        if (recorder_->poll()) continue; // behind: no sleep
        nap(recorder_->poll_interval_ns());
    }
}

void Supervisor::finish() noexcept {
    if (finished_) return;
    finished_ = true;
    if (session_) {
        // Disarmed first: the targets wind down unfaulted, and the recording
        // sees the rules retire.
        Segment& seg = session_->segment();
        if (created_) {
            segment_disarm_all(&seg);
        } else {
            for (uint32_t id : armed_) {
                char text[16];
                snprintf(text, sizeof text, "%u", id);
                segment_disarm(&seg, text);
            }
        }
        armed_.clear();
    }
    stopping_ = true;
    if (recorder_) recorder_->stopping(); // what ends from now on, we stopped
    children_.stop(kStopGraceNs);
    if (created_ && stop_attached_) stop_attached();
    if (recorder_) {
        try {
            recorder_->finish(); // after disarming: the retirements are recorded
        } catch (...) {
            fprintf(stderr, "faultline: %s: the recording could not be finished\n", command_);
        }
    }
    close_session();
}

// Whatever is still attached to a session we created: SIGTERM, then SIGKILL
// after the grace. Nothing outlives the command.
void Supervisor::stop_attached() noexcept {
    try {
        auto procs = session_->processes();
        if (procs.empty()) return;
        for (auto& p : procs) kill(p.pid, SIGTERM);
        int64_t until = monotonic_ns() + kStopGraceNs;
        while (monotonic_ns() < until && !session_->processes().empty()) nap(20'000'000);
        for (auto& p : session_->processes()) kill(p.pid, SIGKILL);
    } catch (...) {
        // Out of memory listing them: they are left to `faultline gc`.
    }
}

// A session we created is ours to remove once nothing is attached to it;
// while something is (a daemonised child), it stays, and turns stale for
// `faultline gc` when that ends.
void Supervisor::close_session() noexcept {
    if (!session_ || !created_) return;
    Segment& seg = session_->segment();
    seg.controller_pid.store(0);
    if (segment_live_processes(&seg) == 0) segment_unlink(session_->name());
}

} // namespace faultline
