// A bounded ring of fixed-size records with many writers and one reader
// (Vyukov's bounded queue, stamped so that all-zero memory is an empty ring:
// a fresh shared-memory segment needs no initialisation pass).
//
// Writers (the shim inside hooks, the CLI for marks) never block, lock or
// allocate: a full ring drops the record and counts it. The reader is the
// session's one recorder.
//
// Each record starts with `std::atomic<uint64_t> seq`, a stamp relative to
// the record's lap (lap = position with the index bits cleared):
//   seq == lap       free for the writer of this lap
//   seq == lap + 1   written in this lap, not read yet
//   seq == lap + 2   abandoned by the reader (claimed, never published)
//   seq == lap + N   read: free for the next lap
#pragma once

#include <atomic>
#include <cstdint>

namespace faultline {

template <class T, unsigned N> struct EventRing {
    static_assert((N & (N - 1)) == 0, "capacity must be a power of two");
    static_assert(N >= 4, "lap + 2 (abandoned) must differ from lap + N (free)");
    static constexpr uint64_t kMask = N - 1;

    alignas(64) std::atomic<uint64_t> head; // next position a writer claims
    alignas(64) std::atomic<uint64_t> tail; // next position the reader reads
    std::atomic<uint64_t> dropped;          // records lost to a full ring
    alignas(64) T slots[N];

    // Claims a record, lets `fill` write it (not `seq`), publishes it. False
    // when the ring is full: the record is dropped and counted.
    template <class Fill> bool push(Fill&& fill) {
        uint64_t pos = head.load(std::memory_order_relaxed);
        T* rec;
        for (;;) {
            rec = &slots[pos & kMask];
            uint64_t lap = pos & ~kMask;
            uint64_t stamp = rec->seq.load(std::memory_order_acquire);
            int64_t diff = int64_t(stamp - lap);
            if (diff == 0) {
                if (head.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
            } else if (diff < 0) {
                dropped.fetch_add(1, std::memory_order_relaxed); // last lap unread: full
                return false;
            } else {
                pos = head.load(std::memory_order_relaxed); // another writer took it
            }
        }
        fill(*rec);
        // Publish with a CAS, not a store: a reader that gave up on this
        // record (skip_stuck: we stalled too long between claim and publish,
        // stopped or descheduled) has freed it already, and then it is
        // dropped (counted by the reader) rather than published into a lap
        // that is not ours.
        uint64_t expected = pos & ~kMask;
        return rec->seq.compare_exchange_strong(expected, expected + 1, std::memory_order_release,
                                                std::memory_order_relaxed);
    }

    // The reader: copies the next record into `out`. False when none is
    // published at the tail (empty, or a writer is between claim and publish).
    bool pop(T& out) {
        uint64_t pos = tail.load(std::memory_order_relaxed);
        T& rec = slots[pos & kMask];
        uint64_t lap = pos & ~kMask;
        if (rec.seq.load(std::memory_order_acquire) != lap + 1) return false;
        copy(out, rec);
        rec.seq.store(lap + N, std::memory_order_release);
        tail.store(pos + 1, std::memory_order_release);
        return true;
    }

    // Reading without freeing, for a reader that frees a record only once
    // it has stored it for good (the recorder: once its transaction is
    // committed), so that a reader killed in between leaves the records to
    // the next one. `pos` is the reader's own cursor, from `tail` on:
    // peek() copies the record at `pos` and advances it; release(pos) frees
    // every record before it. The ring holds what was read and not released:
    // writers find it full sooner, and drop and count.
    bool peek(T& out, uint64_t& pos) const {
        const T& rec = slots[pos & kMask];
        uint64_t lap = pos & ~kMask;
        if (rec.seq.load(std::memory_order_acquire) != lap + 1) return false;
        copy(out, rec);
        ++pos;
        return true;
    }
    void release(uint64_t upto) {
        uint64_t pos = tail.load(std::memory_order_relaxed);
        for (; pos < upto; ++pos)
            slots[pos & kMask].seq.store((pos & ~kMask) + N, std::memory_order_release);
        tail.store(pos, std::memory_order_release);
    }
    // skip_stuck() for a reader at `pos`: the record there, claimed and not
    // published, is given up and counted as dropped. Its slot is marked
    // abandoned (lap + 2: neither published nor free), so that a writer
    // waking up later drops its record, and freed by release() with the
    // others.
    void skip_stuck(uint64_t& pos) {
        if (head.load(std::memory_order_acquire) == pos) return;
        uint64_t lap = pos & ~kMask;
        if (!slots[pos & kMask].seq.compare_exchange_strong(lap, lap + 2,
                                                            std::memory_order_acq_rel))
            return; // published meanwhile: peek() reads it
        ++pos;
        dropped.fetch_add(1, std::memory_order_relaxed);
    }

    // Records claimed but not read (published or not).
    uint64_t pending() const {
        return head.load(std::memory_order_acquire) - tail.load(std::memory_order_relaxed);
    }

    // The reader gives up on the record at the tail when its writer claimed
    // it and has not published it (a writer killed, or stopped, mid-write):
    // counted as dropped. The same CAS as the writer's publish decides who
    // wins, so a writer that wakes up later drops its record instead of
    // publishing it.
    void skip_stuck() {
        uint64_t pos = tail.load(std::memory_order_relaxed);
        if (head.load(std::memory_order_acquire) == pos) return;
        uint64_t lap = pos & ~kMask;
        if (!slots[pos & kMask].seq.compare_exchange_strong(lap, lap + N,
                                                            std::memory_order_acq_rel))
            return; // published meanwhile: pop() reads it
        tail.store(pos + 1, std::memory_order_release);
        dropped.fetch_add(1, std::memory_order_relaxed);
    }

  private:
    static void copy(T& out, const T& in) {
        // Records are plain data after `seq`: copy the bytes after it.
        constexpr unsigned off = sizeof(std::atomic<uint64_t>);
        __builtin_memcpy(reinterpret_cast<char*>(&out) + off,
                         reinterpret_cast<const char*>(&in) + off, sizeof(T) - off);
    }
};

} // namespace faultline
