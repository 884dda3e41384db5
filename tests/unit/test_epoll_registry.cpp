// The epoll registrations the shim mirrors (shim/net/epoll_registry.h):
// found by (epfd, fd) and by (epfd, data) without a scan, deletions leave
// chains intact, and concurrent epoll_ctl from many threads keeps each
// thread's registrations exact.
#include "shim/net/epoll_registry.h"

#include <doctest/doctest.h>
#include <memory>
#include <thread>
#include <vector>

using namespace faultline::shim;

namespace {

uint64_t ptr_data(unsigned i) {
    // What a server stores: a heap pointer, nothing like the fd.
    return 0x7f3a00000000ull + uint64_t(i) * 0x40;
}

} // namespace

TEST_CASE("epoll registry: claim, set, find by fd and by data, drop") {
    auto reg = std::make_unique<EpollRegistry>();
    CHECK(reg->find(5, 7) == nullptr);
    Registration* r = reg->claim(5, 7);
    REQUIRE(r);
    CHECK(r->fd() == 7);
    CHECK(r->epfd() == 5);
    CHECK(reg->claim(5, 7) == r); // the same registration again
    reg->set(*r, 1, ptr_data(1));
    CHECK(reg->find(5, 7) == r);
    CHECK(reg->find_by_data(5, ptr_data(1)) == r);
    CHECK(reg->find_by_data(6, ptr_data(1)) == nullptr); // another epoll set
    CHECK(reg->find_by_data(5, ptr_data(2)) == nullptr);

    SUBCASE("MOD to new data: the old data no longer finds it") {
        reg->set(*r, 1, ptr_data(2));
        CHECK(reg->find_by_data(5, ptr_data(1)) == nullptr);
        CHECK(reg->find_by_data(5, ptr_data(2)) == r);
    }
    SUBCASE("data.fd with garbage in the upper half is found through the fd") {
        Registration* q = reg->claim(5, 9);
        uint64_t data = 0xdeadbeef00000000ull | 9;
        reg->set(*q, 1, data);
        CHECK(reg->find_by_data(5, data) == q);
    }
    SUBCASE("drop forgets both ways and reports whether it was held") {
        r->held.store(true);
        CHECK(reg->drop(*r));
        CHECK(reg->find(5, 7) == nullptr);
        CHECK(reg->find_by_data(5, ptr_data(1)) == nullptr);
        Registration* again = reg->claim(5, 7);
        REQUIRE(again);
        CHECK_FALSE(again->held.load());
        CHECK(again->events.load() == 0);
    }
}

TEST_CASE("epoll registry: thousands of pointer-data registrations, each found; churn reuses "
          "tombstones") {
    auto reg = std::make_unique<EpollRegistry>();
    constexpr unsigned n = 4000; // half the table
    for (unsigned i = 0; i < n; ++i) {
        Registration* r = reg->claim(3, int(i + 10));
        REQUIRE(r);
        reg->set(*r, 1, ptr_data(i));
    }
    unsigned found = 0;
    for (unsigned i = 0; i < n; ++i) {
        Registration* r = reg->find_by_data(3, ptr_data(i));
        found += r && r->fd() == int(i + 10);
    }
    CHECK(found == n);
    // A server's connections come and go: 50 rounds of closing and
    // re-registering every fd with new pointers must not fill the tables.
    for (unsigned round = 1; round <= 50; ++round)
        for (unsigned i = 0; i < n; ++i) {
            Registration* r = reg->find(3, int(i + 10));
            REQUIRE(r);
            reg->drop(*r);
            r = reg->claim(3, int(i + 10));
            REQUIRE(r);
            reg->set(*r, 1, ptr_data(i + round * n));
        }
    found = 0;
    for (unsigned i = 0; i < n; ++i) {
        Registration* r = reg->find_by_data(3, ptr_data(i + 50 * n));
        found += r && r->fd() == int(i + 10);
    }
    CHECK(found == n);
    CHECK(reg->find_by_data(3, ptr_data(7)) == nullptr); // long gone
}

TEST_CASE("epoll registry: 4 threads register, find and drop their own fds at once") {
    auto reg = std::make_unique<EpollRegistry>();
    constexpr int threads = 4, per = 500, rounds = 20;
    std::vector<int> misses(threads, 0);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            for (int round = 0; round < rounds; ++round) {
                for (int i = 0; i < per; ++i) {
                    int fd = t * per + i;
                    Registration* r = reg->claim(100, fd);
                    if (!r) {
                        ++misses[t];
                        continue;
                    }
                    reg->set(*r, 1, ptr_data(unsigned(fd + round * 10000)));
                }
                for (int i = 0; i < per; ++i) {
                    int fd = t * per + i;
                    Registration* r =
                        reg->find_by_data(100, ptr_data(unsigned(fd + round * 10000)));
                    if (!r || r->fd() != fd) ++misses[t];
                }
                for (int i = 0; i < per; ++i)
                    if (Registration* r = reg->find(100, t * per + i)) reg->drop(*r);
            }
        });
    for (auto& th : pool) th.join();
    for (int t = 0; t < threads; ++t) CHECK(misses[t] == 0);
}
