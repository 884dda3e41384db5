// The file `faultline sweep` shares with the shim in the processes of one
// run (FAULTLINE_SWEEP=PATH), mapped MAP_SHARED by each, written lock-free:
//
//   profile  the failure sites the run reached (when `families` is not 0):
//            the hooked function, its frames, how often, in which order
//   crashes  the fatal signals the shim's handler saw, each with the
//            crashing thread's stack, recorded before the signal goes on
//   objects  the full path behind every object hash, for symbolizing
//
// The controller creates it and reads it once every process of the run has
// ended. Allocation-free: the shim links it.
#pragma once

#include "common/site.h"

#include <atomic>
#include <cstdint>

namespace faultline {

constexpr uint64_t kSiteTableMagic = 0x31544953464c4146ull; // "FAULSIT1"
constexpr uint32_t kSiteTableVersion = 1;
constexpr unsigned kMaxSites = 1u << 16;
constexpr unsigned kMaxObjects = 1024;
constexpr unsigned kMaxCrashes = 32;
constexpr unsigned kCrashDepth = 24;

struct SiteObject {
    std::atomic<uint64_t> key; // object_hash(path), 0: free
    char path[248];
};

struct SiteEntry {
    std::atomic<uint64_t> key;   // site_hash(), 0: free
    std::atomic<uint64_t> count; // calls from the site
    std::atomic<uint64_t> first; // order of first reach (1, 2, ...); 0 while being filled
    uint32_t hook;               // Hook id
    uint32_t depth;              // frames used
    int32_t pid;                 // the process that reached it first
    char comm[16];
    SiteFrame frames[kSiteDepth];
};

struct CrashEntry {
    std::atomic<uint32_t> used; // 1 once claimed, 2 once written
    int32_t pid;
    int32_t signal;
    uint32_t depth;
    char comm[16];
    SiteFrame frames[kCrashDepth];
};

struct SiteTable {
    uint64_t magic;
    uint32_t version;
    uint32_t families;              // bit (1 << Family) per family profiled; 0: crashes only
    std::atomic<uint64_t> sequence; // sites entered so far
    std::atomic<uint64_t> dropped;  // sites not entered: the table was full
    std::atomic<uint32_t> crashes_used;
    uint32_t pad;
    SiteObject objects[kMaxObjects];
    CrashEntry crashes[kMaxCrashes];
    SiteEntry sites[kMaxSites];
};

// Controller: a new table at `path` (replacing any), profiling `families`
// (0: crashes only). Null with errno set on failure.
SiteTable* site_table_create(const char* path, uint32_t families);
// Shim (and the controller reading back): maps an existing table. Null when
// it is missing or not a table of this version.
SiteTable* site_table_map(const char* path);
void site_table_unmap(SiteTable* t);

// Counts one call from site `key`; the first call enters it, with its frames
// from `fill` (called once, only then). False when the table is full.
template <class Fill> bool site_table_count(SiteTable& t, uint64_t key, Fill&& fill) {
    for (unsigned probe = 0; probe < 64; ++probe) {
        SiteEntry& e = t.sites[(key + probe * 0x9e3779b1u) % kMaxSites];
        uint64_t k = e.key.load(std::memory_order_acquire);
        if (k == 0) {
            if (!e.key.compare_exchange_strong(k, key, std::memory_order_acq_rel) && k != key)
                continue;
            if (k == 0) {
                fill(e);
                e.first.store(t.sequence.fetch_add(1, std::memory_order_relaxed) + 1,
                              std::memory_order_release);
            }
        } else if (k != key) {
            continue;
        }
        e.count.fetch_add(1, std::memory_order_relaxed);
        return true;
    }
    t.dropped.fetch_add(1, std::memory_order_relaxed);
    return false;
}

// Enters the full path of object `key` once.
void site_table_object(SiteTable& t, uint64_t key, const char* path);
// The path of object `key`, or null.
const char* site_table_object_path(const SiteTable& t, uint64_t key);

} // namespace faultline
