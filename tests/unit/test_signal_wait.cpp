// sleep_or_handler (shim/core/signal_wait.h, docs/pitfalls.md item 23): a
// wait that ends when a signal handler runs and tells which and with what
// SA_RESTART; signals that run no handler (ignored, blocked by the caller)
// leave it alone; the handler gets the signal's own siginfo.
#include "common/segment.h"
#include "shim/core/signal_wait.h"

#include <cerrno>
#include <csignal>
#include <ctime>
#include <doctest/doctest.h>
#include <pthread.h>
#include <sys/time.h>
#include <unistd.h>

using namespace faultline;
using namespace faultline::shim;

namespace {

volatile sig_atomic_t g_ran = 0, g_value = 0;
void on_signal(int) {
    g_ran = g_ran + 1;
}
void on_info(int, siginfo_t* info, void*) {
    g_ran = g_ran + 1;
    g_value = info->si_value.sival_int;
}

void install(int sig, int flags, bool info = false) {
    struct sigaction sa {};
    if (info)
        sa.sa_sigaction = on_info;
    else
        sa.sa_handler = on_signal;
    sa.sa_flags = flags | (info ? SA_SIGINFO : 0);
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, nullptr);
}

void alarm_in_ms(int ms) {
    itimerval it{};
    it.it_value.tv_usec = ms * 1000;
    setitimer(ITIMER_REAL, &it, nullptr);
}

int64_t ms_since(int64_t t) {
    return (monotonic_ns() - t) / 1'000'000;
}

} // namespace

TEST_CASE("signal wait: a handler ends the wait, and says which and with what SA_RESTART") {
    for (int flags : {0, SA_RESTART}) {
        install(SIGALRM, flags);
        g_ran = 0;
        int64_t t = monotonic_ns();
        alarm_in_ms(50);
        bool restart = !flags;
        errno = 1234;
        int sig = sleep_or_handler(t + 2'000'000'000, restart);
        CHECK(sig == SIGALRM);
        CHECK(restart == (flags == SA_RESTART));
        CHECK(g_ran == 1); // delivered once, by the kernel, before the wait returned
        CHECK(errno == 1234);
        CHECK(ms_since(t) >= 45);
        CHECK(ms_since(t) < 500);
    }
    signal(SIGALRM, SIG_DFL);
}

TEST_CASE("signal wait: no signal, the deadline; the caller's mask is as it was") {
    sigset_t before, after;
    pthread_sigmask(SIG_SETMASK, nullptr, &before);
    int64_t t = monotonic_ns();
    bool restart = false;
    CHECK(sleep_or_handler(t + 30'000'000, restart) == 0);
    CHECK(ms_since(t) >= 29);
    pthread_sigmask(SIG_SETMASK, nullptr, &after);
    for (int s = 1; s < NSIG; ++s) CHECK(sigismember(&before, s) == sigismember(&after, s));
}

TEST_CASE("signal wait: an ignored signal, or one the caller blocks, does not end it") {
    signal(SIGUSR2, SIG_IGN);
    int64_t t = monotonic_ns();
    bool restart = false;
    raise(SIGUSR2);
    CHECK(sleep_or_handler(t + 60'000'000, restart) == 0);
    CHECK(ms_since(t) >= 59);

    install(SIGUSR1, 0);
    g_ran = 0;
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, &old);
    raise(SIGUSR1);
    t = monotonic_ns();
    CHECK(sleep_or_handler(t + 60'000'000, restart) == 0);
    CHECK(ms_since(t) >= 59);
    CHECK(g_ran == 0);                           // still pending: the caller blocks it
    pthread_sigmask(SIG_SETMASK, &old, nullptr); // delivered now
    CHECK(g_ran == 1);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGUSR2, SIG_DFL);
}

TEST_CASE("signal wait: the handler sees the signal's own siginfo") {
    install(SIGUSR1, 0, true);
    g_ran = 0;
    g_value = 0;
    sigval v;
    v.sival_int = 4242;
    // Pending before the wait starts: it is taken, queued back, delivered.
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, &old);
    sigqueue(getpid(), SIGUSR1, v);
    pthread_sigmask(SIG_SETMASK, &old, nullptr); // delivered here, before the wait
    CHECK(g_ran == 1);
    CHECK(g_value == 4242);
    // During the wait: from another thread, as a process-directed signal.
    g_ran = 0;
    g_value = 0;
    pthread_t th;
    pthread_sigmask(SIG_BLOCK, &usr1, &old); // the helper is born blocking it
    pthread_create(
        &th, nullptr,
        [](void*) -> void* {
            timespec ts{0, 30'000'000};
            nanosleep(&ts, nullptr);
            sigval w;
            w.sival_int = 777;
            sigqueue(getpid(), SIGUSR1, w);
            return nullptr;
        },
        nullptr);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    // This thread alone can take SIGUSR1, and only in its wait.
    bool restart = true;
    int64_t t = monotonic_ns();
    int sig = sleep_or_handler(t + 2'000'000'000, restart);
    pthread_join(th, nullptr);
    CHECK(sig == SIGUSR1);
    CHECK(!restart);
    CHECK(g_ran == 1);
    CHECK(g_value == 777);
    signal(SIGUSR1, SIG_DFL);
}
