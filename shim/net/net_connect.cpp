// Network faults on connections being made: connect (with lost SYNs),
// accept, and name resolution (getaddrinfo).

#include "shim/net/net_decide.h"
#include "shim/net/net_faults.h"
#include "shim/net/net_plan.h"
#include "shim/net/net_rules.h"
#include "shim/net/socket_holds.h"

#include "shim/core/caller.h"
#include "shim/core/delay.h"
#include "shim/core/runtime.h"
#include "shim/core/sites.h"
#include "shim/core/thread_state.h"
#include "shim/core/trigger.h"

#include <cerrno>

namespace faultline::shim {

namespace {

// A blocking connect a signal handler interrupted: EINTR, never restarted
// (man 7 signal), and, as the kernel does, the connection goes on being made
// in the background: held (hold_connect) until the fault that held the
// call is over (a delay to `until`, a partition's end), then made for real;
// poll/select/epoll hide its writability meanwhile and SO_ERROR tells the
// outcome, so "connect, EINTR, poll, SO_ERROR" (CPython's) works.
int interrupted_connect(SocketState& s, const sockaddr* addr, socklen_t len, int64_t until) {
    if (until) hold_until(s.delay_until, until);
    hold_connect(s, addr, len);
    errno = EINTR;
    return -1;
}

constexpr int64_t kConnectBound = 127 * kSecond; // Linux's SYN retries give up about then

// Lost SYNs, each an injection: Linux retransmits after 1 s, then 2, 4...
// (connect takes 1 s, 3 s, 7 s...) and gives up after 6. Returns the
// decision that ended the losses (no rule: connect), or sets `result` when
// the connect is over.
NetDecision lose_syns(SocketState& s, const sockaddr* addr, socklen_t len, NetDecision d,
                      bool nonblocking, int64_t now, bool& over, int& result) {
    int lost = 0;
    int64_t wait = 0; // non-blocking: never slept, held back from readiness
    while (d.rule && d.rule->kind == Kind::NetLoss) {
        if (lost == 6) {
            count_error(Hook::NetConnect);
            over = true;
            result = -1;
            if (nonblocking) { // in progress until the SYNs give up, as net.timeout
                s.hang_rule = d.key;
                s.connect_error.store(ETIMEDOUT, std::memory_order_relaxed);
                set_hang(s, now + wait);
                hold_connect(s, addr, len);
                errno = EINPROGRESS;
                return d;
            }
            errno = ETIMEDOUT;
            return d;
        }
        if (nonblocking) {
            wait += kSecond << lost++;
        } else if (int64_t end = monotonic_ns() + (kSecond << lost++);
                   !sleep_until(end, kNeverRestarted)) {
            over = true; // the SYN lost goes again at `end`: no more losses drawn
            result = interrupted_connect(s, addr, len, end);
            return d;
        }
        d = decide(Hook::NetConnect, kOnConnect, s, 0);
    }
    if (wait) hold_until(s.delay_until, now + wait);
    return d;
}

// connect() again on a connect the shim holds (the "call connect until it
// settles" idiom): answered as Linux does, without a new decision.
int reconnect_held(int fd, const sockaddr* addr, socklen_t len,
                   int (*real)(int, const sockaddr*, socklen_t)) {
    int error = 0;
    SocketState* t = sockets_table();
    if (net_connect_error(fd, error) && error == 0 && t[fd].pending_len) {
        errno = EALREADY;
        return -1;
    }
    if (error) {
        errno = error;
        return -1;
    }
    return real(fd, addr, len); // made for real by now: the kernel answers
}

// A blocking connect hung by net.timeout: in steps, so that a disarm lifts
// the hang (then the connect is made). Interrupted by a signal: EINTR, and
// the connect stays in progress until the rule's timeout, as a non-blocking
// one does.
int hang_connect(SocketState& s, const sockaddr* addr, socklen_t len, const NetDecision& d,
                 const NetPlan& p, int64_t now) {
    for (int64_t t = now; t < p.until && hang_held(g_segment, d.key, t); t = monotonic_ns())
        if (!sleep_until(p.until - t > kRecheck ? t + kRecheck : p.until, kNeverRestarted)) {
            s.hang_rule = d.key;
            s.connect_error.store(ETIMEDOUT, std::memory_order_relaxed);
            set_hang(s, now + d.rule->timeout_ns);
            return interrupted_connect(s, addr, len, 0);
        }
    if (monotonic_ns() < p.until) return 0; // lifted: connect
    count_error(Hook::NetConnect);
    errno = p.error;
    return -1;
}

// A blocking connect under net.partition: until it lifts, or Linux's own
// bound (the socket's SO_SNDTIMEO, or the SYN retries). Interrupted by a
// signal: EINTR, and the connect is made when the partition lifts.
int await_partition(int fd, SocketState& s, const sockaddr* addr, socklen_t len, int64_t now) {
    int64_t own = socket_timeout(fd, SO_SNDTIMEO);
    int64_t bound = own ? own : kConnectBound;
    while (partitioned(s, kOnConnect, monotonic_ns())) {
        if (monotonic_ns() - now >= bound) {
            count_error(Hook::NetConnect);
            errno = own ? EINPROGRESS : ETIMEDOUT;
            return -1;
        }
        if (!sleep_ns(kRecheck, kNeverRestarted)) return interrupted_connect(s, addr, len, 0);
    }
    return 0;
}

} // namespace

int net_connect(int fd, const sockaddr* addr, socklen_t len,
                int (*real)(int, const sockaddr*, socklen_t)) {
    if (tls.depth) return real(fd, addr, len);
    if (SocketState* t = sockets_table(); t && fd >= 0 && fd < kMaxTrackedFd && t[fd].pending_len)
        return reconnect_held(fd, addr, len, real);
    socket_forget(fd); // a socket reconnected is a new connection
    SocketState* s = socket_state(fd);
    if (!is_inet(s)) return real(fd, addr, len);
    socket_set_peer(*s, addr, len);
    net_connecting(fd, *s);
    NetDecision d = decide(Hook::NetConnect, kOnConnect, *s, 0);
    s->turn = 1;
    if (!d.rule) return real(fd, addr, len);
    bool nonblocking = fd_nonblocking(fd);
    int64_t now = monotonic_ns();
    if (d.rule->kind == Kind::NetLoss) {
        bool over = false;
        int result = 0;
        d = lose_syns(*s, addr, len, d, nonblocking, now, over, result);
        if (over) return result;
        if (!d.rule) return real(fd, addr, len);
    }
    const Rule& r = *d.rule;
    int64_t delay = r.kind == Kind::NetDelay ? delay_of(r, tls) : 0;
    int64_t own = r.kind == Kind::NetTimeout && !nonblocking ? socket_timeout(fd, SO_SNDTIMEO) : 0;
    now = monotonic_ns(); // after any lost SYNs
    NetPlan p = plan_connect(r, nonblocking, now, delay, own);
    switch (p.act) {
    case Act::HoldAfter:
        hold_until(s->delay_until, p.until);
        break;
    case Act::Sleep:
        if (!sleep_until(p.until, kNeverRestarted))
            return interrupted_connect(*s, addr, len, p.until);
        break;
    case Act::Fail:
        count_error(Hook::NetConnect);
        errno = p.error;
        return -1;
    case Act::Hang:
        if (!nonblocking) {
            if (hang_connect(*s, addr, len, d, p, now) != 0) return -1;
            break;
        }
        // In progress until the timeout, then SO_ERROR says ETIMEDOUT;
        // poll/select/epoll hide writability meanwhile.
        s->hang_rule = d.key;
        s->connect_error.store(ETIMEDOUT, std::memory_order_relaxed);
        set_hang(*s, p.until);
        hold_connect(*s, addr, len);
        errno = EINPROGRESS;
        return -1;
    case Act::Hold: // non-blocking under a partition: made for real once it lifts
        hold_connect(*s, addr, len);
        errno = EINPROGRESS;
        return -1;
    case Act::Await:
        if (await_partition(fd, *s, addr, len, now) != 0) return -1;
        break;
    default:
        break;
    }
    return real(fd, addr, len);
}

int net_after_accept(Hook hook, int listen_fd, int fd) {
    int saved_errno = errno;
    socket_forget(fd);
    SocketState* s = socket_state(fd);
    if (!is_inet(s) || tls.depth) return fd;
    s->accepted = 1;
    NetDecision d = decide(hook, kOnAccept, *s, 0);
    if (!d.rule || d.rule->kind != Kind::NetDelay) return fd;
    // A non-blocking server (an event loop) must not sleep in accept: the new
    // connection's data comes `delay` later instead. So does the rest of a
    // blocking accept's delay that a signal handler interrupts (the
    // connection is taken already: it is handed over, its data late).
    int64_t until = monotonic_ns() + delay_of(*d.rule, tls);
    if (fd_nonblocking(listen_fd) || fd_nonblocking(fd) ||
        !sleep_until(until, restarted_unless(listen_fd, SO_RCVTIMEO))) {
        hold_until(s->delay_until, until);
        errno = saved_errno;
    }
    return fd;
}

int net_dns(const char* host) {
    uint64_t mask = armed_mask(Family::Net);
    ThreadState& ts = tls;
    Segment* seg = g_segment;
    if (!mask || ts.depth || !seg) return 0;
    const Rule* hit = nullptr;
    {
        HookScope scope(ts);
        int saved_errno = errno;
        prepare_thread(ts);
        count_call(*seg, ts, Hook::NetGetaddrinfo);
        auto matches = [&](const Rule& r, unsigned) {
            if (r.kind == Kind::NetDelay) return (r.ops & kOnDns) != 0;
            if (r.kind != Kind::NetDns) return false;
            return !r.host[0] || (host && glob_match(r.host, host, true));
        };
        CallContext ctx{ts, g_comm, monotonic_ns, caller_matches, call_site, Hook::NetGetaddrinfo};
        Injection inj;
        if (pick_rule(*seg, mask, ctx, matches, inj)) {
            note_injection(*seg, ts, Hook::NetGetaddrinfo, inj.slot, effect_value(*inj.rule));
            hit = inj.rule;
        }
        errno = saved_errno;
    }
    if (!hit) return 0;
    inject_delay(*hit, ts);
    if (hit->kind == Kind::NetDns && hit->code) {
        count_error(Hook::NetGetaddrinfo);
        return hit->code;
    }
    return 0;
}

} // namespace faultline::shim
