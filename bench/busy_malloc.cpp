// The busy target of the enable-latency benchmark ("enable
// returning -> first injection in a busy target").
//
// usage: busy_malloc SHARED_FILE [THREADS]
//
// THREADS (default 8) threads loop on malloc(64)+free. The file (created and
// sized by bench/enable_latency) is mapped shared; it carries the driver's
// epoch and, per thread, the CLOCK_MONOTONIC time of its first NULL in that
// epoch. The target allocates nothing outside the loops once started: an
// armed `mem.fail` must not break its own bookkeeping.

#include "busy_shared.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

namespace {

BusyShared* g_shared;

void* spin(void* arg) {
    unsigned i = unsigned(reinterpret_cast<uintptr_t>(arg));
    BusyShared& s = *g_shared;
    ThreadRecord& rec = s.threads[i];
    uint64_t loops = 0;
    s.started.fetch_add(1);
    while (!s.stop.load(std::memory_order_relaxed)) {
        // The epoch is read before the call: a NULL from a rule of an earlier
        // epoch (a call that began before the driver's `disable` returned)
        // is never credited to the current one.
        uint64_t epoch = s.epoch.load(std::memory_order_acquire);
        void* p = malloc(64);
        asm volatile("" : : "r"(p) : "memory");
        if (__builtin_expect(p == nullptr, 0)) {
            int64_t t = busy_now_ns();
            if (rec.epoch.load(std::memory_order_relaxed) != epoch &&
                s.epoch.load(std::memory_order_acquire) == epoch) {
                rec.first_null_ns.store(t, std::memory_order_relaxed);
                rec.epoch.store(epoch, std::memory_order_release);
            }
            rec.nulls.store(rec.nulls.load(std::memory_order_relaxed) + 1,
                            std::memory_order_relaxed);
        } else {
            free(p);
        }
        if ((++loops & 1023) == 0) rec.loops.store(loops, std::memory_order_relaxed);
    }
    return nullptr;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s SHARED_FILE [THREADS]\n", argv[0]);
        return 2;
    }
    unsigned n = argc > 2 ? unsigned(strtoul(argv[2], nullptr, 10)) : 8;
    if (n == 0 || n > kBusyMaxThreads) {
        fprintf(stderr, "busy_malloc: THREADS must be 1..%u\n", kBusyMaxThreads);
        return 2;
    }
    int fd = open(argv[1], O_RDWR);
    if (fd < 0) {
        perror("busy_malloc: open");
        return 1;
    }
    void* m = mmap(nullptr, sizeof(BusyShared), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        perror("busy_malloc: mmap");
        return 1;
    }
    g_shared = static_cast<BusyShared*>(m);
    pthread_t ids[kBusyMaxThreads];
    for (unsigned i = 0; i < n; ++i)
        if (pthread_create(&ids[i], nullptr, spin, reinterpret_cast<void*>(uintptr_t(i))) != 0) {
            fprintf(stderr, "busy_malloc: pthread_create failed\n");
            return 1;
        }
    for (unsigned i = 0; i < n; ++i) pthread_join(ids[i], nullptr);
    return 0;
}
