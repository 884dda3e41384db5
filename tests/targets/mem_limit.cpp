// mem.limit from the program's side: which allocations fail, and when they
// succeed again (docs/rules.md "Memory": "calls fail once the bytes held by
// this process's allocations made since arming would exceed SIZE").
//
//   mem_limit blocks      (for limit=10MiB) before TARGET_GO: one 8 MiB block
//                         (held from before arming); after it:
//     phase1   1 MiB blocks until the first NULL (at most 32)
//     prearm   free the 8 MiB block, then one more 1 MiB block
//     freed3   free three of the phase-1 blocks, then 1 MiB blocks until NULL
//     shrink   realloc one held 1 MiB block down to 512 KiB
//   mem_limit inplace     (for limit=100000) before TARGET_GO: a 1000-byte
//                         block at the top of the heap; after it: realloc it
//                         to 60000 bytes (glibc grows it in place), then
//                         malloc(60000)
//
// Output: one line per step: "phase1 ok=10 null_errno=ENOMEM" etc.
#include "mem_target.h"

#include <cstring>

namespace {

void* (*volatile p_malloc)(size_t) = malloc;
void* (*volatile p_realloc)(void*, size_t) = realloc;
void (*volatile p_free)(void*) = free;

constexpr size_t kMiB = size_t(1) << 20;
char g_errbuf[32];

// Allocates 1 MiB blocks into `held` until one fails; returns how many
// succeeded and the errno of the failure.
int fill(void** held, int& count, int max, int& err) {
    int ok = 0;
    err = 0;
    while (count < max) {
        errno = 0;
        void* p = p_malloc(kMiB);
        if (!p) {
            err = errno;
            break;
        }
        held[count++] = p;
        ++ok;
    }
    return ok;
}

int blocks() {
    void* prearm = p_malloc(8 * kMiB);
    if (!prearm) return 2;
    target::wait_go();

    void* held[64];
    int count = 0, err = 0;
    int ok = fill(held, count, 32, err);
    printf("phase1 ok=%d null_errno=%s\n", ok, target::errno_name(err, g_errbuf, sizeof g_errbuf));

    // Bytes held from before arming are not the rule's: freeing them gives
    // no room.
    p_free(prearm);
    ok = fill(held, count, count + 1, err);
    printf("prearm ok=%d\n", ok);

    for (int i = 0; i < 3; ++i) p_free(held[--count]);
    ok = fill(held, count, 64, err);
    printf("freed3 ok=%d null_errno=%s\n", ok, target::errno_name(err, g_errbuf, sizeof g_errbuf));

    // Shrinking cannot make the process hold more: it must not fail.
    errno = 0;
    void* smaller = p_realloc(held[0], kMiB / 2);
    printf("shrink %s\n", smaller ? "ok" : "null");
    if (smaller) held[0] = smaller;

    for (int i = 0; i < count; ++i) p_free(held[i]);
    return 0;
}

int inplace() {
    void* block = p_malloc(1000);
    if (!block) return 2;
    memset(block, 1, 1000);
    target::wait_go();
    void* grown = p_realloc(block, 60000);
    printf("realloc %s %s\n", grown ? "ok" : "null", grown == block ? "in-place" : "moved");
    void* second = p_malloc(60000);
    printf("second %s\n", second ? "ok" : "null");
    p_free(second);
    p_free(grown ? grown : block);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    const char* mode = argc > 1 ? argv[1] : "blocks";
    // stdio's buffer first: in "inplace" mode the test block must be the
    // last one carved from the heap.
    printf("mode %s\n", mode);
    fflush(stdout);
    int rc = 2;
    if (!strcmp(mode, "blocks"))
        rc = blocks();
    else if (!strcmp(mode, "inplace"))
        rc = inplace();
    target::wait_done();
    return rc;
}
