#include "segment.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

// Everything here may run inside the shim: raw system calls, no allocation,
// no stdio beyond snprintf into caller buffers.

namespace faultline {

int64_t monotonic_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int64_t realtime_ns() {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

bool valid_session_name(std::string_view name) {
    if (name.empty() || name.size() > kMaxSessionName) return false;
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    return name[0] != '.';
}

bool segment_shm_name(std::string_view name, char* out, size_t cap) {
    if (!valid_session_name(name)) return false;
    int n = snprintf(out, cap, "/faultline.%.*s", int(name.size()), name.data());
    return n > 0 && size_t(n) < cap;
}

const char* segment_error_text(SegmentError e) {
    switch (e) {
    case SegmentError::None:
        return "no error";
    case SegmentError::BadName:
        return "invalid session name (letters, digits, '_', '-', '.')";
    case SegmentError::NotFound:
        return "no such session";
    case SegmentError::Exists:
        return "session already exists";
    case SegmentError::System:
        return strerror(errno);
    case SegmentError::WrongOwner:
        return "segment belongs to another user";
    case SegmentError::BadMode:
        return "segment is writable by group or others";
    case SegmentError::BadMagic:
        return "not a faultline segment (bad magic)";
    case SegmentError::BadVersion:
        return "segment from another faultline version (ABI)";
    case SegmentError::BadSize:
        return "segment has the wrong size";
    }
    return "?";
}

namespace {

void init_segment(Segment* seg, std::string_view name, uint64_t seed) {
    // The mapping is fresh zero pages: only non-zero fields need writing.
    seg->abi_version = kAbiVersion;
    seg->size = sizeof(Segment);
    seg->owner_uid = uint32_t(geteuid());
    size_t n = name.size() < sizeof seg->name - 1 ? name.size() : sizeof seg->name - 1;
    memcpy(seg->name, name.data(), n);
    seg->seed = seed;
    seg->created_ns = realtime_ns();
    seg->created_mono_ns = monotonic_ns();
    seg->next_rule_id.store(1, std::memory_order_relaxed);
    seg->next_arm_seq.store(1, std::memory_order_relaxed);
    seg->magic.store(kSegmentMagic, std::memory_order_release);
}

void sleep_us(long us) {
    timespec ts{0, us * 1000};
    nanosleep(&ts, nullptr);
}

} // namespace

SegmentError segment_check_header(const Segment* seg, size_t mapped) {
    if (mapped < sizeof(uint64_t) * 3) return SegmentError::BadSize;
    if (seg->magic.load(std::memory_order_acquire) != kSegmentMagic) return SegmentError::BadMagic;
    if (seg->abi_version != kAbiVersion) return SegmentError::BadVersion;
    if (seg->size != sizeof(Segment) || mapped != sizeof(Segment)) return SegmentError::BadSize;
    return SegmentError::None;
}

Segment* segment_create(std::string_view name, uint64_t seed, SegmentError& err) {
    char path[80];
    if (!segment_shm_name(name, path, sizeof path)) {
        err = SegmentError::BadName;
        return nullptr;
    }
    int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        err = errno == EEXIST ? SegmentError::Exists : SegmentError::System;
        return nullptr;
    }
    // The umask may have removed bits, never added: 0600 stands, but be sure.
    fchmod(fd, 0600);
    if (ftruncate(fd, sizeof(Segment)) != 0) {
        int e = errno;
        close(fd);
        shm_unlink(path);
        errno = e;
        err = SegmentError::System;
        return nullptr;
    }
    void* p = mmap(nullptr, sizeof(Segment), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) {
        shm_unlink(path);
        errno = e;
        err = SegmentError::System;
        return nullptr;
    }
    auto* seg = static_cast<Segment*>(p);
    init_segment(seg, name, seed);
    err = SegmentError::None;
    return seg;
}

Segment* segment_open(std::string_view name, SegmentError& err, Opener who) {
    char path[80];
    if (!segment_shm_name(name, path, sizeof path)) {
        err = SegmentError::BadName;
        return nullptr;
    }
    int fd = shm_open(path, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0) {
        // Mode 0600: EACCES is another user's segment.
        err = errno == ENOENT   ? SegmentError::NotFound
              : errno == EACCES ? SegmentError::WrongOwner
                                : SegmentError::System;
        return nullptr;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        err = SegmentError::System;
        close(fd);
        return nullptr;
    }
    if (st.st_uid != geteuid() && !(who == Opener::OwnerOrRoot && geteuid() == 0)) {
        close(fd);
        err = SegmentError::WrongOwner;
        return nullptr;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        close(fd);
        err = SegmentError::BadMode;
        return nullptr;
    }
    // A creator between shm_open and ftruncate: give it a moment.
    for (int i = 0; i < 200 && size_t(st.st_size) == 0; ++i) {
        sleep_us(1000);
        fstat(fd, &st);
    }
    if (size_t(st.st_size) != sizeof(Segment)) {
        close(fd);
        err = SegmentError::BadSize;
        return nullptr;
    }
    void* p = mmap(nullptr, sizeof(Segment), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        err = SegmentError::System;
        return nullptr;
    }
    auto* seg = static_cast<Segment*>(p);
    for (int i = 0; i < 200 && seg->magic.load(std::memory_order_acquire) == 0; ++i) sleep_us(1000);
    err = segment_check_header(seg, sizeof(Segment));
    if (err != SegmentError::None) {
        munmap(p, sizeof(Segment));
        return nullptr;
    }
    return seg;
}

Segment* segment_create_private(uint64_t seed) {
    void* p = mmap(nullptr, sizeof(Segment), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    auto* seg = static_cast<Segment*>(p);
    init_segment(seg, "(private)", seed);
    return seg;
}

void segment_unmap(Segment* seg) {
    if (seg) munmap(seg, sizeof(Segment));
}

bool segment_owner(std::string_view name, uint32_t& uid) {
    char path[80], file[96];
    if (!segment_shm_name(name, path, sizeof path)) return false;
    snprintf(file, sizeof file, "/dev/shm%s", path);
    struct stat st;
    if (stat(file, &st) != 0) return false;
    uid = uint32_t(st.st_uid);
    return true;
}

bool segment_unlink(std::string_view name) {
    char path[80];
    return segment_shm_name(name, path, sizeof path) && shm_unlink(path) == 0;
}

// -- writers ---------------------------------------------------------------------

bool segment_lock(Segment* seg) {
    int32_t me = int32_t(getpid());
    // Bounded: 2 s of 100 us naps. A holder that died is robbed.
    for (int i = 0; i < 20000; ++i) {
        int32_t expected = 0;
        if (seg->writer_lock.compare_exchange_strong(expected, me, std::memory_order_acquire))
            return true;
        if (expected != me && kill(expected, 0) != 0 && errno == ESRCH &&
            seg->writer_lock.compare_exchange_strong(expected, me, std::memory_order_acquire))
            return true;
        sleep_us(100);
    }
    return false;
}

void segment_unlock(Segment* seg) {
    seg->writer_lock.store(0, std::memory_order_release);
}

namespace {

// Sums one counter over the overflow slot and every thread slot ever claimed.
template <class Field> uint64_t sum_threads(const Segment* seg, Field&& field) {
    uint64_t s = field(seg->overflow).load(std::memory_order_relaxed);
    unsigned used = seg->threads_used.load(std::memory_order_acquire);
    for (unsigned i = 0; i < used && i < kMaxThreadSlots; ++i)
        s += field(seg->threads[i]).load(std::memory_order_relaxed);
    return s;
}

uint64_t sum_seen(const Segment* seg, unsigned slot) {
    return sum_threads(
        seg, [slot](const ThreadSlot& t) -> auto& { return t.seen[slot]; });
}

uint64_t sum_matched(const Segment* seg, unsigned slot) {
    return sum_threads(
        seg, [slot](const ThreadSlot& t) -> auto& { return t.matched[slot]; });
}

bool name_armed(const Segment* seg, const char* name) {
    for (auto& r : seg->rules)
        if (state_of(r.state.load(std::memory_order_acquire)) == RuleState::Armed &&
            strncmp(r.rule.name, name, sizeof r.rule.name) == 0)
            return true;
    return false;
}

// Free slots first, then the longest retired: a reader still holding an old
// state word of a reused slot sees the generation change and backs off.
int pick_slot(const Segment* seg, const bool* taken) {
    int best = -1;
    int64_t best_retired = INT64_MAX;
    for (unsigned i = 0; i < kMaxRules; ++i) {
        if (taken[i]) continue;
        RuleState s = state_of(seg->rules[i].state.load(std::memory_order_acquire));
        if (s == RuleState::Free) return int(i);
        if (s == RuleState::Retired) {
            int64_t r = seg->rules[i].retired_ns.load(std::memory_order_relaxed);
            if (r < best_retired) {
                best_retired = r;
                best = int(i);
            }
        }
    }
    return best;
}

// Smallest size any armed mem rule can act on; 0 when one must see every
// call (mem.ballast takes/releases on any call, start=/for= retire on a call).
uint64_t mem_gate_of(const Segment* seg) {
    uint64_t gate = UINT64_MAX;
    for (unsigned i = 0; i < kMaxRules; ++i) {
        const RuleSlot& s = seg->rules[i];
        if (state_of(s.state.load(std::memory_order_acquire)) != RuleState::Armed) continue;
        const Rule& r = s.rule;
        if (kind_family(r.kind) != Family::Mem) continue;
        uint64_t g = r.min_size;
        if (r.kind == Kind::MemBallast || r.start_ns || r.for_ns) g = 0;
        gate = g < gate ? g : gate;
    }
    return gate;
}

} // namespace

bool segment_arm(Segment* seg, Rule* rules, size_t n, uint32_t* ids, const char*& why) {
    if (n > kMaxRules) {
        why = "too many rules";
        return false;
    }
    if (!segment_lock(seg)) {
        why = "the session's arming lock is held by a live process";
        return false;
    }
    bool taken[kMaxRules] = {};
    int slots[kMaxRules];
    for (size_t i = 0; i < n; ++i) {
        slots[i] = pick_slot(seg, taken);
        if (slots[i] < 0) {
            segment_unlock(seg);
            why = "no free rule slot (63 rules at most): disable some first";
            return false;
        }
        taken[slots[i]] = true;
        if (rules[i].name[0]) {
            bool twice = name_armed(seg, rules[i].name);
            for (size_t j = 0; j < i; ++j)
                twice = twice || strcmp(rules[j].name, rules[i].name) == 0;
            if (twice) {
                segment_unlock(seg);
                why = "a rule with this name is already armed";
                return false;
            }
        }
    }
    int64_t now = monotonic_ns(), wall = realtime_ns();
    for (size_t i = 0; i < n; ++i) {
        RuleSlot& s = seg->rules[slots[i]];
        uint64_t old = s.state.load(std::memory_order_acquire);
        uint64_t gen = (old >> 8) + 1;
        // Acquire as well as release: the rule's bytes written below stay
        // after the Writing mark (a seqlock writer; an RMW, not a fence,
        // which ThreadSanitizer cannot follow).
        s.state.exchange(gen << 8 | uint64_t(RuleState::Writing), std::memory_order_acq_rel);
        uint32_t id = seg->next_rule_id.fetch_add(1, std::memory_order_relaxed);
        if (!rules[i].name[0]) snprintf(rules[i].name, sizeof rules[i].name, "r%u", id);
        s.id = id;
        s.arm_seq = seg->next_arm_seq.fetch_add(1, std::memory_order_relaxed);
        s.armed_ns = now;
        s.armed_wall_ns = wall;
        s.retired_ns.store(0, std::memory_order_relaxed);
        s.ordinal.store(0, std::memory_order_relaxed);
        s.taken.store(0, std::memory_order_relaxed);
        s.injected.store(0, std::memory_order_relaxed);
        s.seen_base = sum_seen(seg, unsigned(slots[i]));
        s.matched_base = sum_matched(seg, unsigned(slots[i]));
        memcpy(&s.rule, &rules[i], sizeof(Rule));
        s.state.store(gen << 8 | uint64_t(RuleState::Armed), std::memory_order_release);
        ids[i] = id;
    }
    // The memory size gate covers every armed mem rule, old and new, and is
    // published before the masks: a hook that sees a new bit sees its gate.
    seg->mem_gate.store(mem_gate_of(seg), std::memory_order_release);
    // Publish all at once, family by family: a multi-rule enable is seen whole.
    uint64_t masks[kFamilyCount] = {};
    for (size_t i = 0; i < n; ++i)
        masks[unsigned(kind_family(rules[i].kind))] |= uint64_t(1) << slots[i];
    for (unsigned f = 0; f < kFamilyCount; ++f)
        if (masks[f]) seg->armed[f].fetch_or(masks[f], std::memory_order_release);
    segment_unlock(seg);
    return true;
}

bool segment_retire(Segment* seg, unsigned slot, uint64_t word, int64_t now_ns) {
    if (state_of(word) != RuleState::Armed) return false;
    RuleSlot& s = seg->rules[slot];
    // Clear the mask bit first so that no new reader picks the slot up.
    uint64_t retired = (word & ~uint64_t(0xff)) | uint64_t(RuleState::Retired);
    uint64_t expected = word;
    if (!s.state.compare_exchange_strong(expected, retired, std::memory_order_acq_rel))
        return false;
    seg->armed[unsigned(kind_family(s.rule.kind))].fetch_and(~(uint64_t(1) << slot),
                                                             std::memory_order_release);
    s.retired_ns.store(now_ns, std::memory_order_relaxed);
    return true;
}

unsigned segment_disarm(Segment* seg, std::string_view id_or_name) {
    uint64_t id = 0;
    bool numeric = !id_or_name.empty();
    for (char c : id_or_name) {
        numeric = numeric && c >= '0' && c <= '9';
        if (numeric) id = id * 10 + uint64_t(c - '0');
    }
    unsigned n = 0;
    int64_t now = monotonic_ns();
    for (unsigned i = 0; i < kMaxRules; ++i) {
        RuleSlot& s = seg->rules[i];
        uint64_t word = s.state.load(std::memory_order_acquire);
        if (state_of(word) != RuleState::Armed) continue;
        bool hit = numeric ? s.id == id
                           : id_or_name.size() < sizeof s.rule.name &&
                                 strncmp(s.rule.name, id_or_name.data(), id_or_name.size()) == 0 &&
                                 s.rule.name[id_or_name.size()] == 0;
        if (hit && segment_retire(seg, i, word, now)) ++n;
    }
    return n;
}

unsigned segment_disarm_all(Segment* seg) {
    // Masks first: from this store on no hook starts evaluating a rule. (A
    // recorder's observed bit stays.)
    for (auto& m : seg->armed) m.fetch_and(kObservedBit, std::memory_order_release);
    unsigned n = 0;
    int64_t now = monotonic_ns();
    for (unsigned i = 0; i < kMaxRules; ++i) {
        uint64_t word = seg->rules[i].state.load(std::memory_order_acquire);
        if (segment_retire(seg, i, word, now)) ++n;
    }
    return n;
}

// -- processes -----------------------------------------------------------------------

uint64_t process_start_ticks(int32_t pid) {
    char path[48];
    snprintf(path, sizeof path, "/proc/%d/stat", int(pid));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char buf[1024];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    // Field 2 (comm) may hold spaces and parentheses: count from the last ')'.
    char* p = strrchr(buf, ')');
    if (!p) return 0;
    // starttime is field 22; after ')' comes field 3.
    int field = 2;
    for (; *p && field < 22; ++p)
        if (*p == ' ') ++field;
    uint64_t v = 0;
    for (; *p >= '0' && *p <= '9'; ++p) v = v * 10 + uint64_t(*p - '0');
    return v;
}

bool process_alive(int32_t pid, uint64_t start_ticks) {
    if (pid <= 0) return false;
    if (kill(pid, 0) != 0 && errno == ESRCH) return false;
    uint64_t now = process_start_ticks(pid);
    // A zombie or a process of another user still reads; 0 means gone.
    return now != 0 && (start_ticks == 0 || now == start_ticks);
}

uint32_t segment_attach_process(Segment* seg, int32_t pid, const char* comm, bool client) {
    uint64_t ticks = process_start_ticks(pid);
    auto fill = [&](ProcessSlot& p) {
        p.start_ticks = ticks;
        p.attached_ns = realtime_ns();
        p.client = client;
        strncpy(p.comm, comm ? comm : "", sizeof p.comm - 1);
        p.comm[sizeof p.comm - 1] = 0;
    };
    // exec keeps the pid: refresh its slot, keep its order.
    for (auto& p : seg->processes)
        if (p.pid.load(std::memory_order_acquire) == pid) {
            fill(p);
            return p.order;
        }
    uint32_t order = seg->attached_count.fetch_add(1, std::memory_order_relaxed);
    for (int pass = 0; pass < 2; ++pass)
        for (auto& p : seg->processes) {
            int32_t cur = p.pid.load(std::memory_order_acquire);
            // Second pass: reclaim slots of processes that died without detaching.
            if (cur != 0 && !(pass == 1 && !process_alive(cur, p.start_ticks))) continue;
            if (p.pid.compare_exchange_strong(cur, pid, std::memory_order_acq_rel)) {
                fill(p);
                p.order = order;
                return order;
            }
        }
    return order; // no slot free: not listed, still its own stream
}

void segment_detach_process(Segment* seg, int32_t pid) {
    for (auto& p : seg->processes) {
        int32_t cur = pid;
        p.pid.compare_exchange_strong(cur, 0, std::memory_order_acq_rel);
    }
}

unsigned segment_live_processes(const Segment* seg) {
    unsigned n = 0;
    for (auto& p : seg->processes) {
        int32_t pid = p.pid.load(std::memory_order_acquire);
        if (pid && process_alive(pid, p.start_ticks)) ++n;
    }
    return n;
}

bool segment_is_stale(const Segment* seg) {
    int32_t ctl = seg->controller_pid.load(std::memory_order_acquire);
    if (ctl && process_alive(ctl, 0)) return false;
    return segment_live_processes(seg) == 0;
}

// -- counters -------------------------------------------------------------------------

RuleCounters segment_rule_counters(const Segment* seg, unsigned slot) {
    const RuleSlot& s = seg->rules[slot];
    RuleCounters c;
    // matched first: a call counted between the two reads then shows in seen
    // only, so that seen >= matched holds in every snapshot.
    c.matched = sum_matched(seg, slot) - s.matched_base;
    c.seen = sum_seen(seg, slot) - s.seen_base;
    c.injected = s.injected.load(std::memory_order_relaxed);
    return c;
}

uint64_t segment_hook_calls(const Segment* seg, unsigned hook) {
    return sum_threads(
        seg, [hook](const ThreadSlot& t) -> auto& { return t.calls[hook]; });
}

void segment_sum_threads(const Segment* seg, ThreadTotals& out) {
    out = ThreadTotals{};
    auto add = [&out](const ThreadSlot& t) {
        for (unsigned h = 0; h < kHookCount; ++h) {
            out.calls[h] += t.calls[h].load(std::memory_order_relaxed);
            out.bytes[h] += t.bytes[h].load(std::memory_order_relaxed);
            out.latency_ns[h] += t.latency_ns[h].load(std::memory_order_relaxed);
        }
        for (unsigned f = 0; f < kFamilyCount; ++f)
            for (unsigned b = 0; b < kLatencyBuckets; ++b)
                out.latency[f][b] += t.latency[f][b].load(std::memory_order_relaxed);
    };
    add(seg->overflow);
    unsigned used = seg->threads_used.load(std::memory_order_acquire);
    for (unsigned i = 0; i < used && i < kMaxThreadSlots; ++i) add(seg->threads[i]);
}

// -- recording -------------------------------------------------------------------------

bool segment_start_recording(Segment* seg, int32_t pid) {
    int32_t cur = seg->recorder_pid.load(std::memory_order_acquire);
    for (;;) {
        if (cur == pid) break;
        if (cur != 0 && (kill(cur, 0) == 0 || errno != ESRCH)) return false;
        if (seg->recorder_pid.compare_exchange_weak(cur, pid, std::memory_order_acq_rel)) break;
    }
    // Observed allocations below every mem rule's size only count: a gate
    // published before the observed bits (under the arming lock, as arming
    // does).
    if (!segment_lock(seg)) {
        seg->recorder_pid.store(0, std::memory_order_release);
        return false;
    }
    seg->mem_gate.store(mem_gate_of(seg), std::memory_order_release);
    for (auto& m : seg->armed) m.fetch_or(kObservedBit, std::memory_order_release);
    segment_unlock(seg);
    return true;
}

void segment_stop_recording(Segment* seg, int32_t pid) {
    int32_t cur = pid;
    if (!seg->recorder_pid.compare_exchange_strong(cur, 0, std::memory_order_acq_rel)) return;
    for (auto& m : seg->armed) m.fetch_and(kRuleBits, std::memory_order_release);
}

bool segment_observe_all(Segment* seg, uint32_t families) {
    if (!segment_lock(seg)) return false;
    seg->mem_gate.store(0, std::memory_order_release);
    for (unsigned f = 0; f < kFamilyCount; ++f)
        if (families & (1u << f)) seg->armed[f].fetch_or(kObservedBit, std::memory_order_release);
    segment_unlock(seg);
    return true;
}

bool segment_recorded(const Segment* seg) {
    return seg->recorder_pid.load(std::memory_order_relaxed) != 0;
}

bool segment_push_outcome(Segment* seg, bool ok, OutcomeKind kind, int32_t exit_code,
                          int64_t duration_ns, std::string_view label) {
    int64_t now = monotonic_ns();
    int32_t pid = int32_t(getpid());
    return seg->outcomes.push([&](OutcomeRecord& r) {
        r.t_ns = now;
        r.pid = pid;
        r.exit_code = exit_code;
        r.duration_ns = duration_ns;
        r.ok = ok;
        r.kind = kind;
        size_t n = label.size() < sizeof r.label - 1 ? label.size() : sizeof r.label - 1;
        memcpy(r.label, label.data(), n);
        r.label[n] = 0;
    });
}

bool segment_push_exit(Segment* seg, int32_t pid, int wait_status, bool target, bool stopped,
                       std::string_view comm, bool self) {
    int64_t now = monotonic_ns();
    return seg->outcomes.push([&](OutcomeRecord& r) {
        r.t_ns = now;
        r.pid = pid;
        r.exit_code = wait_status;
        r.duration_ns = (stopped ? kExitStopped : 0) | (self ? kExitSelf : 0);
        r.ok = target;
        r.kind = OutcomeKind::Exit;
        size_t n = comm.size() < sizeof r.label - 1 ? comm.size() : sizeof r.label - 1;
        memcpy(r.label, comm.data(), n);
        r.label[n] = 0;
    });
}

bool segment_push_pause(Segment* seg, int64_t start_ns, int64_t duration_ns, int32_t processes,
                        std::string_view name) {
    int32_t pid = int32_t(getpid());
    return seg->outcomes.push([&](OutcomeRecord& r) {
        r.t_ns = start_ns;
        r.pid = pid;
        r.exit_code = processes;
        r.duration_ns = duration_ns;
        r.ok = 1;
        r.kind = OutcomeKind::Pause;
        size_t n = name.size() < sizeof r.label - 1 ? name.size() : sizeof r.label - 1;
        memcpy(r.label, name.data(), n);
        r.label[n] = 0;
    });
}

} // namespace faultline
