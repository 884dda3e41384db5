#include "shim/core/signal_wait.h"

#include "common/segment.h"

#include <cerrno>
#include <csignal>
#include <ctime>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace faultline::shim {

namespace {

// The signals a wait takes: all but those it cannot or must not block:
// SIGKILL and SIGSTOP (the kernel acts on them regardless), and the faults
// raised by the code that runs (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP,
// SIGSYS: never by a sleep; blocked, the kernel kills). glibc's sigfillset
// leaves out its own SIGCANCEL and SIGSETXID: cancellation and setuid in
// other threads work during a wait.
void watched(sigset_t& set) {
    sigfillset(&set);
    for (int s : {SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS})
        sigdelset(&set, s);
}

bool runs_handler(const struct sigaction& sa) {
    return sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN; // sa_sigaction shares the field
}

// Back to this thread, to be delivered when the mask is restored. To itself
// a thread may queue any siginfo; tgkill if that ever fails (the handler
// then sees SI_TKILL from this process).
void requeue(int sig, siginfo_t& info) {
    long pid = syscall(SYS_getpid), tid = syscall(SYS_gettid);
    if (syscall(SYS_rt_tgsigqueueinfo, pid, tid, sig, &info) != 0)
        syscall(SYS_tgkill, pid, tid, sig);
}

} // namespace

int sleep_or_handler(int64_t deadline, bool& sa_restart) {
    if (monotonic_ns() >= deadline) return 0;
    int saved = errno;
    sigset_t all, old, wait;
    watched(all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    wait = all; // only what the caller let through: its blocked signals stay pending
    for (int s = 1; s < NSIG; ++s)
        if (sigismember(&old, s) == 1) sigdelset(&wait, s);
    for (int64_t now = monotonic_ns(); now < deadline; now = monotonic_ns()) {
        int64_t left = deadline - now;
        timespec ts{time_t(left / 1000000000), long(left % 1000000000)};
        siginfo_t info;
        int sig = sigtimedwait(&wait, &info, &ts);
        if (sig < 0) {
            if (errno == EAGAIN) break; // the deadline
            continue; // EINTR: stopped and continued (or a handler of a signal not watched)
        }
        struct sigaction sa;
        sigaction(sig, nullptr, &sa); // before delivery: SA_RESETHAND resets it
        requeue(sig, info);
        pthread_sigmask(SIG_SETMASK, &old, nullptr); // delivered here
        if (runs_handler(sa)) {
            sa_restart = sa.sa_flags & SA_RESTART;
            errno = saved;
            return sig;
        }
        pthread_sigmask(SIG_BLOCK, &all, nullptr); // ignored, or stopped and continued
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    errno = saved;
    return 0;
}

} // namespace faultline::shim
