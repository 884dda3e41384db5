// malloc(SIZE)+free pairs in a tight loop, timed per thread.
//
// usage: malloc_pairs THREADS PAIRS [SIZE] [PROBE_BYTES]
//
// Each thread pins itself to the THREADS-th allowed CPU (so `taskset -c 0,1`
// gives thread 0 CPU 0 and thread 1 CPU 1), warms up, waits on a barrier, then
// times PAIRS malloc(SIZE)+free pairs with CLOCK_MONOTONIC. The program is the
// same binary with and without the shim; bench/run compares the two.
//
// Output, one `key=value` line each, read by bench/run:
//   malloc_from=PATH        the object `malloc` resolves to (libc or the shim)
//   thread=I cpu=C ns_per_op=X best_chunk_ns=Y
//                           one per thread: X over the whole timed loop, Y
//                           the fastest chunk of 100,000 pairs
//   nulls=N                 mallocs in the timed loops that returned NULL
//   probe=null|ok           malloc(PROBE_BYTES) after the loops, when asked:
//                           tells whether a `mem.fail min=...` rule was really
//                           armed in this process (what the program saw)

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <vector>

namespace {

struct Shared {
    unsigned threads;
    unsigned long long pairs;
    size_t size;
    std::atomic<unsigned> waiting{0};
    std::atomic<bool> go{false};
    std::atomic<unsigned long long> nulls{0};
};

struct Result {
    double ns_per_op = 0;  // whole timed loop
    double best_chunk = 0; // fastest chunk of kChunk pairs
};

// The timed loop runs in chunks; the fastest chunk is the figure least
// disturbed by preemption and interrupts (other processes on the machine).
constexpr unsigned long long kChunk = 100000;

int64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// The I-th CPU of the process's affinity mask (wrapping), or -1.
int nth_allowed_cpu(unsigned i) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
    int count = CPU_COUNT(&set);
    if (count == 0) return -1;
    unsigned want = i % unsigned(count);
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
        if (CPU_ISSET(cpu, &set) && want-- == 0) return cpu;
    return -1;
}

// The loop under test. The empty asm makes the pointer "used", so the
// compiler cannot fold malloc+free away (GCC does so at -O2 otherwise).
unsigned long long run_pairs(unsigned long long pairs, size_t size) {
    unsigned long long nulls = 0;
    for (unsigned long long i = 0; i < pairs; ++i) {
        void* p = malloc(size);
        asm volatile("" : : "r"(p) : "memory");
        if (__builtin_expect(p == nullptr, 0)) ++nulls;
        free(p);
    }
    return nulls;
}

struct Worker {
    Shared* shared;
    unsigned index;
    int cpu;
    Result result;
};

void* worker_main(void* arg) {
    Worker& w = *static_cast<Worker*>(arg);
    Shared& s = *w.shared;
    if (w.cpu >= 0) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(w.cpu, &one);
        pthread_setaffinity_np(pthread_self(), sizeof one, &one);
    }
    run_pairs(s.pairs / 10 + 1000, s.size); // warm caches, tcache, branch predictors
    s.waiting.fetch_add(1);
    while (!s.go.load(std::memory_order_acquire)) sched_yield();
    unsigned long long nulls = 0;
    double best = 0;
    int64_t t0 = now_ns();
    for (unsigned long long done = 0; done < s.pairs;) {
        unsigned long long n = s.pairs - done < kChunk ? s.pairs - done : kChunk;
        int64_t c0 = now_ns();
        nulls += run_pairs(n, s.size);
        double ns = double(now_ns() - c0) / double(n);
        if (n == kChunk && (best == 0 || ns < best)) best = ns;
        done += n;
    }
    int64_t t1 = now_ns();
    s.nulls.fetch_add(nulls);
    w.result.ns_per_op = double(t1 - t0) / double(s.pairs);
    w.result.best_chunk = best ? best : w.result.ns_per_op;
    return nullptr;
}

const char* malloc_origin() {
    Dl_info info;
    void* sym = dlsym(RTLD_DEFAULT, "malloc");
    if (sym && dladdr(sym, &info) && info.dli_fname) return info.dli_fname;
    return "?";
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s THREADS PAIRS [SIZE] [PROBE_BYTES]\n", argv[0]);
        return 2;
    }
    Shared s;
    s.threads = unsigned(strtoul(argv[1], nullptr, 10));
    s.pairs = strtoull(argv[2], nullptr, 10);
    s.size = argc > 3 ? size_t(strtoull(argv[3], nullptr, 10)) : 64;
    unsigned long long probe = argc > 4 ? strtoull(argv[4], nullptr, 10) : 0;
    if (s.threads == 0 || s.threads > 64 || s.pairs == 0) {
        fprintf(stderr, "malloc_pairs: THREADS must be 1..64 and PAIRS > 0\n");
        return 2;
    }

    std::vector<Worker> workers(s.threads);
    std::vector<pthread_t> ids(s.threads);
    for (unsigned i = 0; i < s.threads; ++i) {
        workers[i] = Worker{&s, i, nth_allowed_cpu(i), {}};
        if (pthread_create(&ids[i], nullptr, worker_main, &workers[i]) != 0) {
            fprintf(stderr, "malloc_pairs: pthread_create failed\n");
            return 1;
        }
    }
    while (s.waiting.load() < s.threads) sched_yield();
    s.go.store(true, std::memory_order_release);
    for (unsigned i = 0; i < s.threads; ++i) pthread_join(ids[i], nullptr);

    printf("malloc_from=%s\n", malloc_origin());
    for (unsigned i = 0; i < s.threads; ++i)
        printf("thread=%u cpu=%d ns_per_op=%.3f best_chunk_ns=%.3f\n", i, workers[i].cpu,
               workers[i].result.ns_per_op, workers[i].result.best_chunk);
    printf("nulls=%llu\n", s.nulls.load());
    if (probe) {
        void* p = malloc(size_t(probe));
        printf("probe=%s\n", p ? "ok" : "null");
        free(p);
    }
    return 0;
}
