#include "shim/net/net_decide.h"

#include "shim/core/caller.h"
#include "shim/core/log.h"
#include "shim/core/runtime.h"
#include "shim/core/signal_wait.h"
#include "shim/core/sites.h"
#include "shim/core/thread_state.h"
#include "shim/core/trigger.h"
#include "shim/net/net_faults.h"
#include "shim/net/net_plan.h"
#include "shim/net/net_rules.h"
#include "shim/net/socket_holds.h"

#include <cerrno>
#include <ctime>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace faultline::shim {

namespace {

int recall(void* memo, unsigned slot, uint64_t word) {
    return conn_recall(*static_cast<SocketState*>(memo), rule_key(slot, word));
}

void remember(void* memo, unsigned slot, uint64_t word, bool hit) {
    conn_remember(*static_cast<SocketState*>(memo), rule_key(slot, word), hit);
}

// What TCP net.loss draws for: the bytes of the call, as segments.
struct LossDraw {
    SocketState* s;
    NetDecision* d;
    int fd;
    uint32_t op;
    size_t len;
};

uint32_t segment_of(int fd, SocketState& s) {
    if (!s.mss) {
        int maxseg = 0;
        socklen_t n = sizeof maxseg;
        int saved = errno;
        if (fd < 0 || syscall(SYS_getsockopt, fd, IPPROTO_TCP, TCP_MAXSEG, &maxseg, &n) != 0)
            maxseg = 0;
        errno = saved;
        s.mss = segment_size(maxseg);
    }
    return s.mss;
}

// The bytes a receive will take: what is queued (FIONREAD), up to `len`;
// nothing queued yet (a blocking receive will wait): one segment.
size_t recv_bytes(int fd, size_t len, uint32_t mss) {
    int queued = 0;
    int saved = errno;
    if (fd < 0 || syscall(SYS_ioctl, fd, FIONREAD, &queued) != 0) queued = 0;
    errno = saved;
    size_t n = queued > 0 ? size_t(queued) : mss;
    return n < len ? n : len;
}

uint32_t draw(void* obj, const Rule& r, ThreadState& ts) {
    auto& w = *static_cast<LossDraw*>(obj);
    bool segmented = r.kind == Kind::NetLoss && is_tcp(*w.s) && (w.op & (kOnSend | kOnRecv));
    if (!segmented) return r.p < 1.0 && next_unit(ts) >= r.p ? 0 : 1;
    uint32_t mss = segment_of(w.fd, *w.s);
    size_t bytes = w.op == kOnRecv ? recv_bytes(w.fd, w.len, mss) : w.len;
    SegmentLoss l = lose_segments(r, w.s->loss_streak, bytes, mss, [&] { return next_unit(ts); });
    w.d->segments_drawn = true;
    w.d->loss_streak = l.streak;
    w.d->loss_wait_ns = l.wait_ns;
    return l.lost;
}

// The socket's local port, counted in the session's ports once it has one
// (bound, connected, or after a first send: asked again until then).
void join_session_ports(Segment& seg, int fd, SocketState& s) {
    if (s.port_entry || fd < 0) return;
    if (!s.local_port) {
        sockaddr_storage a{};
        socklen_t n = sizeof a;
        int saved = errno;
        long rc = syscall(SYS_getsockname, fd, &a, &n);
        errno = saved;
        if (rc != 0) return;
        if (a.ss_family == AF_INET)
            s.local_port = ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
        else if (a.ss_family == AF_INET6)
            s.local_port = ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
        if (!s.local_port) return;
    }
    std::atomic<uint16_t>& e = seg.session_ports[is_tcp(s) ? 0 : 1][s.local_port];
    uint16_t v = e.load(std::memory_order_relaxed);
    while (v != 0xffff && !e.compare_exchange_weak(v, uint16_t(v + 1), std::memory_order_relaxed)) {
    }
    s.port_entry = &e;
}

// The receiver of what this socket sends is a socket of the session.
bool receiver_in_session(const Segment& seg, const SocketState& s) {
    return loopback_peer(s) &&
           seg.session_ports[is_tcp(s) ? 0 : 1][s.peer_port].load(std::memory_order_relaxed);
}

} // namespace

NetDecision decide(Hook hook, uint32_t op, SocketState& s, size_t len, int fd) {
    NetDecision d;
    uint64_t mask = armed_mask(Family::Net);
    ThreadState& ts = tls;
    Segment* seg = g_segment;
    if (!mask || ts.depth || !seg) return d;
    HookScope scope(ts);
    int saved_errno = errno;
    prepare_thread(ts);
    count_call(*seg, ts, hook);
    join_session_ports(*seg, fd, s);
    bool asked = fd < 0;
    int in_session = -1; // receiver_in_session (the peer's end is the session's), asked once
    auto matches = [&](const Rule& r, unsigned) {
        if (r.ops && !(r.ops & op)) return false;
        if (!fits_socket(r, s) || !kind_applies(r, op, s, len)) return false;
        // Both ends in the session: a fault on data is judged where the data
        // is received; a delay is the connecting end's alone, for all its
        // operations (connect, turns, sends), so that a round trip pays it
        // once, as with the client alone in the session.
        bool delay = r.kind == Kind::NetDelay;
        if ((op == kOnSend && acts_on_receive(r) && !delay) || (delay && s.accepted)) {
            if (in_session < 0) in_session = receiver_in_session(*seg, s);
            if (in_session) return false;
        }
        if (!asked) { // once per call, and only when a rule would act
            asked = true;
            d.stale = !still_the_socket(fd, s);
        }
        return !d.stale;
    };
    CallContext ctx{ts, g_comm, monotonic_ns, caller_matches, call_site, hook};
    ctx.recall = recall;
    ctx.remember = remember;
    ctx.memo = &s;
    LossDraw loss{&s, &d, fd, op, len};
    ctx.draw = draw;
    ctx.draw_obj = &loss;
    Injection inj;
    if (pick_rule(*seg, mask, ctx, matches, inj)) {
        note_injection(*seg, ts, hook, inj.slot, effect_value(*inj.rule));
        d.rule = inj.rule;
        d.key = rule_key(inj.slot, seg->rules[inj.slot].state.load(std::memory_order_acquire));
    }
    errno = saved_errno;
    return d;
}

void net_bound(int fd) {
    ThreadState& ts = tls;
    Segment* seg = g_segment;
    if (!seg || ts.depth || (!sockets_table() && !armed_mask(Family::Net))) return;
    HookScope scope(ts);
    int saved = errno;
    SocketState* s = socket_state(fd);
    if (is_inet(s)) join_session_ports(*seg, fd, *s);
    errno = saved;
}

void net_connecting(int fd, SocketState& s) {
    Segment* seg = g_segment;
    if (!seg || s.port_entry || !armed_mask(Family::Net) || !receiver_in_session(*seg, s)) return;
    sockaddr_storage a{};
    socklen_t n = sizeof a;
    int saved = errno;
    if (syscall(SYS_getsockname, fd, &a, &n) == 0) {
        uint16_t port = a.ss_family == AF_INET ? reinterpret_cast<const sockaddr_in&>(a).sin_port
                                               : reinterpret_cast<const sockaddr_in6&>(a).sin6_port;
        if (!port && (a.ss_family == AF_INET || a.ss_family == AF_INET6)) {
            // Unbound: the wildcard address, port 0, as connect would pick.
            sockaddr_storage any{};
            any.ss_family = a.ss_family;
            syscall(SYS_bind, fd, &any,
                    a.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
        }
    }
    errno = saved;
    join_session_ports(*seg, fd, s);
}

void count_net_call(Hook hook) {
    ThreadState& ts = tls;
    Segment* seg = g_segment;
    if (!armed_mask(Family::Net) || ts.depth || !seg) return;
    prepare_thread(ts);
    count_call(*seg, ts, hook);
}

void count_error(Hook hook) {
    tls.error_counted = true;
    if (g_segment) g_segment->hooks[unsigned(hook)].errors.fetch_add(1, std::memory_order_relaxed);
}

void cannot_act(const Rule& r, Hook hook) {
    Segment* seg = g_segment;
    if (!seg) return;
    uint32_t bit = uint32_t(1) << unsigned(r.kind);
    if (seg->unacted_kinds.fetch_or(bit, std::memory_order_relaxed) & bit) return; // said
    warn(kind_name(r.kind), " cannot act on ", kHooks[unsigned(hook)].name);
    warn("  why: the data moves inside the kernel, never through the program's memory; ",
         "such calls go through unfaulted (faultline status lists it)");
}

TokenBucket g_process_buckets[kMaxRules][2];

TokenBucket& bucket_for(const Rule& r, uint64_t key, SocketState& s, bool recv) {
    return r.scope == Scope::Process ? g_process_buckets[key >> 48][recv] : s.buckets[recv];
}

ssize_t held_back(SocketState& s) {
    owe_edge(s);
    errno = EAGAIN;
    return -1;
}

ssize_t dead(SocketState& s, bool sending) {
    int e = s.dead_errno.load(std::memory_order_acquire);
    errno = sending && e == ECONNRESET ? EPIPE : e;
    return -1;
}

bool fd_nonblocking(int fd) {
    long flags = syscall(SYS_fcntl, fd, F_GETFL, 0);
    return flags >= 0 && (flags & O_NONBLOCK);
}

int64_t socket_timeout(int fd, int which) {
    timeval tv{};
    socklen_t len = sizeof tv;
    int saved = errno;
    long rc = syscall(SYS_getsockopt, fd, SOL_SOCKET, which, &tv, &len);
    errno = saved;
    if (rc != 0) return 0;
    // Longer than any fault (durations stop at a year): as good as unset,
    // and tv_sec * 1e9 would overflow from 292 years on.
    if (tv.tv_sec >= 2 * 365 * 86400) return 0;
    return int64_t(tv.tv_sec) * kSecond + int64_t(tv.tv_usec) * 1000;
}

bool sleep_until(int64_t deadline, OnSignal how) {
    bool sa_restart = false;
    while (sleep_or_handler(deadline, sa_restart)) {
        if (sa_restart && how.timeout_opt && socket_timeout(how.fd, how.timeout_opt) == 0)
            continue; // restarted: the wait goes on to the same end
        errno = EINTR;
        return false;
    }
    return true;
}

bool sleep_ns(int64_t ns, OnSignal how) {
    return ns <= 0 || sleep_until(monotonic_ns() + ns, how);
}

} // namespace faultline::shim
