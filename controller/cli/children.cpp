#include "controller/cli/children.h"

#include "common/segment.h"
#include "controller/cli/cli.h"
#include "controller/cli/pauser.h"
#include "controller/cli/stop_signals.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <sys/wait.h>

namespace faultline {

int exit_code(int wait_status) {
    if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
    return WEXITSTATUS(wait_status);
}

namespace {

std::string comm_of(pid_t pid) {
    char path[64], buf[32] = {};
    snprintf(path, sizeof path, "/proc/%d/comm", int(pid));
    FILE* f = fopen(path, "re");
    if (!f) return "";
    if (!fgets(buf, sizeof buf, f)) buf[0] = 0;
    fclose(f);
    buf[strcspn(buf, "\n")] = 0;
    return buf;
}

} // namespace

Children::Children(const char* command, StopSignals* relays) : command_(command), relays_(relays) {
    struct sigaction sa = {};
    sa.sa_handler = SIG_DFL; // and no SA_NOCLDWAIT, which reaps as SIG_IGN does
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, &saved_sigchld_);
}

Children::~Children() {
    restore_sigchld();
}

void Children::restore_sigchld() const {
    sigaction(SIGCHLD, &saved_sigchld_, nullptr);
}

void Children::add(pid_t pid, Kind kind) {
    if (pid > 0) children_.push_back({pid, kind, false});
}

Children::Child* Children::find(pid_t pid) {
    for (Child& c : children_)
        if (c.pid == pid && !c.ended) return &c;
    return nullptr;
}

std::optional<int> Children::reap(Child& c, bool block, int& error) {
    error = 0;
    // A look first (WNOWAIT): until it is reaped the pid is still ours, so a
    // signal relayed to it cannot reach a process that took its number.
    siginfo_t info;
    for (;;) {
        info.si_pid = 0;
        if (waitid(P_PID, id_t(c.pid), &info, WEXITED | WNOWAIT | (block ? 0 : WNOHANG)) == 0)
            break;
        if (errno == EINTR && block) continue;
        if (errno == EINTR) return std::nullopt; // asked again at the next poll
        error = errno;
        c.ended = true; // not ours any more: never signalled again
        return std::nullopt;
    }
    if (info.si_pid == 0) return std::nullopt; // still running
    if (relays_) relays_->stop_relaying(c.pid);
    std::string comm;
    if (on_reaped_) comm = comm_of(c.pid); // the zombie still has it
    int status = 0;
    while (waitpid(c.pid, &status, 0) < 0) {
        if (errno == EINTR) continue;
        error = errno;
        c.ended = true;
        return std::nullopt;
    }
    c.ended = true;
    if (on_reaped_) on_reaped_(c.pid, c.kind, comm, status);
    return status;
}

int Children::wait(pid_t pid) {
    Child* c = find(pid);
    if (!c) cli::fail(command_, "process " + std::to_string(pid) + " is not one it waits for");
    int error = 0;
    std::optional<int> status = reap(*c, true, error);
    if (!status)
        cli::fail(command_, "waiting for process " + std::to_string(pid) + ": " + strerror(error),
                  cli::kCheckFailed);
    return *status;
}

std::optional<int> Children::poll(pid_t pid) {
    Child* c = find(pid);
    if (!c) cli::fail(command_, "process " + std::to_string(pid) + " is not one it waits for");
    int error = 0;
    std::optional<int> status = reap(*c, false, error);
    if (error)
        cli::fail(command_, "waiting for process " + std::to_string(pid) + ": " + strerror(error),
                  cli::kCheckFailed);
    return status;
}

bool Children::targets_running() {
    bool running = false;
    for (Child& c : children_) {
        if (c.ended || c.kind != Kind::Target) continue;
        int error;
        reap(c, false, error); // one that cannot be waited for has ended for us
        running = running || !c.ended;
    }
    return running;
}

void Children::stop(int64_t grace_ns) noexcept {
    for (auto c = children_.rbegin(); c != children_.rend(); ++c)
        if (!c->ended) kill(c->pid, c->kind == Kind::Watchdog ? kResumeSignal : SIGTERM);
    int64_t until = monotonic_ns() + grace_ns;
    for (;;) {
        bool running = false;
        for (Child& c : children_) {
            if (c.ended) continue;
            int error;
            reap(c, false, error);
            running = running || !c.ended;
        }
        if (!running) return;
        if (monotonic_ns() >= until) break;
        timespec ts{0, 10'000'000};
        nanosleep(&ts, nullptr);
    }
    for (Child& c : children_) {
        if (c.ended) continue;
        kill(c.pid, SIGKILL);
        int error;
        reap(c, true, error);
    }
}

} // namespace faultline
