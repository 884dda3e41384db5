#include "controller/cli/pauser.h"

#include <algorithm>
#include <csignal>
#include <ctime>
#include <sys/wait.h>
#include <unistd.h>

namespace faultline {

namespace {

volatile sig_atomic_t g_resume_now = 0;

void on_resume_now(int) {
    g_resume_now = 1;
}

[[noreturn]] void watchdog(Segment& seg, const std::vector<ProcessView>& procs, int64_t until,
                           const std::string& name) {
    setsid(); // out of the caller's process group: a Ctrl-C or a group kill misses it
    struct sigaction sa = {};
    sa.sa_handler = on_resume_now;
    sigaction(kResumeSignal, &sa, nullptr);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) signal(sig, SIG_IGN);
    int64_t start = monotonic_ns();
    for (auto& p : procs) kill(p.pid, SIGSTOP);
    while (!g_resume_now) {
        int64_t left = until - monotonic_ns();
        if (left <= 0) break;
        timespec ts{time_t(left / 1000000000), long(left % 1000000000)};
        nanosleep(&ts, nullptr); // kResumeSignal cuts it short
    }
    for (auto& p : procs) kill(p.pid, SIGCONT);
    int64_t took = monotonic_ns() - start;
    segment_push_pause(&seg, start, took, int32_t(procs.size()), name);
    _exit(0);
}

} // namespace

std::vector<ProcessView> pausable(std::vector<ProcessView> procs) {
    std::erase_if(procs, [](const ProcessView& p) { return p.client; });
    return procs;
}

Pause start_pause(Segment& seg, const std::vector<ProcessView>& procs, int64_t duration_ns,
                  const std::string& name) {
    Pause p{-1, procs, monotonic_ns(), name};
    int64_t until = p.start_ns + duration_ns;
    p.watchdog = fork();
    if (p.watchdog == 0) watchdog(seg, procs, until, name);
    return p;
}

bool resume_after_watchdog(Segment& seg, const Pause& pause, int wait_status) {
    if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) return false;
    for (auto& p : pause.procs) kill(p.pid, SIGCONT);
    segment_push_pause(&seg, pause.start_ns, monotonic_ns() - pause.start_ns,
                       int32_t(pause.procs.size()), pause.name);
    return true;
}

void end_pause_now(pid_t watchdog) {
    if (watchdog > 0) kill(watchdog, kResumeSignal);
}

} // namespace faultline
