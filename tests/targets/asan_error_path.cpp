// An AddressSanitizer build with a heap overflow on its error path: when the
// buffer cannot be had, the fallback is one byte short of what is written
// to it (tests/integration/test_sweep.sh: a sweep finds it as `sanitizer`).
#include <cstdio>
#include <cstdlib>
#include <cstring>

__attribute__((noinline)) static int work() {
    char* buffer = static_cast<char*>(malloc(4096));
    if (!buffer) {
        char* fallback = static_cast<char*>(malloc(16));
        if (!fallback) return 1;
        fallback[16] = 'x'; // the error path's bug
        asm volatile("" : : "r"(fallback) : "memory");
        free(fallback);
        return 2;
    }
    strcpy(buffer, "ok");
    puts(buffer);
    free(buffer);
    return 0;
}

int main() {
    return work();
}
