// The program side of tests/targets/libearly_alloc.cpp (docs/pitfalls.md
// item 4): it is
// linked against libearly_alloc.so, whose constructor allocates before the
// shim's constructor runs. Prints what the constructor saw, releases the
// blocks it kept (now through an initialised shim), then allocates 2 MiB and
// a few small blocks and says which succeeded:
//   ctor ok=N bad=0
//   release bad=0
//   main big=ok|null small=ok|null
// (then "dtor ok" from the library's destructor, after the shim's).

#include <cstdio>
#include <cstdlib>
#include <cstring>

extern "C" const char* early_report();
extern "C" int early_release();

int main() {
    printf("%s\n", early_report());
    printf("release bad=%d\n", early_release());

    void* big = malloc(size_t(2) << 20);
    bool small_ok = true;
    for (int i = 0; i < 1000; ++i) {
        void* p = malloc(size_t(16 + i));
        if (!p) small_ok = false;
        free(p);
    }
    printf("main big=%s small=%s\n", big ? "ok" : "null", small_ok ? "ok" : "null");
    free(big);
    fflush(stdout);
    return 0;
}
