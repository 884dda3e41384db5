// The injection-event ring alone ("injection events: >= 1 M/s
// from 2 threads, none lost while the recorder keeps up, drops counted
// otherwise"): WRITERS threads push Events into an EventRing of the
// session segment's type and size (common/segment.h: Segment::events) while
// one reader pops them.
//
// usage: event_ring MODE RATE SECONDS [WRITERS]
//   MODE spin: the reader pops without pausing
//        poll: the reader drains the ring every 5 ms, then sleeps, as the
//              recorder does (controller/record/recorder.cpp)
//   RATE pushes per second over all writers, paced in batches of 1 ms
//        (RATE = 1,000,000: each of 2 writers pushes 500 records, sleeps
//        until the next 500 are due); 0: flat out, for SECONDS. Flat-out
//        writers outrun any reader, so drops happen and must be counted.
//
// Each writer fills its records as the shim's note_injection does (a
// CLOCK_MONOTONIC read, pid, tid, rule, hook, kind, value) plus its own
// index and a per-writer sequence number, so that the reader checks that
// every record arrives once, in each writer's order. The ring lives in a
// shared anonymous mapping, zero-filled like a fresh segment.
//
// Output, one `key=value` line each, read by bench/run:
//   writer=I attempts=A pushed=P dropped=D seconds=S
//                      push() calls, those that returned true / false
//   popped=N dropped_counter=D out_of_order=K pending=Q
//                      what the reader got; the ring's own drop counter;
//                      records seen out of their writer's order or twice;
//                      records left claimed after the final drain
//   attempts_per_s=X pushed_per_s=Y
//                      over all writers (sum / the longest writer's time)
//   exact=1|0          for every writer pushed == popped, and the sum of
//                      the writers' false returns == the ring's counter

#include "common/segment.h"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

using faultline::Event;
using Ring = faultline::EventRing<Event, faultline::kEventCapacity>;

namespace {

constexpr unsigned kMaxWriters = 16;

int64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct Shared {
    Ring* ring = nullptr;
    double rate = 0; // per writer, 0: flat out
    double seconds = 1;
    std::atomic<unsigned> ready{0};
    std::atomic<bool> go{false}, stop{false}, writers_done{false};
};

struct Writer {
    Shared* shared;
    unsigned index;
    uint64_t attempts = 0, pushed = 0, dropped = 0;
    double seconds = 0;
};

void* writer_main(void* arg) {
    Writer& w = *static_cast<Writer*>(arg);
    Shared& s = *w.shared;
    int32_t pid = int32_t(getpid()), tid = int32_t(gettid());
    s.ready.fetch_add(1);
    while (!s.go.load(std::memory_order_acquire)) sched_yield();
    int64_t t0 = now_ns();
    uint64_t seq = 0, pushed = 0, dropped = 0;
    auto push_one = [&] {
        int64_t t = now_ns(); // note_injection reads the clock for each event
        bool ok = s.ring->push([&](Event& e) {
            e.t_ns = t;
            e.pid = pid;
            e.tid = tid;
            e.rule_id = 1;
            e.hook = 0;
            e.kind = 0;
            e.value = 12;
            e.reserved[0] = w.index;
            e.reserved[1] = seq;
        });
        ++seq;
        if (ok)
            ++pushed;
        else
            ++dropped;
    };
    if (s.rate > 0) {
        uint64_t total = uint64_t(s.rate * s.seconds);
        uint64_t batch = s.rate >= 1000 ? uint64_t(s.rate / 1000) : 1;
        while (seq < total) {
            double elapsed = double(now_ns() - t0);
            uint64_t due = uint64_t(elapsed * s.rate / 1e9);
            while (seq < due && seq < total) push_one();
            if (seq >= total) break;
            int64_t wake = t0 + int64_t(double(seq + batch) * 1e9 / s.rate);
            timespec ts{time_t(wake / 1000000000), long(wake % 1000000000)};
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
        }
    } else {
        while (!s.stop.load(std::memory_order_relaxed))
            for (unsigned k = 0; k < 256; ++k) push_one();
    }
    w.seconds = double(now_ns() - t0) / 1e9;
    w.attempts = seq;
    w.pushed = pushed;
    w.dropped = dropped;
    return nullptr;
}

struct Reader {
    Shared* shared;
    bool poll_mode;
    uint64_t popped[kMaxWriters] = {};
    uint64_t next[kMaxWriters] = {}; // lowest sequence number still possible
    uint64_t out_of_order = 0;
};

void take(Reader& r, const Event& e) {
    uint64_t w = e.reserved[0], seq = e.reserved[1];
    if (w >= kMaxWriters || seq < r.next[w]) {
        ++r.out_of_order;
        return;
    }
    r.next[w] = seq + 1;
    ++r.popped[w];
}

void* reader_main(void* arg) {
    Reader& r = *static_cast<Reader*>(arg);
    Shared& s = *r.shared;
    Event e;
    while (!s.writers_done.load(std::memory_order_acquire)) {
        if (r.poll_mode) {
            while (s.ring->pop(e)) take(r, e);
            timespec ts{0, 5000000};
            nanosleep(&ts, nullptr);
        } else if (s.ring->pop(e)) {
            take(r, e);
        }
    }
    while (s.ring->pop(e)) take(r, e); // the writers are gone: what is left
    return nullptr;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 4 || (strcmp(argv[1], "spin") != 0 && strcmp(argv[1], "poll") != 0)) {
        fprintf(stderr, "usage: %s spin|poll RATE SECONDS [WRITERS]\n", argv[0]);
        return 2;
    }
    Shared s;
    double rate = atof(argv[2]);
    s.seconds = atof(argv[3]);
    unsigned writers = argc > 4 ? unsigned(strtoul(argv[4], nullptr, 10)) : 2;
    if (rate < 0 || s.seconds <= 0 || writers == 0 || writers > kMaxWriters) {
        fprintf(stderr, "event_ring: RATE must be >= 0, SECONDS > 0, WRITERS 1..%u\n", kMaxWriters);
        return 2;
    }
    s.rate = rate / writers;
    void* mem =
        mmap(nullptr, sizeof(Ring), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        perror("event_ring: mmap");
        return 1;
    }
    s.ring = static_cast<Ring*>(mem); // all-zero memory is an empty ring (event_ring.h)

    Reader reader{&s, strcmp(argv[1], "poll") == 0};
    std::vector<Writer> ws(writers);
    std::vector<pthread_t> ids(writers);
    pthread_t reader_id;
    pthread_create(&reader_id, nullptr, reader_main, &reader);
    for (unsigned i = 0; i < writers; ++i) {
        ws[i] = Writer{&s, i};
        if (pthread_create(&ids[i], nullptr, writer_main, &ws[i]) != 0) {
            fprintf(stderr, "event_ring: pthread_create failed\n");
            return 1;
        }
    }
    while (s.ready.load() < writers) sched_yield();
    s.go.store(true, std::memory_order_release);
    if (s.rate == 0) { // paced writers stop by themselves
        timespec run{time_t(s.seconds), long((s.seconds - double(time_t(s.seconds))) * 1e9)};
        nanosleep(&run, nullptr);
        s.stop.store(true);
    }
    for (unsigned i = 0; i < writers; ++i) pthread_join(ids[i], nullptr);
    s.writers_done.store(true, std::memory_order_release);
    pthread_join(reader_id, nullptr);

    uint64_t attempts = 0, pushed = 0, dropped = 0, popped = 0;
    double longest = 0;
    bool exact = reader.out_of_order == 0;
    for (unsigned i = 0; i < writers; ++i) {
        const Writer& w = ws[i];
        printf("writer=%u attempts=%llu pushed=%llu dropped=%llu seconds=%.4f\n", i,
               (unsigned long long)w.attempts, (unsigned long long)w.pushed,
               (unsigned long long)w.dropped, w.seconds);
        attempts += w.attempts;
        pushed += w.pushed;
        dropped += w.dropped;
        popped += reader.popped[i];
        if (w.pushed != reader.popped[i] || w.pushed + w.dropped != w.attempts) exact = false;
        if (w.seconds > longest) longest = w.seconds;
    }
    uint64_t counter = s.ring->dropped.load();
    if (counter != dropped) exact = false;
    uint64_t pending = s.ring->pending();
    if (pending != 0) exact = false;
    printf("popped=%llu dropped_counter=%llu out_of_order=%llu pending=%llu\n",
           (unsigned long long)popped, (unsigned long long)counter,
           (unsigned long long)reader.out_of_order, (unsigned long long)pending);
    printf("attempts_per_s=%.0f pushed_per_s=%.0f\n", double(attempts) / longest,
           double(pushed) / longest);
    printf("exact=%d\n", exact ? 1 : 0);
    munmap(mem, sizeof(Ring));
    return 0;
}
