// caller=: the same malloc size requested from two functions. Each counts
// the NULLs it got; under `mem.fail caller=load_cache` only load_cache's
// requests fail. Prints "config nulls=N cache nulls=M" after N rounds.
#include <cstdio>
#include <cstdlib>

extern "C" {
__attribute__((noinline)) int load_config(size_t size) {
    void* p = malloc(size);
    if (!p) return 1;
    static_cast<volatile char*>(p)[0] = 1;
    free(p);
    return 0;
}

__attribute__((noinline)) int load_cache(size_t size) {
    void* p = malloc(size);
    if (!p) return 1;
    static_cast<volatile char*>(p)[0] = 2;
    free(p);
    return 0;
}
}

int main(int argc, char** argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 1000;
    int config = 0, cache = 0;
    for (int i = 0; i < rounds; ++i) {
        config += load_config(4096);
        cache += load_cache(4096);
    }
    printf("config nulls=%d cache nulls=%d\n", config, cache);
    return 0;
}
