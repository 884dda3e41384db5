// The session segment: the only channel between the controller and the shim
// (docs/segment.md). One POSIX shared-memory object per session,
// /dev/shm/faultline.<NAME>, mapped by the CLI and by every attached process.
//
// Rules of the road:
//  - fixed-width fields and lock-free atomics only (static_asserts below and
//    tests/unit/test_segment.cpp pin every offset);
//  - readers (the shim's hooks) never lock: they load the per-family armed
//    mask, then the slots it names, and check the slot's state word again
//    before acting, so a slot re-armed under them is never acted upon;
//  - writers (enable/disable, a creating shim) serialise on `writer_lock`,
//    a pid-owned spin lock that a dead owner cannot wedge;
//  - counters a hot path bumps on every call live in per-thread slots with a
//    single writer each, so that no two cores fight over a cache line.
#pragma once

#include "event_ring.h"
#include "hooks.h"
#include "latency.h"
#include "rule.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace faultline {

constexpr uint64_t kSegmentMagic = 0x314e4c544c554146ull; // "FAULTLN1"
constexpr uint32_t kAbiVersion = 6;
constexpr unsigned kMaxRules = 63; // one bit each in the armed masks
// The top bit of an armed mask: a recorder measures the family, so its hooks
// take the slow path (counting calls, bytes, latency) even with no rule.
constexpr uint64_t kObservedBit = uint64_t(1) << 63;
constexpr uint64_t kRuleBits = ~kObservedBit;
constexpr unsigned kMaxHooks = 128;
constexpr unsigned kMaxProcesses = 256;
constexpr unsigned kMaxThreadSlots = 512;
constexpr size_t kMaxSessionName = 48;

static_assert(kHookCount <= kMaxHooks);

enum class RuleState : uint8_t { Free = 0, Writing = 1, Armed = 2, Retired = 3 };

// state word: generation << 8 | RuleState. The generation changes whenever
// the slot is written, so a reader holding an old word can tell.
inline RuleState state_of(uint64_t word) {
    return RuleState(word & 0xff);
}

struct alignas(64) RuleSlot {
    std::atomic<uint64_t> state;
    uint32_t id; // session-wide rule id, printed by enable
    uint32_t pad;
    uint64_t arm_seq;                // arming order: the first armed rule wins
    int64_t armed_ns;                // CLOCK_MONOTONIC at arming
    int64_t armed_wall_ns;           // CLOCK_REALTIME at arming, for display
    std::atomic<int64_t> retired_ns; // CLOCK_MONOTONIC at retirement
    std::atomic<uint64_t> ordinal;   // matching calls, for after=/every=/nth=
    std::atomic<uint64_t> taken;     // injections reserved against times=
    std::atomic<uint64_t> injected;
    uint64_t seen_base; // thread-slot sums when armed (slots are reused)
    uint64_t matched_base;
    Rule rule;
};

// Counters for one thread: written only by the thread that owns the slot
// (plain load + store, no lock prefix), summed by readers. Threads beyond
// kMaxThreadSlots share the segment's `overflow` slot (atomic adds).
struct alignas(64) ThreadSlot {
    std::atomic<int32_t> owner_tid; // 0: free
    std::atomic<int32_t> owner_pid;
    uint8_t pad[56];
    std::atomic<uint64_t> seen[kMaxRules + 1]; // + 1: keeps the arrays 64-byte aligned
    std::atomic<uint64_t> matched[kMaxRules + 1];
    std::atomic<uint64_t> calls[kMaxHooks];
    // Measured while a recorder observes the family (kObservedBit):
    std::atomic<uint64_t> bytes[kMaxHooks];                       // requested (mem) or moved (net)
    std::atomic<uint64_t> latency_ns[kMaxHooks];                  // total time inside the call
    std::atomic<uint64_t> latency[kFamilyCount][kLatencyBuckets]; // operations only
};

// One injection, as the recorder stores it (docs/recording.md).
struct Event {
    std::atomic<uint64_t> seq; // ring protocol (event_ring.h)
    int64_t t_ns;              // CLOCK_MONOTONIC
    int32_t pid, tid;
    uint32_t rule_id;
    uint16_t hook;
    uint8_t kind; // the rule's Kind: what the injection did
    uint8_t pad;
    int64_t value;  // the code returned (errno, SQLite rc, EAI) or the delay in ns
    uint8_t traced; // a Trace with the same pid, tid and t_ns was pushed just before
    uint8_t pad2[7];
    uint64_t reserved[2];
};
static_assert(sizeof(Event) == 64);

// The raw calling stack of an injection by a trace=1 rule: return addresses,
// symbolised by the recorder (it reads /proc/PID/maps and the objects).
constexpr unsigned kTraceFrames = 12;
struct Trace {
    std::atomic<uint64_t> seq;
    int64_t t_ns;
    int32_t pid, tid;
    uint32_t frames;
    uint32_t pad;
    uint64_t ips[kTraceFrames];
};
static_assert(sizeof(Trace) == 128);

// What a CLI reports to the recorder: an outcome of `faultline mark` or one
// run of `faultline probe`, a `faultline pause` (recorded as a window), or
// the exact end of a process a `faultline run` that does not record reaped
// (its target or client: the recorder would only see it gone).
enum class OutcomeKind : uint8_t { Mark = 0, Probe = 1, Pause = 2, Exit = 3 };

// An outcome reported by `faultline mark` or `faultline probe`, a pause, or
// an exit.
struct OutcomeRecord {
    std::atomic<uint64_t> seq;
    int64_t t_ns;        // CLOCK_MONOTONIC
    int32_t pid;         // who reported it; an exit: the process that ended
    int32_t exit_code;   // a probe's exit status (128+N for signal N); a pause: processes;
                         // an exit: its wait status
    int64_t duration_ns; // a probe's run time or a pause's length, else -1; an exit:
                         // kExitStopped | kExitSelf bits
    uint8_t ok;          // an exit: 1 a target, 0 a client
    OutcomeKind kind;
    char label[94];
};
static_assert(sizeof(OutcomeRecord) == 128);

// Why a client's exchange failed (docs/metrics.md "Exchanges").
enum class ExchangeFailure : uint8_t {
    None = 0,
    Connect,    // the connect failed
    Reset,      // the connection was reset or broken (ECONNRESET, EPIPE)
    Timeout,    // the connection timed out (ETIMEDOUT)
    Error,      // another error of a send or receive
    NoResponse, // the connection ended (or was closed) before any response
    Http5xx,    // an HTTP/1.x response with a 5xx status
};
constexpr unsigned kExchangeFailureCount = 7;

// One exchange of a client process (`run --client`, role = "client"): a
// request and its response on one TCP connection, pushed by the client's
// shim as the exchange ends (shim/net/exchanges.cpp).
struct ExchangeRecord {
    std::atomic<uint64_t> seq;
    int64_t start_ns;   // CLOCK_MONOTONIC: the request's first byte (or the connect)
    int64_t latency_ns; // to the response's last byte (or the failure)
    int32_t pid;
    uint16_t http_status; // the response's HTTP/1.x status; 0: none seen
    ExchangeFailure failure;
    uint8_t pad;
};
static_assert(sizeof(ExchangeRecord) == 32);

constexpr unsigned kEventCapacity = 65536;    // 4 MiB, touched as used
constexpr unsigned kExchangeCapacity = 65536; // 2 MiB, touched as used
constexpr unsigned kOutcomeCapacity = 1024;   // 128 KiB
constexpr unsigned kTraceCapacity = 4096;     // 512 KiB

struct HookCounters {
    std::atomic<uint64_t> errors; // calls that returned an error, real or injected
    std::atomic<uint64_t> injected;
};

struct ProcessSlot {
    std::atomic<int32_t> pid; // 0: free
    uint32_t order;           // its order of attachment (segment_attach_process)
    uint64_t start_ticks;     // /proc/PID/stat starttime: tells a reused pid
    int64_t attached_ns;      // CLOCK_REALTIME
    char comm[16];
    uint8_t client; // a client of the session (run --client): never faulted, never paused
    uint8_t pad[7];
};

struct alignas(64) Segment {
    // -- header: validated before anything else is read --------------------
    std::atomic<uint64_t> magic; // written last by the creator
    uint32_t abi_version;
    // Processes ever attached (segment_attach_process): each process's
    // random stream is drawn from the seed and its order of attachment.
    // (Was padding, not validated: 0 in older segments, same layout.)
    std::atomic<uint32_t> attached_count;
    uint64_t size; // sizeof(Segment)
    uint32_t owner_uid;
    // bit k set: a rule of Kind k injected into a call it cannot act on (a
    // net.corrupt on a splice: the data never passes through the program's
    // memory), which went through unfaulted; `status` says so. (Was an
    // unused `flags`, 0 in older segments: same layout.)
    std::atomic<uint32_t> unacted_kinds;
    char name[64];
    uint64_t seed;
    int64_t created_ns;                  // CLOCK_REALTIME
    std::atomic<int32_t> controller_pid; // the `faultline run` recording it, 0 if none
    std::atomic<int32_t> writer_lock;    // pid holding the arming lock, 0 if free
    std::atomic<uint32_t> next_rule_id;
    // ns per time-stamp-counter tick (Q32), published by the recorder once
    // calibrated (common/tsc.h); 0: calls are timed with CLOCK_MONOTONIC.
    // (Was padding: segments of older versions hold 0 here, same layout.)
    std::atomic<uint32_t> tsc_ns_q32;
    std::atomic<uint64_t> next_arm_seq;
    // bit i set: rule slot i is armed and of that family. The hooks' fast
    // path is one relaxed load of their family's word.
    std::atomic<uint64_t> armed[kFamilyCount];
    // Size gate of the memory family: an allocation smaller than this can
    // match no armed mem rule, so a hook only counts it (calls, seen) and
    // goes on. 0 = no gate. Written by segment_arm before it publishes the
    // masks; never raised above an armed rule's min= (segments of older
    // versions hold 0 here: same layout, same ABI).
    std::atomic<uint64_t> mem_gate;
    int64_t created_mono_ns;            // CLOCK_MONOTONIC at creation: t = 0 of reports
    std::atomic<int32_t> recorder_pid;  // the process recording the session, 0 if none
    std::atomic<uint32_t> threads_used; // thread slots ever claimed: [0, threads_used)

    HookCounters hooks[kMaxHooks];
    ProcessSlot processes[kMaxProcesses];
    RuleSlot rules[kMaxRules];
    ThreadSlot overflow; // threads beyond kMaxThreadSlots
    ThreadSlot threads[kMaxThreadSlots];
    // Written by the shim (injections) and the CLI (marks, probes) without
    // locks; drained by the recorder.
    EventRing<Event, kEventCapacity> events;
    EventRing<OutcomeRecord, kOutcomeCapacity> outcomes;
    EventRing<Trace, kTraceCapacity> traces;
    // Clients' exchanges that ended, and of those how many failed, recorded
    // or not: `status` and `top` show them live.
    std::atomic<uint64_t> exchanges_ended;
    std::atomic<uint64_t> exchanges_failed;
    // Written by client processes' shims, drained by the recorder.
    EventRing<ExchangeRecord, kExchangeCapacity> exchanges;
    // The local ports of the session's sockets, [0] TCP [1] UDP: how many
    // sockets of the session's processes have that port (net_decide.cpp).
    // A send to a loopback peer whose port is here has its receiver in the
    // session, which judges the data (docs/rules.md "Both ends in the
    // session"). Counted by the processes themselves: one that exits
    // without closing leaves its count.
    std::atomic<uint16_t> session_ports[2][65536];
};

static_assert(std::atomic<uint64_t>::is_always_lock_free);
static_assert(std::atomic<int64_t>::is_always_lock_free);
static_assert(std::atomic<int32_t>::is_always_lock_free);
static_assert(std::atomic<uint32_t>::is_always_lock_free);
static_assert(sizeof(std::atomic<uint64_t>) == 8);
static_assert(offsetof(Segment, magic) == 0);
static_assert(offsetof(Segment, abi_version) == 8);
static_assert(offsetof(Segment, size) == 16);
static_assert(offsetof(Segment, mem_gate) == offsetof(Segment, armed) + 8 * kFamilyCount);

// -- names and files ----------------------------------------------------------

bool valid_session_name(std::string_view name);
// "/faultline.NAME" for shm_open; false if the name is invalid.
bool segment_shm_name(std::string_view name, char* out, size_t cap);

enum class SegmentError {
    None,
    BadName,
    NotFound,
    Exists,
    System, // errno says why
    WrongOwner,
    BadMode, // group/other write bits
    BadMagic,
    BadVersion,
    BadSize,
};
const char* segment_error_text(SegmentError e);

// Creates /dev/shm/faultline.NAME (mode 0600, O_EXCL) and initialises it.
Segment* segment_create(std::string_view name, uint64_t seed, SegmentError& err);
// Who may open a session's segment besides its owner: nobody (the shim: a
// process never takes rules from a segment another user can write), or also
// root (the controller: root controls any user's session, a service running
// as `postgres` included).
enum class Opener { OwnerOnly, OwnerOrRoot };

// Maps an existing segment after checking owner, mode, magic, version, size.
// Waits up to ~200 ms for a creator that has not finished initialising.
Segment* segment_open(std::string_view name, SegmentError& err, Opener who = Opener::OwnerOnly);
// Checks a mapped header (the owner/mode checks need the fd: segment_open).
SegmentError segment_check_header(const Segment* seg, size_t mapped);
// A private, anonymous segment shared only with forked children (the shim's
// FAULTLINE_RULES-without-a-session mode).
Segment* segment_create_private(uint64_t seed);
void segment_unmap(Segment* seg);
bool segment_unlink(std::string_view name);
// The user who owns session NAME's segment file; false when there is none.
bool segment_owner(std::string_view name, uint32_t& uid);

// -- writers --------------------------------------------------------------------

bool segment_lock(Segment* seg);
void segment_unlock(Segment* seg);

// Arms rules[0..n) all or nothing; fills ids[] and fills in generated names.
// Returns false (nothing armed) when there are not enough free slots or a
// name is already armed; `why` says which.
bool segment_arm(Segment* seg, Rule* rules, size_t n, uint32_t* ids, const char*& why);
// Disarms by id or name. Returns the number of rules disarmed.
unsigned segment_disarm(Segment* seg, std::string_view id_or_name);
unsigned segment_disarm_all(Segment* seg);
// Retires one slot if it still holds the rule `word` was read from; used by
// readers for times= and for= (no lock: a CAS on the state word).
bool segment_retire(Segment* seg, unsigned slot, uint64_t word, int64_t now_ns);

// -- processes -------------------------------------------------------------------

// Registers pid (a new process, or a new image after exec: same pid, same
// slot); returns its order of attachment in the session (0, 1, 2...), which
// an exec keeps.
uint32_t segment_attach_process(Segment* seg, int32_t pid, const char* comm, bool client = false);
void segment_detach_process(Segment* seg, int32_t pid);
uint64_t process_start_ticks(int32_t pid); // 0 if the process is gone
bool process_alive(int32_t pid, uint64_t start_ticks);
// Attached processes still alive, and whether the controller is.
unsigned segment_live_processes(const Segment* seg);
bool segment_is_stale(const Segment* seg);

// -- counters ------------------------------------------------------------------------

struct RuleCounters {
    uint64_t seen, matched, injected;
};
RuleCounters segment_rule_counters(const Segment* seg, unsigned slot);
uint64_t segment_hook_calls(const Segment* seg, unsigned hook);

// Every thread slot's per-function and latency counters, summed (for the
// recorder's samples and `status`).
struct ThreadTotals {
    uint64_t calls[kMaxHooks], bytes[kMaxHooks], latency_ns[kMaxHooks];
    uint64_t latency[kFamilyCount][kLatencyBuckets];
};
void segment_sum_threads(const Segment* seg, ThreadTotals& out);

// -- recording -------------------------------------------------------------------------

// Claims the recorder role for `pid` (free, or held by a dead process) and sets
// the observed bit of every family; false when another live process records.
bool segment_start_recording(Segment* seg, int32_t pid);
void segment_stop_recording(Segment* seg, int32_t pid);
bool segment_recorded(const Segment* seg); // a recorder is attached
// faultline sweep's profile run: every call of the families in `families`
// (bit 1 << Family) takes the observe path, the malloc family's size gate
// open, with no recorder attached (docs/sweep.md).
bool segment_observe_all(Segment* seg, uint32_t families);

// Pushes an outcome (mark or probe); false (and counted as dropped) when full.
bool segment_push_outcome(Segment* seg, bool ok, OutcomeKind kind, int32_t exit_code,
                          int64_t duration_ns, std::string_view label);

// An exit's flags (OutcomeRecord::duration_ns): faultline stopped it (the
// end of a run); the process said it itself as it called exit() (its status
// exact, its role not known), not the run that reaped it.
constexpr int64_t kExitStopped = 1, kExitSelf = 2;

// Records the end of process `pid` (`comm`) with `wait_status`: reaped by a
// `faultline run` that does not record (a target, or a client), or (self)
// told by the process as it exits.
bool segment_push_exit(Segment* seg, int32_t pid, int wait_status, bool target, bool stopped,
                       std::string_view comm, bool self = false);

// Records a pause of `processes` processes from `start_ns` (CLOCK_MONOTONIC)
// for `duration_ns`, for the recorder, under `name` (the report's window).
bool segment_push_pause(Segment* seg, int64_t start_ns, int64_t duration_ns, int32_t processes,
                        std::string_view name);

int64_t monotonic_ns();
int64_t realtime_ns();

} // namespace faultline
