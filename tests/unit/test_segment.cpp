// The segment ABI (docs/segment.md): every offset the shim and the controller
// agree on, lock-freedom, validation of foreign segments.
#include "common/segment.h"

#include <cstddef>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace faultline;

// A change to any of these is an ABI change: bump kAbiVersion with it.
static_assert(offsetof(Segment, magic) == 0);
static_assert(offsetof(Segment, abi_version) == 8);
static_assert(offsetof(Segment, attached_count) == 12);
static_assert(offsetof(Segment, size) == 16);
static_assert(offsetof(Segment, owner_uid) == 24);
static_assert(offsetof(Segment, unacted_kinds) == 28);
static_assert(offsetof(Segment, name) == 32);
static_assert(offsetof(Segment, seed) == 96);
static_assert(offsetof(Segment, created_ns) == 104);
static_assert(offsetof(Segment, controller_pid) == 112);
static_assert(offsetof(Segment, writer_lock) == 116);
static_assert(offsetof(Segment, next_rule_id) == 120);
static_assert(offsetof(Segment, tsc_ns_q32) == 124);
static_assert(offsetof(Segment, next_arm_seq) == 128);
static_assert(offsetof(Segment, armed) == 136);
static_assert(offsetof(Segment, mem_gate) == 168);
static_assert(offsetof(Segment, created_mono_ns) == 176);
static_assert(offsetof(Segment, recorder_pid) == 184);
static_assert(offsetof(Segment, threads_used) == 188);
static_assert(offsetof(Segment, hooks) == 192);
static_assert(offsetof(Segment, processes) == 192 + 16 * kMaxHooks);
static_assert(offsetof(Segment, events) % 64 == 0);
static_assert(offsetof(Segment, outcomes) % 64 == 0);
static_assert(sizeof(Event) == 64);
static_assert(sizeof(OutcomeRecord) == 128);
static_assert(offsetof(Event, t_ns) == 8);
static_assert(offsetof(Event, rule_id) == 24);
static_assert(offsetof(Event, value) == 32);
static_assert(offsetof(Event, traced) == 40);
static_assert(sizeof(Trace) == 128);
static_assert(offsetof(Segment, traces) % 64 == 0);
static_assert(offsetof(Segment, exchanges) % 64 == 0);
static_assert(offsetof(Segment, exchanges) > offsetof(Segment, traces));
static_assert(sizeof(ExchangeRecord) == 32);
static_assert(offsetof(ExchangeRecord, start_ns) == 8);
static_assert(offsetof(ExchangeRecord, latency_ns) == 16);
static_assert(offsetof(ExchangeRecord, pid) == 24);
static_assert(offsetof(ExchangeRecord, http_status) == 28);
static_assert(offsetof(ExchangeRecord, failure) == 30);
static_assert(offsetof(Segment, session_ports) == sizeof(Segment) - 2 * 65536 * 2);
static_assert(offsetof(OutcomeRecord, label) == 34);
static_assert(kObservedBit == uint64_t(1) << kMaxRules);
static_assert(offsetof(Segment, rules) % 64 == 0);
static_assert(offsetof(Segment, threads) % 64 == 0);
static_assert(sizeof(RuleSlot) % 64 == 0);
static_assert(sizeof(ThreadSlot) % 64 == 0);
static_assert(offsetof(RuleSlot, state) == 0);
static_assert(offsetof(RuleSlot, id) == 8);
static_assert(offsetof(RuleSlot, arm_seq) == 16);
static_assert(offsetof(RuleSlot, armed_ns) == 24);
static_assert(offsetof(RuleSlot, injected) == 64);
static_assert(offsetof(RuleSlot, rule) == 88);
static_assert(offsetof(Rule, kind) == 0);
static_assert(offsetof(Rule, per) == 3);
static_assert(offsetof(Rule, keys) == 8);
static_assert(offsetof(Rule, name) == 16);
static_assert(offsetof(Rule, text) == 48);
static_assert(offsetof(Rule, p) == 304);
static_assert(sizeof(Rule) == 896);
static_assert(offsetof(ThreadSlot, seen) == 64);
static_assert(offsetof(ThreadSlot, calls) == 64 + 16 * (kMaxRules + 1));
static_assert(offsetof(ThreadSlot, bytes) == offsetof(ThreadSlot, calls) + 8 * kMaxHooks);
static_assert(offsetof(ThreadSlot, latency) == offsetof(ThreadSlot, calls) + 24 * kMaxHooks);
static_assert(sizeof(ProcessSlot) == 48);
static_assert(offsetof(ProcessSlot, client) == 40);
static_assert(std::atomic<uint64_t>::is_always_lock_free);

TEST_CASE("layout totals") {
    CHECK(sizeof(Segment) == 11523904); // sparse: pages are touched as used
    CHECK(alignof(Segment) == 64);
}

TEST_CASE("session names") {
    CHECK(valid_session_name("api"));
    CHECK(valid_session_name("fl-123_a.b"));
    CHECK_FALSE(valid_session_name(""));
    CHECK_FALSE(valid_session_name("a/b"));
    CHECK_FALSE(valid_session_name(".hidden"));
    CHECK_FALSE(valid_session_name(std::string(49, 'a')));
}

namespace {
std::string unique_name() {
    return "unit-" + std::to_string(getpid());
}
} // namespace

TEST_CASE("create, open, validate, unlink") {
    std::string name = unique_name();
    SegmentError err;
    Segment* seg = segment_create(name, 99, err);
    REQUIRE(seg);
    CHECK(seg->seed == 99);
    CHECK(std::string(seg->name) == name);
    Segment* again = segment_create(name, 1, err);
    CHECK(again == nullptr);
    CHECK(err == SegmentError::Exists);
    Segment* opened = segment_open(name, err);
    REQUIRE(opened);
    CHECK(opened->seed == 99);
    struct stat st;
    REQUIRE(stat(("/dev/shm/faultline." + name).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    segment_unmap(opened);
    segment_unmap(seg);
    CHECK(segment_unlink(name));
    CHECK(segment_open(name, err) == nullptr);
    CHECK(err == SegmentError::NotFound);
}

TEST_CASE("foreign segments are refused") {
    std::string name = unique_name() + "-bad";
    std::string path = "/dev/shm/faultline." + name;
    SegmentError err;

    SUBCASE("bad magic") {
        Segment* seg = segment_create(name, 1, err);
        REQUIRE(seg);
        seg->magic.store(0x1234);
        segment_unmap(seg);
        CHECK(segment_open(name, err) == nullptr);
        CHECK(err == SegmentError::BadMagic);
    }
    SUBCASE("bad version") {
        Segment* seg = segment_create(name, 1, err);
        REQUIRE(seg);
        seg->abi_version = kAbiVersion + 1;
        segment_unmap(seg);
        CHECK(segment_open(name, err) == nullptr);
        CHECK(err == SegmentError::BadVersion);
    }
    SUBCASE("group-writable") {
        Segment* seg = segment_create(name, 1, err);
        REQUIRE(seg);
        segment_unmap(seg);
        REQUIRE(chmod(path.c_str(), 0620) == 0);
        CHECK(segment_open(name, err) == nullptr);
        CHECK(err == SegmentError::BadMode);
    }
    SUBCASE("wrong size") {
        int fd = shm_open(("/faultline." + name).c_str(), O_CREAT | O_RDWR, 0600);
        REQUIRE(fd >= 0);
        REQUIRE(ftruncate(fd, 4096) == 0);
        close(fd);
        CHECK(segment_open(name, err) == nullptr);
        CHECK(err == SegmentError::BadSize);
    }
    SUBCASE("another owner") {
        if (geteuid() != 0) return; // only root can give a file away
        Segment* seg = segment_create(name, 1, err);
        REQUIRE(seg);
        segment_unmap(seg);
        REQUIRE(chown(path.c_str(), 65534, 65534) == 0);
        CHECK(segment_open(name, err) == nullptr);
        CHECK(err == SegmentError::WrongOwner);
    }
    segment_unlink(name);
}

TEST_CASE("processes: attach, detach, liveness, stale") {
    Segment* seg = segment_create_private(1);
    REQUIRE(seg);
    CHECK(segment_is_stale(seg));
    segment_attach_process(seg, getpid(), "unit");
    CHECK(segment_live_processes(seg) == 1);
    segment_attach_process(seg, getpid(), "unit"); // exec: same pid, one slot
    CHECK(segment_live_processes(seg) == 1);
    CHECK_FALSE(segment_is_stale(seg));
    pid_t child = fork();
    if (child == 0) _exit(0);
    segment_attach_process(seg, child, "child");
    int status;
    waitpid(child, &status, 0);
    CHECK(segment_live_processes(seg) == 1); // the reaped child is gone
    segment_detach_process(seg, getpid());
    CHECK(segment_is_stale(seg));
    segment_unmap(seg);
}

TEST_CASE("a writer lock held by a dead process is taken over") {
    Segment* seg = segment_create_private(1);
    REQUIRE(seg);
    pid_t child = fork();
    if (child == 0) _exit(0);
    int status;
    waitpid(child, &status, 0);
    seg->writer_lock.store(child);
    CHECK(segment_lock(seg));
    CHECK(seg->writer_lock.load() == getpid());
    segment_unlock(seg);
    segment_unmap(seg);
}
