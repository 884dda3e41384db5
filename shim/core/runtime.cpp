// The shim's life cycle: attach to a session at load, follow fork, give each
// thread its counters and random stream. Nothing is torn down at exit: hooks
// keep running after our destructors (docs/pitfalls.md, item 4).

#include "shim/core/runtime.h"

#include "common/rule_parser.h"
#include "shim/core/caller.h"
#include "shim/core/log.h"
#include "shim/core/sites.h"
#include "shim/core/thread_state.h"
#include "shim/core/trigger.h"
#include "shim/net/exchanges.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char** environ;

// The faultline CLI exports this symbol: the shim never faults the tool
// that controls it (README: the CLI is never faulted), even when a faulted script calls it.
extern "C" __attribute__((weak)) int faultline_cli_marker;

namespace faultline::shim {

namespace {
std::atomic<uint64_t> g_no_rules[kFamilyCount];
std::atomic<uint32_t> g_thread_ordinals{0};
uint32_t g_forks = 0;
pthread_key_t g_slot_key;
bool g_slot_key_ok = false;
bool g_quiet = false;
bool g_no_inherit = false; // run --no-inherit: children run without faults
// A client's masks (g_client): the network observed, nothing armed anywhere.
std::atomic<uint64_t> g_client_masks[kFamilyCount];
} // namespace

std::atomic<std::atomic<uint64_t>*> g_armed{g_no_rules};
Segment* g_segment = nullptr;
bool g_client = false;
int32_t g_pid = 0;

bool in_vfork_child() {
    return g_pid != 0 && int32_t(syscall(SYS_getpid)) != g_pid;
}
std::atomic<uint32_t> g_process_gen{1};
char g_comm[16];
uint64_t g_lineage = 0;

__thread ThreadState tls __attribute__((tls_model("initial-exec")));

void warn(const char* a, const char* b, const char* c) {
    if (g_quiet) return;
    char buf[512];
    size_t n = 0;
    for (const char* part : {"faultline: shim: ", a, b, c, "\n"})
        for (; *part && n < sizeof buf - 1; ++part) buf[n++] = *part;
    syscall(SYS_write, 2, buf, n);
}

namespace {

uint64_t mix(uint64_t a, uint64_t b) {
    uint64_t z = a ^ (b + 0x9e3779b97f4a7c15ull + (a << 6) + (a >> 2));
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t hash_text(const char* s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; ++s) h = (h ^ uint8_t(*s)) * 1099511628211ull;
    return h;
}

void release_slot(void*) {
    ThreadState& ts = tls;
    if (ts.slot && ts.ready && ts.process_gen == g_process_gen.load(std::memory_order_relaxed))
        ts.slot->owner_tid.store(0, std::memory_order_release);
    ts.slot = nullptr;
    ts.ready = false;
}

ThreadSlot* claim_slot(Segment* seg, int32_t tid, int32_t pid) {
    for (int pass = 0; pass < 2; ++pass)
        for (auto& s : seg->threads) {
            int32_t owner = s.owner_tid.load(std::memory_order_relaxed);
            if (owner != 0) {
                // Second pass: slots of threads that are gone (killed process,
                // thread that exited before its key destructor ran).
                if (pass == 0) continue;
                int32_t opid = s.owner_pid.load(std::memory_order_relaxed);
                if (syscall(SYS_tgkill, opid, owner, 0) == 0 || errno != ESRCH) continue;
            }
            if (s.owner_tid.compare_exchange_strong(owner, tid, std::memory_order_acq_rel)) {
                s.owner_pid.store(pid, std::memory_order_relaxed);
                // Readers sum slots [0, threads_used): raise it past this one.
                uint32_t index = uint32_t(&s - seg->threads) + 1;
                uint32_t used = seg->threads_used.load(std::memory_order_relaxed);
                while (used < index && !seg->threads_used.compare_exchange_weak(
                                           used, index, std::memory_order_acq_rel)) {
                }
                return &s;
            }
        }
    return nullptr;
}

void after_fork_prepare() {
    ++g_forks;
}

void after_fork_child() {
    // Only the forking thread lives on: its slot belongs to the parent's
    // thread, its stream must differ from the parent's (docs/pitfalls.md, item 5).
    g_process_gen.fetch_add(1, std::memory_order_relaxed);
    g_pid = int32_t(syscall(SYS_getpid));
    g_lineage = mix(g_lineage, g_forks);
    g_forks = 0;
    g_thread_ordinals.store(0, std::memory_order_relaxed);
    tls.ready = false;
    tls.slot = nullptr;
    if (g_no_inherit) {
        // Forked children stay outside the session, like exec'd ones.
        g_armed.store(g_no_rules, std::memory_order_release);
        g_segment = nullptr;
        return;
    }
    if (g_segment) segment_attach_process(g_segment, int32_t(getpid()), g_comm, g_client);
}

// Removes our own entry from LD_PRELOAD and drops FAULTLINE_* (run
// --no-inherit): edits environ in place, no allocation.
void strip_environment(const char* self_path) {
    char** out = environ;
    for (char** e = environ; *e; ++e) {
        if (strncmp(*e, "FAULTLINE_", 10) == 0) continue;
        if (strncmp(*e, "LD_PRELOAD=", 11) == 0 && self_path) {
            // Rewrite "LD_PRELOAD=a:self:b" into "LD_PRELOAD=a:b" in place.
            char* v = *e + 11;
            char* w = v;
            char* r = v;
            while (*r) {
                char* end = r;
                while (*end && *end != ':' && *end != ' ') ++end;
                size_t len = size_t(end - r);
                bool self = len == strlen(self_path) && strncmp(r, self_path, len) == 0;
                if (!self && len) {
                    if (w != v) *w++ = ':';
                    memmove(w, r, len);
                    w += len;
                }
                r = *end ? end + 1 : end;
            }
            *w = 0;
            if (!*v) continue;
        }
        *out++ = *e;
    }
    *out = nullptr;
}

const char* own_path() {
    // The path ld.so loaded us from, as written in LD_PRELOAD.
    Dl_info info;
    if (dladdr(reinterpret_cast<void*>(&own_path), &info) && info.dli_fname) return info.dli_fname;
    return nullptr;
}

uint64_t fresh_seed() {
    uint64_t s = 0;
    if (getrandom(&s, sizeof s, GRND_NONBLOCK) != sizeof s) s = uint64_t(monotonic_ns());
    return s;
}

bool arm_environment_rules(Segment* seg, const char* text) {
    static Rule rules[kMaxRules]; // 56 KiB: keep it off a small main stack
    size_t n = 0;
    ParseError err;
    if (!parse_rules(text, rules, kMaxRules, n, err)) {
        warn("FAULTLINE_RULES: '", err.token, "': nothing armed");
        warn("  why: ", err.why);
        return false;
    }
    uint32_t ids[kMaxRules];
    const char* why = nullptr;
    if (!segment_arm(seg, rules, n, ids, why)) {
        warn("FAULTLINE_RULES: ", why);
        return false;
    }
    return true;
}

Segment* attach_session(const char* name, const char* rules) {
    SegmentError err;
    Segment* seg = segment_open(name, err);
    if (!seg && err == SegmentError::NotFound) {
        const char* seed_env = getenv("FAULTLINE_SEED");
        uint64_t seed = seed_env ? strtoull(seed_env, nullptr, 10) : fresh_seed();
        seg = segment_create(name, seed, err);
        if (seg) {
            if (rules && *rules) arm_environment_rules(seg, rules);
            return seg;
        }
        if (err == SegmentError::Exists) seg = segment_open(name, err); // lost the race
    }
    if (!seg) warn("session ", name, err == SegmentError::System ? ": cannot open" : "");
    if (!seg) warn("  why: ", segment_error_text(err), " (no faults will be injected)");
    return seg;
}

// A process of the session says how it exits (exit(), or returning from
// main): its parent may reap it before the recorder's next sample, which
// would find it gone, status not known. Killed by a signal, it says nothing.
void on_process_exit(int status, void*) {
    Segment* seg = g_segment;
    if (!seg || !seg->recorder_pid.load(std::memory_order_relaxed) || in_vfork_child()) return;
    segment_push_exit(seg, int32_t(getpid()), (status & 0xff) << 8, false, false, g_comm, true);
}

__attribute__((constructor(101))) void shim_init() {
    int saved_errno = errno;
    g_stack_capture = capture_stack; // trace=1
    const char* quiet = getenv("FAULTLINE_QUIET");
    g_quiet = quiet && *quiet == '1';
    if (&faultline_cli_marker != nullptr) {
        // The controller itself: stay dormant. A shell forks, attaches, then
        // execs the CLI under the same pid: take that pid off the session.
        const char* name = getenv("FAULTLINE_SESSION");
        SegmentError err;
        if (Segment* seg = name && *name ? segment_open(name, err) : nullptr) {
            segment_detach_process(seg, int32_t(getpid()));
            segment_unmap(seg);
        }
        errno = saved_errno;
        return;
    }
    prctl(PR_GET_NAME, g_comm, 0, 0, 0);
    g_lineage = hash_text(g_comm);

    const char* session = getenv("FAULTLINE_SESSION");
    const char* rules = getenv("FAULTLINE_RULES");
    Segment* seg = nullptr;
    if (session && *session) {
        seg = attach_session(session, rules);
    } else if (rules && *rules) {
        const char* seed_env = getenv("FAULTLINE_SEED");
        seg = segment_create_private(seed_env ? strtoull(seed_env, nullptr, 10) : fresh_seed());
        if (seg && !arm_environment_rules(seg, rules)) seg = nullptr;
    }
    const char* no_inherit = getenv("FAULTLINE_NO_INHERIT");
    g_no_inherit = no_inherit && *no_inherit == '1';
    if (g_no_inherit) strip_environment(own_path());

    if (seg) {
        // Resolve the originals now, while the process is most likely single
        // threaded: a first dlsym in the child of a threaded fork could wait
        // forever on a loader lock held by a thread that is gone.
        resolve_originals_early();
        const char* client = getenv("FAULTLINE_CLIENT");
        g_client = client && *client == '1';
        if (const char* table = getenv("FAULTLINE_SWEEP"); table && *table && !g_client)
            sweep_attach(table);
        // Each process its own stream: the seed, the program, and its order
        // of attachment (stable from run to run for the same script), so
        // that 40 processes started one after another under p=50% do not
        // all draw the same first number.
        uint32_t order = segment_attach_process(seg, int32_t(getpid()), g_comm, g_client);
        g_lineage = mix(mix(g_lineage, seg->seed), order);
        g_slot_key_ok = pthread_key_create(&g_slot_key, release_slot) == 0;
        pthread_atfork(after_fork_prepare, nullptr, after_fork_child);
        g_segment = seg;
        g_pid = int32_t(syscall(SYS_getpid));
        on_exit(on_process_exit, nullptr);
        if (g_client) {
            g_client_masks[unsigned(Family::Net)].store(kObservedBit, std::memory_order_relaxed);
            g_armed.store(g_client_masks, std::memory_order_release);
        } else {
            g_armed.store(seg->armed, std::memory_order_release);
        }
    }
    errno = saved_errno;
}

__attribute__((destructor)) void shim_fini() {
    // Leave everything mapped (hooks still run after us); just say we left.
    if (g_client) exchanges_at_exit();
    if (g_segment) segment_detach_process(g_segment, int32_t(getpid()));
}

} // namespace

void prepare_thread_slow(ThreadState& ts) {
    uint32_t gen = g_process_gen.load(std::memory_order_relaxed);
    if (ts.ready && ts.process_gen == gen) return;
    ts.process_gen = gen;
    ts.tid = int32_t(syscall(SYS_gettid));
    ts.pid = int32_t(getpid());
    ts.ordinal = g_thread_ordinals.fetch_add(1, std::memory_order_relaxed);
    // Same program, rules and seed: same stream per thread (docs/rules.md, --seed).
    ts.rng = mix(g_lineage, ts.ordinal + 1);
    ts.slot = g_segment ? claim_slot(g_segment, ts.tid, ts.pid) : nullptr;
    ts.ready = true;
    if (ts.slot && g_slot_key_ok) pthread_setspecific(g_slot_key, ts.slot);
}

} // namespace faultline::shim
