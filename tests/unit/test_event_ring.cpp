// The event ring (common/event_ring.h): many writers, one reader, no locks;
// a full ring drops and counts, and nothing is lost or read twice.
#include "common/segment.h"

#include <atomic>
#include <doctest/doctest.h>
#include <thread>
#include <vector>

using namespace faultline;

namespace {

struct Rec {
    std::atomic<uint64_t> seq;
    uint64_t writer, n;
};

template <unsigned N> struct Ring : EventRing<Rec, N> {};

} // namespace

TEST_CASE("event ring: zeroed memory is an empty ring; order kept; full drops and counts") {
    auto* r = new Ring<8>{}; // value-initialised: all zero, like a fresh segment
    Rec out{};
    CHECK_FALSE(r->pop(out));
    for (uint64_t i = 0; i < 8; ++i)
        CHECK(r->push([&](Rec& x) {
            x.writer = 1;
            x.n = i;
        }));
    CHECK_FALSE(r->push([](Rec&) {}));
    CHECK(r->dropped.load() == 1);
    CHECK(r->pending() == 8);
    for (uint64_t i = 0; i < 8; ++i) {
        REQUIRE(r->pop(out));
        CHECK(out.n == i);
    }
    CHECK_FALSE(r->pop(out));
    // The next lap reuses the slots.
    for (uint64_t lap = 0; lap < 3; ++lap) {
        for (uint64_t i = 0; i < 5; ++i) CHECK(r->push([&](Rec& x) { x.n = 100 * lap + i; }));
        for (uint64_t i = 0; i < 5; ++i) {
            REQUIRE(r->pop(out));
            CHECK(out.n == 100 * lap + i);
        }
    }
    delete r;
}

TEST_CASE("event ring: a record claimed and never published is skipped and counted") {
    auto* r = new Ring<4>{};
    r->head.store(1); // a writer claimed position 0 and died before publishing
    CHECK(r->push([](Rec& x) { x.n = 7; }));
    Rec out{};
    CHECK_FALSE(r->pop(out)); // blocked behind the dead record
    r->skip_stuck();
    CHECK(r->dropped.load() == 1);
    REQUIRE(r->pop(out));
    CHECK(out.n == 7);
    delete r;
}

TEST_CASE("event ring: a writer that wakes up after the reader skipped its record drops it") {
    auto* r = new Ring<4>{};
    Ring<4>* ring = r;
    bool published = true;
    // The "fill" is where the writer stalls: the reader skips it meanwhile.
    published = r->push([&](Rec& x) {
        x.n = 1;
        ring->skip_stuck();
    });
    CHECK_FALSE(published);
    CHECK(r->dropped.load() == 1); // counted once, by the reader
    Rec out{};
    CHECK_FALSE(r->pop(out)); // nothing half-published to read
    CHECK(r->push([](Rec& x) { x.n = 2; }));
    REQUIRE(r->pop(out));
    CHECK(out.n == 2);
    delete r;
}

TEST_CASE("event ring: 4 writers and a reader; every record read once or dropped") {
    auto* r = new Ring<1024>{};
    constexpr unsigned kWriters = 4;
    constexpr uint64_t kEach = 200000;
    std::atomic<unsigned> done{0};
    std::vector<uint64_t> pushed(kWriters, 0);
    std::vector<std::thread> writers;
    for (unsigned w = 0; w < kWriters; ++w)
        writers.emplace_back([&, w] {
            for (uint64_t i = 0; i < kEach; ++i)
                if (r->push([&](Rec& x) {
                        x.writer = w;
                        x.n = i;
                    }))
                    ++pushed[w];
            done.fetch_add(1);
        });
    std::vector<uint64_t> read(kWriters, 0), last(kWriters, 0);
    bool ordered = true, valid = true;
    Rec out{};
    auto drain = [&] {
        while (r->pop(out)) {
            if (out.writer >= kWriters) {
                valid = false;
                continue;
            }
            // Per writer, records come out in the order they went in.
            if (read[out.writer] && out.n <= last[out.writer]) ordered = false;
            last[out.writer] = out.n;
            ++read[out.writer];
        }
    };
    while (done.load() < kWriters) drain();
    for (auto& t : writers) t.join();
    drain();
    uint64_t total_pushed = 0, total_read = 0;
    for (unsigned w = 0; w < kWriters; ++w) {
        CHECK(read[w] == pushed[w]);
        total_pushed += pushed[w];
        total_read += read[w];
    }
    CHECK(valid);
    CHECK(ordered);
    CHECK(total_read + r->dropped.load() == kWriters * kEach);
    CHECK(total_read > 0);
    delete r;
}

TEST_CASE("event ring: peek reads without freeing; release frees; a new reader reads again") {
    auto* r = new Ring<4>{};
    for (uint64_t i = 0; i < 4; ++i) CHECK(r->push([&](Rec& x) { x.n = i; }));
    Rec out{};
    uint64_t pos = r->tail.load();
    REQUIRE(r->peek(out, pos));
    CHECK(out.n == 0);
    REQUIRE(r->peek(out, pos));
    CHECK(out.n == 1);
    // Read, not released: the ring is still full for writers.
    CHECK_FALSE(r->push([](Rec& x) { x.n = 99; }));
    CHECK(r->dropped.load() == 1);
    // A reader killed here: the next one starts at the tail and reads 0 again.
    uint64_t again = r->tail.load();
    REQUIRE(r->peek(out, again));
    CHECK(out.n == 0);
    r->release(pos); // 0 and 1 stored for good
    CHECK(r->tail.load() == 2);
    CHECK(r->push([](Rec& x) { x.n = 4; }));
    CHECK(r->push([](Rec& x) { x.n = 5; }));
    CHECK_FALSE(r->push([](Rec&) {}));
    for (uint64_t want = 2; want < 6; ++want) {
        REQUIRE(r->peek(out, pos));
        CHECK(out.n == want);
    }
    CHECK_FALSE(r->peek(out, pos));
    r->release(pos);
    CHECK(r->pending() == 0);
    delete r;
}

TEST_CASE("event ring: a stuck record skipped at the read cursor is freed only with the others") {
    auto* r = new Ring<4>{};
    r->head.store(1); // position 0 claimed by a writer that died
    CHECK(r->push([](Rec& x) { x.n = 1; }));
    Rec out{};
    uint64_t pos = 0;
    CHECK_FALSE(r->peek(out, pos));
    r->skip_stuck(pos);
    CHECK(pos == 1);
    CHECK(r->dropped.load() == 1);
    REQUIRE(r->peek(out, pos));
    CHECK(out.n == 1);
    // Nothing released yet: positions 2 and 3 free, then full (the abandoned
    // slot 0 is not free for the next lap before release()).
    CHECK(r->push([](Rec& x) { x.n = 2; }));
    CHECK(r->push([](Rec& x) { x.n = 3; }));
    CHECK_FALSE(r->push([](Rec&) {}));
    r->release(pos);
    CHECK(r->push([](Rec& x) { x.n = 4; })); // position 4: slot 0 again
    for (uint64_t want = 2; want < 5; ++want) {
        REQUIRE(r->peek(out, pos));
        CHECK(out.n == want);
    }
    delete r;
}

TEST_CASE("event ring: a writer that wakes up after a skip at the read cursor drops its record") {
    auto* r = new Ring<4>{};
    Ring<4>* ring = r;
    uint64_t pos = 0;
    bool published = r->push([&](Rec& x) {
        x.n = 1;
        ring->skip_stuck(pos);
    });
    CHECK_FALSE(published);
    CHECK(r->dropped.load() == 1);
    Rec out{};
    CHECK_FALSE(r->peek(out, pos));
    r->release(pos);
    CHECK(r->pending() == 0);
    delete r;
}
