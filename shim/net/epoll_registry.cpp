#include "shim/net/epoll_registry.h"

namespace faultline::shim {

namespace {

constexpr uint64_t kLive = uint64_t(1) << 63;
// Neither empty nor a key nor a tag (keys have bit 63 set, tags are odd).
constexpr uint64_t kTombstone = 2; // was used: probes go on past it
constexpr uint64_t kBusy = 4;      // being filled by one thread: others pass it by

uint64_t key_of(int epfd, int fd) {
    return kLive | uint64_t(uint32_t(epfd) & 0x7fffffff) << 32 | uint32_t(fd);
}

uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

unsigned home(uint64_t h) {
    return unsigned(h % EpollRegistry::kSlots);
}

uint64_t tag_of(int epfd, uint64_t data) {
    return mix(data ^ mix(uint64_t(uint32_t(epfd)) + 0x9e3779b97f4a7c15ull)) | 1;
}

} // namespace

Registration* EpollRegistry::find(int epfd, int fd) {
    uint64_t key = key_of(epfd, fd);
    unsigned i = home(mix(key));
    for (unsigned n = 0; n < kProbe; ++n, i = (i + 1) % kSlots) {
        uint64_t k = slots_[i].key.load(std::memory_order_acquire);
        if (k == key) return &slots_[i];
        if (k == 0) return nullptr;
    }
    return nullptr;
}

Registration* EpollRegistry::claim(int epfd, int fd) {
    if (Registration* r = find(epfd, fd)) return r;
    uint64_t key = key_of(epfd, fd);
    unsigned i = home(mix(key));
    for (unsigned n = 0; n < kProbe; ++n, i = (i + 1) % kSlots) {
        Registration& r = slots_[i];
        uint64_t k = r.key.load(std::memory_order_acquire);
        if (k == key) return &r; // another thread made it meanwhile
        if (k != 0 && k != kTombstone) continue;
        // Fields first, then the key: a reader that finds the key sees them.
        if (!r.key.compare_exchange_strong(k, kBusy, std::memory_order_acq_rel)) {
            if (k == key) return &r;
            continue;
        }
        r.events.store(0, std::memory_order_relaxed);
        r.data.store(0, std::memory_order_relaxed);
        r.held.store(false, std::memory_order_relaxed);
        r.fd_gen.store(0, std::memory_order_relaxed);
        r.ep_gen.store(0, std::memory_order_relaxed);
        r.data_slot.store(-1, std::memory_order_relaxed);
        r.key.store(key, std::memory_order_release);
        return &r;
    }
    return nullptr;
}

void EpollRegistry::set(Registration& r, uint32_t events, uint64_t data) {
    r.events.store(events, std::memory_order_relaxed);
    if (r.data_slot.load(std::memory_order_acquire) >= 0 &&
        r.data.load(std::memory_order_relaxed) == data)
        return; // indexed already
    unindex(r);
    r.data.store(data, std::memory_order_release);
    uint64_t tag = tag_of(r.epfd(), data);
    int32_t self = int32_t(&r - slots_);
    unsigned i = home(tag);
    for (unsigned n = 0; n < kProbe; ++n, i = (i + 1) % kSlots) {
        DataEntry& e = by_data_[i];
        uint64_t t = e.tag.load(std::memory_order_acquire);
        if (t != 0 && t != kTombstone) continue;
        if (!e.tag.compare_exchange_strong(t, kBusy, std::memory_order_acq_rel)) continue;
        e.slot.store(self, std::memory_order_relaxed);
        e.tag.store(tag, std::memory_order_release);
        r.data_slot.store(int32_t(i), std::memory_order_release);
        return;
    }
    // Index full: found by (epfd, fd) only; an event for it goes through.
}

Registration* EpollRegistry::find_by_data(int epfd, uint64_t data) {
    // Most callers store the fd in data.fd (the union's low 32 bits; the rest
    // may be whatever the caller's stack held): look there first.
    if (int fd = int(uint32_t(data)); fd >= 0)
        if (Registration* r = find(epfd, fd); r && r->data.load(std::memory_order_acquire) == data)
            return r;
    uint64_t tag = tag_of(epfd, data);
    unsigned i = home(tag);
    for (unsigned n = 0; n < kProbe; ++n, i = (i + 1) % kSlots) {
        DataEntry& e = by_data_[i];
        uint64_t t = e.tag.load(std::memory_order_acquire);
        if (t == 0) return nullptr;
        if (t != tag) continue;
        // The entry may be stale or a hash twin: the registration decides.
        int32_t s = e.slot.load(std::memory_order_relaxed);
        if (s < 0 || unsigned(s) >= kSlots) continue;
        Registration& r = slots_[s];
        if (r.live() && r.epfd() == epfd && r.data.load(std::memory_order_acquire) == data)
            return &r;
    }
    return nullptr;
}

void EpollRegistry::unindex(Registration& r) {
    int32_t i = r.data_slot.exchange(-1, std::memory_order_acq_rel);
    if (i >= 0 && unsigned(i) < kSlots)
        by_data_[i].tag.store(kTombstone, std::memory_order_release);
}

bool EpollRegistry::drop(Registration& r) {
    bool was_held = r.held.exchange(false, std::memory_order_acq_rel);
    unindex(r);
    r.key.store(kTombstone, std::memory_order_release);
    return was_held;
}

} // namespace faultline::shim
