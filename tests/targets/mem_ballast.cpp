// A slow, steady allocator: malloc(1000) + free every 10 ms until the file
// named by TARGET_DONE appears (at most 30 s). mem.ballast is taken and
// released at the process's next allocation call, so this is the kind of
// program the rule is meant for; the test reads its VmRSS from /proc.
//
// Output: "ready pid=N"; at the end "allocations=N nulls=K".
#include "mem_target.h"

#include <sys/stat.h>

namespace {
void* (*volatile p_malloc)(size_t) = malloc;
void (*volatile p_free)(void*) = free;
} // namespace

int main() {
    const char* done = getenv("TARGET_DONE");
    if (!done || !*done) return 2;
    printf("ready pid=%d\n", int(getpid()));
    fflush(stdout);
    long long deadline = target::now_ns() + 30 * 1000000000LL;
    long allocations = 0, nulls = 0;
    struct stat st;
    while (stat(done, &st) != 0 && target::now_ns() < deadline) {
        void* p = p_malloc(1000);
        ++allocations;
        nulls += !p;
        p_free(p);
        target::sleep_ms(10);
    }
    printf("allocations=%ld nulls=%ld\n", allocations, nulls);
    return 0;
}
