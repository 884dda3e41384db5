// Allocates a std::vector<char> of SIZE bytes (default 4 MiB) and reports how
// operator new failed, as a C++ program would see it.
//
// Under `mem.fail min=1MiB` the malloc behind operator new fails, so new must
// throw std::bad_alloc and the exception must unwind through the C++ runtime
// while the shim is loaded (docs/rules.md "Memory", docs/pitfalls.md item
// 15). new(nothrow)
// must return nullptr instead. Small allocations keep working afterwards.
//
// Output: one line per attempt; exit 0 when everything was allocated, 3 when
// std::bad_alloc was caught.
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    size_t size = argc > 1 ? strtoull(argv[1], nullptr, 10) : size_t(4) << 20;
    int rc = 0;
    try {
        std::vector<char> v(size, 'x');
        printf("vector: allocated %zu bytes, last=%c\n", v.size(), v.back());
    } catch (const std::bad_alloc& e) {
        printf("vector: caught std::bad_alloc (%s)\n", e.what());
        rc = 3;
    }

    char* raw = new (std::nothrow) char[size];
    printf("new(nothrow): %s\n", raw ? "allocated" : "nullptr");
    delete[] raw;

    // The program goes on: below the size filter nothing fails.
    std::string small(100, 'y');
    printf("after: small string of %zu bytes\n", small.size());
    return rc;
}
