// A single-threaded sequence of COUNT malloc(SIZE) calls (defaults 20 and
// 12345 bytes), INTERVAL_MS apart (default 0), reporting which ones failed.
// The distinctive SIZE lets a rule select exactly these calls (min=/max=),
// so that trigger keys (nth=, after=, every=, times=, start=, for=, p=) can
// be checked against the call numbers the program itself saw.
//
//   mem_seq [COUNT [SIZE [INTERVAL_MS]]]
//
// Output: "failed: I J ..." (call numbers from 1), "calls=N failed=K", and
// with INTERVAL_MS > 0 one "call I T_MS ok|null" line per call, T_MS being
// the time since main() started.
#include "mem_target.h"

namespace {
void* (*volatile p_malloc)(size_t) = malloc;
void (*volatile p_free)(void*) = free;
} // namespace

int main(int argc, char** argv) {
    int count = argc > 1 ? atoi(argv[1]) : 20;
    size_t size = argc > 2 ? strtoull(argv[2], nullptr, 10) : 12345;
    long interval = argc > 3 ? atol(argv[3]) : 0;
    if (count < 1 || count > 100000) return 2;
    static bool failed[100000];
    static long long at_ms[100000];
    long long t0 = target::now_ns();
    int nfailed = 0;
    for (int i = 0; i < count; ++i) {
        if (interval > 0 && i > 0) target::sleep_ms(interval);
        at_ms[i] = (target::now_ns() - t0) / 1000000;
        void* p = p_malloc(size);
        failed[i] = !p;
        nfailed += !p;
        p_free(p);
    }
    printf("failed:");
    for (int i = 0; i < count; ++i)
        if (failed[i]) printf(" %d", i + 1);
    printf("\ncalls=%d failed=%d\n", count, nfailed);
    if (interval > 0)
        for (int i = 0; i < count; ++i)
            printf("call %d %lld %s\n", i + 1, at_ms[i], failed[i] ? "null" : "ok");
    return 0;
}
