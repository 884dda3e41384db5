#include "controller/cli/stop_signals.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace faultline {

namespace {

// Read by the handler: plain sig_atomic_t words, each entry's pid written
// last so that the handler never acts on half an entry.
struct Relay {
    volatile sig_atomic_t pid = 0, as = 0, skip_terminal = 0;
};

volatile sig_atomic_t g_received = 0;
Relay g_relays[StopSignals::kMaxRelays];
bool g_installed = false;

void on_stop(int sig, siginfo_t* info, void*) {
    int saved_errno = errno;
    g_received = sig;
    bool from_terminal = info && info->si_code == SI_KERNEL;
    for (Relay& r : g_relays) {
        pid_t pid = r.pid;
        if (pid <= 0 || (r.skip_terminal && from_terminal)) continue;
        kill(pid, r.as ? int(r.as) : sig);
    }
    errno = saved_errno;
}

} // namespace

StopSignals::StopSignals(std::initializer_list<int> signals) {
    if (g_installed || signals.size() > kMaxSignals) {
        fputs("faultline: internal error: one StopSignals at a time\n", stderr);
        abort();
    }
    g_installed = true;
    g_received = 0;
    for (Relay& r : g_relays) r.pid = 0;
    struct sigaction sa = {};
    sa.sa_sigaction = on_stop;
    // No SA_RESTART: a blocking call (waitpid, nanosleep) returns EINTR and
    // the command's loop looks at received().
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    for (int sig : signals) {
        signals_[count_] = sig;
        sigaction(sig, &sa, &saved_[count_]);
        ++count_;
    }
}

StopSignals::~StopSignals() {
    restore();
    for (Relay& r : g_relays) r.pid = 0;
    g_installed = false;
}

int StopSignals::received() const {
    return g_received;
}

void StopSignals::relay_to(pid_t pid, int as, bool skip_terminal) {
    if (pid <= 0) return; // kill(0) or kill(-1) would reach far more than `pid`
    for (Relay& r : g_relays) {
        if (r.pid != 0) continue;
        r.as = as;
        r.skip_terminal = skip_terminal;
        std::atomic_signal_fence(std::memory_order_seq_cst);
        r.pid = pid;
        return;
    }
    fputs("faultline: internal error: too many processes to relay signals to\n", stderr);
    abort();
}

void StopSignals::stop_relaying(pid_t pid) {
    for (Relay& r : g_relays)
        if (r.pid == pid) r.pid = 0;
}

void StopSignals::restore() const {
    for (unsigned i = 0; i < count_; ++i) sigaction(signals_[i], &saved_[i], nullptr);
}

} // namespace faultline
