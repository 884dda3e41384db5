// The epoll registrations the shim mirrors (epoll_ctl), so that a wait can
// take a held fd out of its set and put it back with the caller's own events
// and data when the hold ends (net_wait.cpp).
//
// Two lock-free open-addressing tables over one fixed array, no allocation:
//   by (epfd, fd)    what epoll_ctl names
//   by (epfd, data)  what an event carries back: the caller's data, which
//                    nginx, libuv and tokio set to a pointer, not the fd
// Both found in O(1) (a bounded probe); deletion leaves a tombstone that a
// later insertion reuses. A table that is full, or a probe that runs out,
// misses: the fd is then not held by the shim (fails open), never
// misreported. Every field is atomic: epoll_ctl and waits race on them.
#pragma once

#include <atomic>
#include <cstdint>

namespace faultline::shim {

struct Registration {
    std::atomic<uint64_t> key; // kLive | epfd << 32 | fd; 0 empty; a tombstone; busy
    std::atomic<uint32_t> events;
    std::atomic<uint64_t> data;
    std::atomic<bool> held;         // taken out of the kernel's set by the shim
    std::atomic<uint32_t> fd_gen;   // generations of fd and epfd when registered:
    std::atomic<uint32_t> ep_gen;   // a registration of a closed fd is stale
    std::atomic<int32_t> data_slot; // its entry in the data index, -1 none

    int fd() const { return int(uint32_t(key.load(std::memory_order_acquire))); }
    int epfd() const {
        return int(uint32_t(key.load(std::memory_order_acquire) >> 32) & 0x7fffffff);
    }
    bool live() const { return key.load(std::memory_order_acquire) >> 63; }
};

class EpollRegistry {
  public:
    static constexpr unsigned kSlots = 8192;
    static constexpr unsigned kProbe = 64; // longest probe before a miss

    // The registration of fd in epfd; null when there is none.
    Registration* find(int epfd, int fd);
    // Finds or creates it (events 0, data 0 until set); null when full.
    Registration* claim(int epfd, int fd);
    // Sets events and data (ADD, MOD) and indexes it by data.
    void set(Registration& r, uint32_t events, uint64_t data);
    // The registration of epfd whose data is `data`; null when none.
    Registration* find_by_data(int epfd, uint64_t data);
    // Forgets it (DEL, close, stale); clears `held` and returns whether it was.
    bool drop(Registration& r);

    // Calls f(Registration&) for every live registration (waits that look
    // at every held fd; rare, counted by the callers).
    template <class F> void for_each(F&& f) {
        for (auto& r : slots_)
            if (r.live()) f(r);
    }

  private:
    struct DataEntry {
        std::atomic<uint64_t> tag; // hash of (epfd, data) | 1; 0 empty; a tombstone; busy
        std::atomic<int32_t> slot; // index into slots_
    };
    void unindex(Registration& r);

    Registration slots_[kSlots];
    DataEntry by_data_[kSlots];
};

} // namespace faultline::shim
