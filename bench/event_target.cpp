// A target that makes injections as fast as asked, for the injection-event
// benchmark ("injection events: >= 1 M/s from 2 threads").
//
// usage: event_target THREADS RATE SECONDS SIZE
//
// THREADS threads call malloc(SIZE) (and free what they get), thread I
// pinned to the I-th allowed CPU (wrapping): two threads run on two CPUs at
// once, the case where counters shared between threads cost most. Under
// `faultline run -r 'mem.fail min=1MiB'` with SIZE above 1 MiB every call
// is an injection: the shim's whole injection path runs (rule picked,
// counters, one event into the session's ring when a recorder is attached)
// and the program gets NULL. RATE is the calls per second over all threads,
// paced in batches of 1 ms (each thread makes the calls due, then sleeps
// until its next batch is due); 0: as fast as possible for SECONDS.
// Knows nothing of faultline.
//
// Output, one `key=value` line each, read by bench/run:
//   malloc_from=PATH       the object `malloc` resolves to (the shim, or libc)
//   thread=I cpu=P calls=N nulls=K seconds=S cpu_s=C best_chunk_ns=B
//                          per thread: its CPU, calls made, NULLs received, wall time
//                          from the start to its last call, its CPU time;
//                          flat out: ns per call of its fastest chunk of
//                          65,536 calls (the figure least disturbed by other
//                          processes), else 0
//   calls=N nulls=K seconds=S rate=R cpu_ns_per_call=X best_rate=Y
//                          totals; S = the longest thread, R = N / S; X =
//                          the threads' CPU time per call (time the threads
//                          were preempted is not in it); Y = the sum over
//                          threads of 1e9 / B (flat out), else 0

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <vector>

namespace {

int64_t clock_ns(clockid_t id) {
    timespec ts;
    clock_gettime(id, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct Shared {
    double rate = 0; // per thread, 0: flat out
    double seconds = 1;
    size_t size = 0;
    std::atomic<unsigned> ready{0};
    std::atomic<bool> go{false};
};

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

struct Worker {
    Shared* shared;
    int cpu;
    uint64_t calls = 0, nulls = 0;
    double seconds = 0, cpu_s = 0, best_chunk_ns = 0;
};

constexpr unsigned kChunk = 65536;

// One call. The empty asm keeps the compiler from folding malloc+free away.
inline bool call(size_t size) {
    void* p = malloc(size);
    asm volatile("" : : "r"(p) : "memory");
    if (p) {
        free(p);
        return false;
    }
    return true;
}

void* worker_main(void* arg) {
    Worker& w = *static_cast<Worker*>(arg);
    Shared& s = *w.shared;
    if (w.cpu >= 0) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(w.cpu, &one);
        pthread_setaffinity_np(pthread_self(), sizeof one, &one);
    }
    s.ready.fetch_add(1);
    while (!s.go.load(std::memory_order_acquire)) sched_yield();
    int64_t c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    int64_t t0 = clock_ns(CLOCK_MONOTONIC);
    uint64_t calls = 0, nulls = 0;
    if (s.rate > 0) {
        uint64_t total = uint64_t(s.rate * s.seconds);
        uint64_t batch = s.rate >= 1000 ? uint64_t(s.rate / 1000) : 1;
        while (calls < total) {
            double elapsed = double(clock_ns(CLOCK_MONOTONIC) - t0);
            uint64_t due = uint64_t(elapsed * s.rate / 1e9);
            for (; calls < due && calls < total; ++calls) nulls += call(s.size);
            if (calls >= total) break;
            int64_t wake = t0 + int64_t(double(calls + batch) * 1e9 / s.rate);
            timespec ts{time_t(wake / 1000000000), long(wake % 1000000000)};
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
        }
    } else {
        int64_t end = t0 + int64_t(s.seconds * 1e9), chunk_start = t0;
        for (int64_t now = t0; now < end; now = clock_ns(CLOCK_MONOTONIC)) {
            for (unsigned k = 0; k < 256; ++k, ++calls) nulls += call(s.size);
            if (calls % kChunk == 0) {
                int64_t t = clock_ns(CLOCK_MONOTONIC);
                double ns = double(t - chunk_start) / kChunk;
                if (w.best_chunk_ns == 0 || ns < w.best_chunk_ns) w.best_chunk_ns = ns;
                chunk_start = t;
            }
        }
    }
    w.seconds = double(clock_ns(CLOCK_MONOTONIC) - t0) / 1e9;
    w.cpu_s = double(clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0) / 1e9;
    w.calls = calls;
    w.nulls = nulls;
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
    if (argc < 5) {
        fprintf(stderr, "usage: %s THREADS RATE SECONDS SIZE\n", argv[0]);
        return 2;
    }
    Shared s;
    unsigned threads = unsigned(strtoul(argv[1], nullptr, 10));
    double rate = atof(argv[2]);
    s.seconds = atof(argv[3]);
    s.size = size_t(strtoull(argv[4], nullptr, 10));
    if (threads == 0 || threads > 64 || rate < 0 || s.seconds <= 0 || s.size == 0) {
        fprintf(stderr, "event_target: THREADS 1..64, RATE >= 0, SECONDS > 0, SIZE > 0\n");
        return 2;
    }
    s.rate = rate / threads;

    std::vector<Worker> workers(threads);
    std::vector<pthread_t> ids(threads);
    for (unsigned i = 0; i < threads; ++i) {
        workers[i] = Worker{&s, nth_allowed_cpu(i)};
        if (pthread_create(&ids[i], nullptr, worker_main, &workers[i]) != 0) {
            fprintf(stderr, "event_target: pthread_create failed\n");
            return 1;
        }
    }
    while (s.ready.load() < threads) sched_yield();
    s.go.store(true, std::memory_order_release);
    for (unsigned i = 0; i < threads; ++i) pthread_join(ids[i], nullptr);

    printf("malloc_from=%s\n", malloc_origin());
    uint64_t calls = 0, nulls = 0;
    double longest = 0, cpu = 0, best_rate = 0;
    for (unsigned i = 0; i < threads; ++i) {
        const Worker& w = workers[i];
        printf(
            "thread=%u cpu=%d calls=%llu nulls=%llu seconds=%.4f cpu_s=%.4f best_chunk_ns=%.2f\n",
            i, w.cpu, (unsigned long long)w.calls, (unsigned long long)w.nulls, w.seconds, w.cpu_s,
            w.best_chunk_ns);
        if (w.best_chunk_ns > 0) best_rate += 1e9 / w.best_chunk_ns;
        calls += w.calls;
        nulls += w.nulls;
        cpu += w.cpu_s;
        if (w.seconds > longest) longest = w.seconds;
    }
    printf("calls=%llu nulls=%llu seconds=%.4f rate=%.0f cpu_ns_per_call=%.1f best_rate=%.0f\n",
           (unsigned long long)calls, (unsigned long long)nulls, longest, double(calls) / longest,
           cpu * 1e9 / double(calls), best_rate);
    return 0;
}
