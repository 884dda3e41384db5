// Times its own mallocs: COUNT calls of malloc(SIZE) (defaults 30 and 12345
// bytes), each measured with CLOCK_MONOTONIC, so that a test can see what
// mem.delay did to the program (docs/rules.md "Memory": delay accuracy).
// A distinctive SIZE lets the rule select these calls only (min=/max=).
//
// Output: "call I US" per call (I from 1, US in microseconds), then
// "nulls=K".
#include "mem_target.h"

namespace {
void* (*volatile p_malloc)(size_t) = malloc;
void (*volatile p_free)(void*) = free;
} // namespace

int main(int argc, char** argv) {
    int count = argc > 1 ? atoi(argv[1]) : 30;
    size_t size = argc > 2 ? strtoull(argv[2], nullptr, 10) : 12345;
    if (count < 1 || count > 10000) return 2;
    static long long us[10000];
    int nulls = 0;
    for (int i = 0; i < count; ++i) {
        long long t0 = target::now_ns();
        void* p = p_malloc(size);
        us[i] = (target::now_ns() - t0) / 1000;
        nulls += !p;
        p_free(p);
    }
    for (int i = 0; i < count; ++i) printf("call %d %lld\n", i + 1, us[i]);
    printf("nulls=%d\n", nulls);
    return 0;
}
