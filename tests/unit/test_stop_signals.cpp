// StopSignals: a stop signal is remembered instead of killing the command,
// relayed from the handler when asked (not twice what the terminal sent the
// whole group), and the dispositions it replaced come back.
#include "controller/cli/stop_signals.h"

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <doctest/doctest.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace faultline;

namespace {

// A child counting the realtime signal `sig` (queued, unlike SIGTERM: each
// relay counts) for `quiet_ms` after the last one; exits with the count.
pid_t start_counter(int sig, long quiet_ms) {
    sigset_t set, saved;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_BLOCK, &set, &saved); // before the fork: none is lost
    pid_t pid = fork();
    if (pid == 0) {
        int n = 0;
        timespec wait{quiet_ms / 1000, (quiet_ms % 1000) * 1'000'000};
        while (sigtimedwait(&set, nullptr, &wait) == sig) ++n;
        _exit(n);
    }
    sigprocmask(SIG_SETMASK, &saved, nullptr);
    return pid;
}

int exit_status_of(pid_t pid) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// What the terminal's Ctrl-C looks like: the kernel's si_code. Allowed when
// a process sends it to itself.
void signal_from_kernel(int sig) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_signo = sig;
    info.si_code = SI_KERNEL;
    REQUIRE(syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), sig, &info) == 0);
}

// A disposition as a number doctest can print.
uintptr_t handler_of(int sig) {
    struct sigaction sa;
    sigaction(sig, nullptr, &sa);
    return reinterpret_cast<uintptr_t>(sa.sa_handler);
}
const uintptr_t kIgnored = reinterpret_cast<uintptr_t>(SIG_IGN);

} // namespace

TEST_CASE("a stop signal is remembered, not fatal") {
    StopSignals stop;
    CHECK(stop.received() == 0);
    CHECK(!stop.requested());
    raise(SIGHUP);
    CHECK(stop.received() == SIGHUP);
    raise(SIGTERM);
    CHECK(stop.received() == SIGTERM);
    CHECK(stop.requested());
}

TEST_CASE("the dispositions it replaced come back, an ignored one ignored") {
    signal(SIGHUP, SIG_IGN);
    auto term = handler_of(SIGTERM);
    {
        StopSignals stop({SIGTERM, SIGHUP});
        CHECK(handler_of(SIGHUP) != kIgnored);
        raise(SIGHUP);
        CHECK(stop.received() == SIGHUP);
    }
    CHECK(handler_of(SIGHUP) == kIgnored);
    CHECK(handler_of(SIGTERM) == term);
    signal(SIGHUP, SIG_DFL);
}

TEST_CASE("restore() gives a forked child the dispositions of before") {
    signal(SIGHUP, SIG_IGN);
    uintptr_t sigint = handler_of(SIGINT); // doctest's own, as it happens
    StopSignals stop;
    pid_t pid = fork();
    if (pid == 0) {
        stop.restore();
        _exit(handler_of(SIGHUP) == kIgnored && handler_of(SIGINT) == sigint ? 0 : 1);
    }
    CHECK(exit_status_of(pid) == 0);
    signal(SIGHUP, SIG_DFL);
}

TEST_CASE("relayed from the handler, as another signal") {
    int rt = SIGRTMIN;
    pid_t counter = start_counter(rt, 300);
    StopSignals stop;
    stop.relay_to(counter, rt);
    raise(SIGTERM);
    raise(SIGINT);
    CHECK(stop.received() == SIGINT);
    CHECK(exit_status_of(counter) == 2);
}

TEST_CASE("skip_terminal: what the kernel sent the whole group is not sent twice") {
    int rt = SIGRTMIN;
    pid_t skips = start_counter(rt, 300), gets_all = start_counter(rt, 300);
    StopSignals stop;
    stop.relay_to(skips, rt, true);
    stop.relay_to(gets_all, rt);
    signal_from_kernel(SIGINT); // the terminal's Ctrl-C
    CHECK(stop.received() == SIGINT);
    raise(SIGTERM); // `kill` from a shell
    CHECK(exit_status_of(skips) == 1);
    CHECK(exit_status_of(gets_all) == 2);
}

TEST_CASE("stop_relaying: a reaped pid is never signalled") {
    int rt = SIGRTMIN;
    pid_t kept = start_counter(rt, 300), dropped = start_counter(rt, 300);
    StopSignals stop;
    stop.relay_to(kept, rt);
    stop.relay_to(dropped, rt);
    stop.stop_relaying(dropped);
    raise(SIGTERM);
    CHECK(exit_status_of(kept) == 1);
    CHECK(exit_status_of(dropped) == 0);
}
