// Calls each function of the malloc family once and prints what the caller
// saw, so that a test can check the failure semantics of docs/pitfalls.md
// item 14 and docs/rules.md "Memory" against the rule it armed:
//   malloc/calloc/memalign/aligned_alloc/valloc/pvalloc: NULL + ENOMEM;
//   posix_memalign: returns ENOMEM, *memptr and errno untouched;
//   realloc/reallocarray: NULL + ENOMEM, the old block still valid;
//   realloc(p, 0), reallocarray(p, 0, n) and free: never failed.
//
//   mem_semantics all [SIZE]      every allocating function asks for SIZE
//                                 bytes (default 1 MiB); realloc and
//                                 reallocarray grow a 64-byte block to SIZE
//   mem_semantics sizes SIZE...   malloc(SIZE) for each SIZE
//   mem_semantics zero            realloc(p, 0), reallocarray(p, 0, 16),
//                                 realloc(NULL, 64) and free of 2 MiB blocks
//
// Output: "FUNCTION: ok" or "FUNCTION: null errno=E", with extra facts
// (old=intact|damaged, memptr=..., freed=yes|no) where they apply.
// Every call goes through a volatile pointer: the compiler may not elide or
// merge allocations whose results it can see.
#include "mem_target.h"

#include <cstdint>
#include <cstring>
#include <malloc.h>

namespace {

void* (*volatile p_malloc)(size_t) = malloc;
void* (*volatile p_calloc)(size_t, size_t) = calloc;
void* (*volatile p_realloc)(void*, size_t) = realloc;
void* (*volatile p_reallocarray)(void*, size_t, size_t) = reallocarray;
int (*volatile p_posix_memalign)(void**, size_t, size_t) = posix_memalign;
void* (*volatile p_aligned_alloc)(size_t, size_t) = aligned_alloc;
void* (*volatile p_memalign)(size_t, size_t) = memalign;
void* (*volatile p_valloc)(size_t) = valloc;
void* (*volatile p_pvalloc)(size_t) = pvalloc;
void (*volatile p_free)(void*) = free;

char g_errbuf[32];
const char* ename(int e) {
    return target::errno_name(e, g_errbuf, sizeof g_errbuf);
}

// Prints the outcome of a pointer-returning call made with errno preset to 0.
void report(const char* fn, void* p, int err) {
    if (p)
        printf("%s: ok\n", fn);
    else
        printf("%s: null errno=%s\n", fn, ename(err));
    p_free(p);
}

constexpr size_t kOld = 64;

void* patterned_block() {
    auto* p = static_cast<unsigned char*>(p_malloc(kOld));
    if (p)
        for (size_t i = 0; i < kOld; ++i) p[i] = uint8_t(i * 7 + 1);
    return p;
}

bool pattern_intact(const void* q) {
    auto* p = static_cast<const unsigned char*>(q);
    for (size_t i = 0; i < kOld; ++i)
        if (p[i] != uint8_t(i * 7 + 1)) return false;
    return true;
}

// realloc and reallocarray: grow a patterned block; on failure the old
// block must still hold its bytes (and be freeable), on success the new one.
template <class Grow> void check_grow(const char* fn, Grow grow) {
    void* old = patterned_block();
    if (!old) {
        printf("%s: setup failed\n", fn);
        return;
    }
    errno = 0;
    void* p = grow(old);
    int err = errno;
    if (p) {
        printf("%s: ok contents=%s\n", fn, pattern_intact(p) ? "intact" : "damaged");
        p_free(p);
    } else {
        printf("%s: null errno=%s old=%s\n", fn, ename(err),
               pattern_intact(old) ? "intact" : "damaged");
        p_free(old);
    }
}

void all(size_t size) {
    void* p;
    errno = 0;
    p = p_malloc(size);
    report("malloc", p, errno);
    errno = 0;
    p = p_calloc(size / 1024, 1024); // both factors below any size filter: the product counts
    report("calloc", p, errno);
    errno = 0;
    p = p_memalign(64, size);
    report("memalign", p, errno);
    errno = 0;
    p = p_aligned_alloc(4096, (size + 4095) & ~size_t(4095));
    report("aligned_alloc", p, errno);
    errno = 0;
    p = p_valloc(size);
    report("valloc", p, errno);
    errno = 0;
    p = p_pvalloc(size);
    report("pvalloc", p, errno);

    // posix_memalign reports through its return value only.
    void* const sentinel = reinterpret_cast<void*>(uintptr_t(0x5eed0));
    void* out = sentinel;
    errno = EILSEQ;
    int rc = p_posix_memalign(&out, 64, size);
    int err = errno;
    if (rc == 0) {
        printf("posix_memalign: ok\n");
        p_free(out);
    } else {
        printf("posix_memalign: rc=%s memptr=%s errno=%s\n", ename(rc),
               out == sentinel ? "untouched" : "changed", err == EILSEQ ? "untouched" : ename(err));
    }

    check_grow("realloc", [&](void* old) { return p_realloc(old, size); });
    check_grow("reallocarray", [&](void* old) { return p_reallocarray(old, size / 1024, 1024); });
}

void sizes(int n, char** list) {
    for (int i = 0; i < n; ++i) {
        size_t size = strtoull(list[i], nullptr, 10);
        errno = 0;
        void* p = p_malloc(size);
        int err = errno;
        if (p)
            printf("malloc(%zu): ok\n", size);
        else
            printf("malloc(%zu): null errno=%s\n", size, ename(err));
        p_free(p);
    }
}

// Bytes in use per glibc (heap chunks + mmapped chunks): shows whether a
// block was really given back.
size_t in_use_bytes() {
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}
constexpr size_t kBig = size_t(2) << 20;

void freeing(const char* fn, void* (*release)(void*)) {
    void* p = p_malloc(kBig);
    if (!p) {
        printf("%s: setup failed\n", fn);
        return;
    }
    memset(p, 1, 4096);
    size_t before = in_use_bytes();
    errno = 0;
    void* q = release(p);
    int err = errno;
    bool freed = in_use_bytes() + kBig <= before;
    printf("%s: ret=%s errno=%s freed=%s\n", fn, q ? "block" : "null", ename(err),
           freed ? "yes" : "no");
    if (q) p_free(q);
}

void zero() {
    freeing("realloc(p,0)", [](void* p) { return p_realloc(p, 0); });
    freeing("reallocarray(p,0,16)", [](void* p) { return p_reallocarray(p, 0, 16); });
    freeing("free", [](void* p) -> void* {
        p_free(p);
        return nullptr;
    });
    errno = 0;
    void* p = p_realloc(nullptr, 64);
    report("realloc(NULL,64)", p, errno);
}

} // namespace

int main(int argc, char** argv) {
    const char* mode = argc > 1 ? argv[1] : "all";
    if (!strcmp(mode, "all"))
        all(argc > 2 ? strtoull(argv[2], nullptr, 10) : size_t(1) << 20);
    else if (!strcmp(mode, "sizes"))
        sizes(argc - 2, argv + 2);
    else if (!strcmp(mode, "zero"))
        zero();
    else
        return 2;
    return 0;
}
