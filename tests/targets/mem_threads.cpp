// THREADS threads (default 8) each call malloc CALLS times (default 200000)
// with mixed sizes, free what they got, and count the NULLs they saw.
//
// The threads are created before TARGET_GO (see mem_target.h) and then wait
// on a barrier: once the test has armed its rule, the only allocating calls
// in the process are the workers' mallocs (the barrier, stat, nanosleep,
// pthread_join and a printf whose buffer already exists allocate nothing).
// So a rule armed in between must report matched == THREADS*CALLS and
// injected == the NULLs counted here, exactly.
//
// Output: "ready pid=N", then "calls=C nulls=K" and one "thread I nulls=K"
// line per thread.
#include "mem_target.h"

#include <cstdint>
#include <cstdlib>
#include <pthread.h>

namespace {

struct Worker {
    pthread_t thread;
    unsigned index;
    unsigned long calls;
    unsigned long nulls;
};

pthread_barrier_t g_start;
unsigned long g_calls_each = 200000;

// Mostly small blocks, some page-sized, a few large enough for glibc to mmap.
size_t pick_size(uint64_t& x) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    unsigned r = unsigned(x % 1000);
    if (r < 900) return 8 + x % 512;
    if (r < 995) return 4096 + x % 8192;
    return (size_t(1) << 18) + x % 4096;
}

void* work(void* arg) {
    auto* w = static_cast<Worker*>(arg);
    uint64_t x = 0x9e3779b97f4a7c15ull * (w->index + 1);
    pthread_barrier_wait(&g_start);
    for (unsigned long i = 0; i < g_calls_each; ++i) {
        void* p = malloc(pick_size(x));
        ++w->calls;
        if (!p) {
            ++w->nulls;
            continue;
        }
        *static_cast<volatile char*>(p) = 1; // use it: the pair cannot be elided
        free(p);
    }
    return nullptr;
}

} // namespace

int main(int argc, char** argv) {
    unsigned threads = argc > 1 ? unsigned(atoi(argv[1])) : 8;
    if (argc > 2) g_calls_each = strtoul(argv[2], nullptr, 10);
    if (threads < 1 || threads > 64) return 2;

    static Worker workers[64];
    pthread_barrier_init(&g_start, nullptr, threads + 1);
    for (unsigned i = 0; i < threads; ++i) {
        workers[i].index = i;
        if (pthread_create(&workers[i].thread, nullptr, work, &workers[i]) != 0) return 2;
    }
    target::wait_go();
    pthread_barrier_wait(&g_start);
    unsigned long calls = 0, nulls = 0;
    for (unsigned i = 0; i < threads; ++i) {
        pthread_join(workers[i].thread, nullptr);
        calls += workers[i].calls;
        nulls += workers[i].nulls;
    }
    printf("calls=%lu nulls=%lu\n", calls, nulls);
    for (unsigned i = 0; i < threads; ++i) printf("thread %u nulls=%lu\n", i, workers[i].nulls);
    target::wait_done();
    return 0;
}
