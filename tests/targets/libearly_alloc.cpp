// A library whose constructor allocates before the shim's constructor has
// run, and whose destructor allocates after the shim's destructors
// (docs/pitfalls.md item 4: calls made before the shim's own constructor
// work).
//
// ld.so runs initialisers in reverse load order: the executable's own
// dependencies (this library) before the preloaded shim. So every call
// below reaches the shim's hooks while the shim is not initialised yet;
// tests/integration/test_process_early_ctor.sh checks that order with
// LD_DEBUG=init.
//
// The constructor keeps some blocks alive so that the program frees and
// reallocates them later, once the shim is initialised: a block handed out
// before init (from the real heap or from the shim's bootstrap arena) must
// survive free/realloc/malloc_usable_size after init.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <malloc.h>
#include <string>
#include <unistd.h>

namespace {

// What the constructor saw, for early_report().
char g_report[512];
// Blocks allocated before the shim's constructor, released by the program.
void* g_kept[4];
size_t g_kept_size[4];

bool filled(const void* p, int byte, size_t n) {
    const unsigned char* c = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i)
        if (c[i] != byte) return false;
    return true;
}

// One raw write: stdio may not be usable in a late destructor.
void say(const char* s) {
    ssize_t ignored = write(1, s, strlen(s));
    (void)ignored;
}

__attribute__((constructor)) void early_init() {
    int ok = 0, bad = 0;
    auto note = [&](bool good) { good ? ++ok : ++bad; };

    // Two MiB: above the 1 MiB threshold the tests arm (mem.fail min=1MiB),
    // which must not apply before the shim is initialised.
    const size_t big = size_t(2) << 20;
    void* a = malloc(big);
    note(a != nullptr);
    if (a) memset(a, 0xab, big);

    void* b = calloc(1000, 3);
    note(b && filled(b, 0, 3000));

    void* c = realloc(nullptr, 100);
    if (c) memset(c, 0x11, 100);
    c = c ? realloc(c, 100000) : nullptr;
    note(c && filled(c, 0x11, 100));

    void* d = nullptr;
    note(posix_memalign(&d, 256, 4096) == 0 && d && (reinterpret_cast<uintptr_t>(d) & 255) == 0);
    void* e = aligned_alloc(64, 640);
    note(e && (reinterpret_cast<uintptr_t>(e) & 63) == 0);
    void* f = memalign(128, 300);
    note(f != nullptr);
    char* g = strdup("allocated before the shim's constructor");
    note(g && strcmp(g, "allocated before the shim's constructor") == 0);
    note(malloc_usable_size(b) >= 3000);

    // C++: operator new and std::string through malloc.
    std::string* s = new std::string(5000, 'x');
    note(s->size() == 5000);
    delete s;

    free(d);
    free(e);
    free(f);
    free(g);

    g_kept[0] = a;
    g_kept_size[0] = big;
    g_kept[1] = b;
    g_kept_size[1] = 3000;
    g_kept[2] = c;
    g_kept_size[2] = 100000;
    g_kept[3] = malloc(48);
    g_kept_size[3] = 48;
    note(g_kept[3] != nullptr);
    if (g_kept[3]) memset(g_kept[3], 0x5a, 48);

    snprintf(g_report, sizeof g_report, "ctor ok=%d bad=%d", ok, bad);
}

__attribute__((destructor)) void late_fini() {
    // Runs after the shim's destructor: hooks must still work.
    void* p = malloc(4096);
    void* q = calloc(10, 10);
    p = p ? realloc(p, 8192) : nullptr;
    bool good = p && q && filled(q, 0, 100);
    free(p);
    free(q);
    say(good ? "dtor ok\n" : "dtor bad\n");
}

} // namespace

extern "C" {

const char* early_report() {
    return g_report;
}

// Checks the kept blocks' contents, grows them with realloc, frees them all.
// Returns the number of problems.
int early_release() {
    int bad = 0;
    if (!g_kept[0] || !filled(g_kept[0], 0xab, g_kept_size[0])) ++bad;
    if (!g_kept[1] || !filled(g_kept[1], 0, g_kept_size[1])) ++bad;
    if (!g_kept[2] || !filled(g_kept[2], 0x11, 100)) ++bad;
    if (!g_kept[3] || !filled(g_kept[3], 0x5a, 48)) ++bad;
    if (g_kept[3] && malloc_usable_size(g_kept[3]) < 48) ++bad;
    // Grow a pre-init block after init: below the tests' 1 MiB threshold.
    void* grown = g_kept[3] ? realloc(g_kept[3], 512) : nullptr;
    if (!grown || !filled(grown, 0x5a, 48)) ++bad;
    if (grown) g_kept[3] = grown;
    for (void*& p : g_kept) {
        free(p);
        p = nullptr;
    }
    return bad;
}
}
