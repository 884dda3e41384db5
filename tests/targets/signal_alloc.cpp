// Hooks inside signal handlers, with other threads busy in malloc
// (docs/pitfalls.md items 7 threads, 8 signals).
//
//   signal_alloc WORKERS SIGNALS
//
// WORKERS threads loop on malloc(1000)/free, counting their calls and NULLs.
// The main thread sets errno to a sentinel and spins without calling libc
// (and yields) while a sender thread delivers SIGNALS SIGUSR1s to it, one at a time
// (each waits until the handler has run). The handler calls malloc(1000)
// and free, counting calls and NULLs, and checks that a call that was not
// faulted left errno alone (a faulted one may set ENOMEM; the handler then
// restores errno as a careful handler does). The main thread checks after
// every signal that its errno still holds the sentinel.
//
// With TARGET_GO / TARGET_DONE (mem_target.h) the test arms the rule before
// any thread starts and reads `faultline list` before the process exits.
//
// The handler's malloc cannot deadlock glibc: the interrupted thread is in
// no libc function, so it holds no malloc lock. Output, one line:
//   worker_calls=N worker_nulls=N handler_calls=N handler_nulls=N clobbered=N
// The test compares these with `faultline list` (matched, injected) for a
// rule that only malloc(1000) matches.

#include "mem_target.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <pthread.h>
#include <thread>
#include <vector>

namespace {

constexpr size_t kSize = 1000;
constexpr int kSentinel = 4242;

std::atomic<long> g_handled{0};
std::atomic<long> g_handler_nulls{0};
std::atomic<long> g_clobbered{0};
std::atomic<bool> g_stop{false};
std::atomic<bool> g_spinning{false};

void on_signal(int) {
    int before = errno;
    void* p = malloc(kSize);
    if (!p) {
        g_handler_nulls.fetch_add(1, std::memory_order_relaxed);
        errno = before;
    } else if (errno != before) {
        g_clobbered.fetch_add(1, std::memory_order_relaxed);
    }
    free(p);
    if (errno != before) g_clobbered.fetch_add(1, std::memory_order_relaxed);
    g_handled.fetch_add(1, std::memory_order_release);
}

struct Counts {
    long calls = 0, nulls = 0;
};

void worker(Counts* c) {
    while (!g_stop.load(std::memory_order_relaxed)) {
        for (int i = 0; i < 256; ++i) {
            void* p = malloc(kSize);
            ++c->calls;
            if (!p) ++c->nulls;
            free(p);
        }
        sched_yield(); // let the sender and the main thread run on 2 cores
    }
}

bool wait_handled(long n) {
    timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (g_handled.load(std::memory_order_acquire) < n) {
        timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec > 5) return false;
        sched_yield();
    }
    return true;
}

} // namespace

int main(int argc, char** argv) {
    int workers = argc > 1 ? atoi(argv[1]) : 3;
    long signals = argc > 2 ? atol(argv[2]) : 2000;

    struct sigaction sa = {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, nullptr);

    std::vector<Counts> counts(static_cast<size_t>(workers));
    target::wait_go(); // the test arms its rule now: nothing before reaches it
    std::vector<std::thread> threads;
    for (int i = 0; i < workers; ++i) threads.emplace_back(worker, &counts[size_t(i)]);

    // pthread_kill sends to the main thread only; the sender blocks it anyway.
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_t main_thread = pthread_self();
    std::atomic<bool> sender_ok{true};
    std::atomic<bool> sender_done{false};
    std::thread sender([&] {
        pthread_sigmask(SIG_BLOCK, &usr1, nullptr);
        while (!g_spinning.load(std::memory_order_acquire)) sched_yield();
        for (long i = 1; i <= signals; ++i) {
            pthread_kill(main_thread, SIGUSR1);
            if (!wait_handled(i)) {
                sender_ok = false;
                break;
            }
        }
        sender_done.store(true, std::memory_order_release);
    });
    // Spin without libc calls: the handler interrupts plain code only.
    errno = kSentinel;
    long errno_changed = 0;
    long seen = 0;
    g_spinning.store(true, std::memory_order_release);
    while (!sender_done.load(std::memory_order_acquire)) {
        sched_yield(); // a bare system call: no lock held when a signal lands
        long h = g_handled.load(std::memory_order_acquire);
        if (h != seen) {
            seen = h;
            if (errno != kSentinel) {
                ++errno_changed;
                errno = kSentinel;
            }
        }
    }
    if (errno != kSentinel) ++errno_changed;

    sender.join();
    g_stop = true;
    for (auto& t : threads) t.join();

    long calls = 0, nulls = 0;
    for (auto& c : counts) {
        calls += c.calls;
        nulls += c.nulls;
    }
    printf("worker_calls=%ld worker_nulls=%ld handler_calls=%ld handler_nulls=%ld clobbered=%ld\n",
           calls, nulls, g_handled.load(), g_handler_nulls.load(),
           g_clobbered.load() + errno_changed);
    target::wait_done();
    return sender_ok ? 0 : 3;
}
