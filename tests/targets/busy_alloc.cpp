// Live toggling seen from inside a busy target (README.md "Commands",
// enable/disable: a change is seen by the target's next intercepted call).
//
//   busy_alloc THREADS
//
// THREADS workers loop on malloc(3333)/free (an odd size nothing else in the
// process asks for). The main thread reads commands on stdin, one per line:
//   mark    starts a new epoch; replies "epoch N"
//   quit    stops the workers, prints the exact counts and exits 0:
//           "e0 calls=N nulls=N e1 calls=N nulls=N ..."
// A worker reads the epoch before each malloc and counts the call and its
// NULL against that epoch, so a call counted in epoch N began after the
// "epoch N" reply was sent. The first NULL of the process is announced with
// a line "first-null epoch=N" (one raw write, from the worker).
// Exits 3 when stdin reaches EOF without "quit" (after the same report), and
// dies of SIGALRM after 60 s whatever happens.

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sched.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

constexpr size_t kSize = 3333;
constexpr int kEpochs = 16;

std::atomic<int> g_epoch{0};
std::atomic<long> g_calls[kEpochs];
std::atomic<long> g_nulls[kEpochs];
std::atomic<bool> g_first_null{false};
std::atomic<bool> g_stop{false};

void worker() {
    long local_calls[kEpochs] = {}, local_nulls[kEpochs] = {};
    auto flush = [&] {
        for (int e = 0; e < kEpochs; ++e) {
            if (local_calls[e]) g_calls[e].fetch_add(local_calls[e]);
            if (local_nulls[e]) g_nulls[e].fetch_add(local_nulls[e]);
            local_calls[e] = local_nulls[e] = 0;
        }
    };
    while (!g_stop.load(std::memory_order_relaxed)) {
        for (int i = 0; i < 64; ++i) {
            int e = g_epoch.load(std::memory_order_acquire);
            void* p = malloc(kSize);
            ++local_calls[e];
            if (!p) {
                ++local_nulls[e];
                if (!g_first_null.exchange(true)) {
                    char line[64];
                    int n = snprintf(line, sizeof line, "first-null epoch=%d\n", e);
                    ssize_t ignored = write(1, line, size_t(n));
                    (void)ignored;
                }
            }
            free(p);
        }
        flush(); // publish every 64 calls
        sched_yield();
    }
    flush();
}

void reply(const char* text) {
    ssize_t ignored = write(1, text, strlen(text));
    (void)ignored;
}

void report() {
    char out[2048];
    size_t used = 0;
    for (int e = 0; e <= g_epoch.load(); ++e)
        used += size_t(snprintf(out + used, sizeof out - used, "%se%d calls=%ld nulls=%ld",
                                e ? " " : "", e, g_calls[e].load(), g_nulls[e].load()));
    snprintf(out + used, sizeof out - used, "\n");
    reply(out);
}

} // namespace

int main(int argc, char** argv) {
    int n = argc > 1 ? atoi(argv[1]) : 4;
    alarm(60); // bounded, whatever the test does
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) threads.emplace_back(worker);
    reply("ready\n");

    char line[64];
    int rc = 3;
    while (fgets(line, sizeof line, stdin)) {
        if (strcmp(line, "mark\n") == 0) {
            int e = g_epoch.load() + 1;
            if (e >= kEpochs) e = kEpochs - 1;
            g_epoch.store(e, std::memory_order_release);
            char out[32];
            snprintf(out, sizeof out, "epoch %d\n", e);
            reply(out);
        } else if (strcmp(line, "quit\n") == 0) {
            rc = 0;
            break;
        }
    }
    g_stop = true;
    for (auto& t : threads) t.join();
    report();
    return rc;
}
