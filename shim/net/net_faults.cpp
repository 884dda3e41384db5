#include "shim/net/net_faults.h"

#include "shim/net/bandwidth.h"
#include "shim/net/net_rules.h"
#include "shim/net/socket_holds.h"

#include "shim/core/caller.h"
#include "shim/core/delay.h"
#include "shim/core/runtime.h"
#include "shim/core/thread_state.h"
#include "shim/core/trigger.h"

#include <cerrno>
#include <cfloat>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace faultline::shim {

namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kRecheck = 20'000'000;         // how often a wait looks at the rules again
constexpr int64_t kConnectBound = 127 * kSecond; // Linux's SYN retries give up about then

void sleep_until(int64_t deadline) {
    timespec ts{time_t(deadline / kSecond), long(deadline % kSecond)};
    int saved = errno;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
    errno = saved;
}

void sleep_ns(int64_t ns) {
    if (ns > 0) sleep_until(monotonic_ns() + ns);
}

// SO_RCVTIMEO / SO_SNDTIMEO of the socket, 0 when unset.
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

} // namespace

void count_error(Hook hook) {
    tls.error_counted = true;
    if (g_segment) g_segment->hooks[unsigned(hook)].errors.fetch_add(1, std::memory_order_relaxed);
}

namespace {

struct NetDecision {
    const Rule* rule = nullptr;
    uint64_t key = 0;
};

NetDecision decide(Hook hook, uint32_t op, SocketState& s, size_t len) {
    NetDecision d;
    uint64_t mask = armed_mask(Family::Net);
    ThreadState& ts = tls;
    Segment* seg = g_segment;
    if (!mask || ts.depth || !seg) return d;
    HookScope scope(ts);
    int saved_errno = errno;
    prepare_thread(ts);
    count_call(*seg, ts, hook);
    auto matches = [&](const Rule& r, unsigned) {
        if (r.ops && !(r.ops & op)) return false;
        return fits_socket(r, s) && kind_applies(r, op, s, len);
    };
    CallContext ctx{ts, g_comm, monotonic_ns, caller_matches};
    Injection inj;
    if (pick_rule(*seg, mask, ctx, matches, inj)) {
        note_injection(*seg, ts, hook, inj.slot, effect_value(*inj.rule));
        d.rule = inj.rule;
        d.key = rule_key(inj.slot, seg->rules[inj.slot].state.load(std::memory_order_acquire));
    }
    errno = saved_errno;
    return d;
}

// -- bandwidth ------------------------------------------------------------------

TokenBucket g_process_buckets[kMaxRules][2];

TokenBucket& bucket_for(const Rule& r, uint64_t key, SocketState& s, bool recv) {
    return r.scope == Scope::Process ? g_process_buckets[key >> 48][recv] : s.buckets[recv];
}

// An EAGAIN the shim made up while the kernel had data or room: poll and
// select see the fault's hold; an edge-triggered epoll registration must be
// given a new edge when it ends (net_wait.cpp).
ssize_t held_back(SocketState& s) {
    owe_edge(s);
    errno = EAGAIN;
    return -1;
}

// -- reset --------------------------------------------------------------------------

void reset_connection(int fd, SocketState& s) {
    // connect(AF_UNSPEC) aborts a TCP connection: the peer gets a RST.
    sockaddr unspec{};
    unspec.sa_family = AF_UNSPEC;
    syscall(SYS_connect, fd, &unspec, sizeof unspec);
    s.dead_errno.store(ECONNRESET, std::memory_order_release);
}

// A connection a rule killed: ECONNRESET, then EPIPE for sends.
ssize_t dead(SocketState& s, bool sending) {
    int e = s.dead_errno.load(std::memory_order_acquire);
    errno = sending && e == ECONNRESET ? EPIPE : e;
    return -1;
}

// A net.timeout hang on the socket: returns true while it holds (and sets
// `until`); false when it has lifted (rule disarmed) or was never there.
bool hanging(SocketState& s, int64_t now, int64_t& until) {
    until = s.hang_until.load(std::memory_order_acquire);
    if (!until) return false;
    if (!hang_held(g_segment, s.hang_rule, now) && now < until) {
        lift_hang(s); // disarmed: the network is back
        s.connect_error.store(0, std::memory_order_relaxed);
        return false;
    }
    return true;
}

// A connect the shim holds back (non-blocking, under net.partition or
// net.timeout) is made for real once nothing holds it any more (disarmed,
// for= over), and dropped when its timeout runs out (SO_ERROR: ETIMEDOUT).
void settle_pending_connect(int fd, SocketState& s, int64_t now) {
    if (!s.pending_len) return;
    int64_t until = 0;
    if (hanging(s, now, until)) {
        if (now >= until) drop_pending_connect(s);
        return;
    }
    if (partition_active(g_segment, rule_mask(Family::Net), s, kOnConnect, now)) return;
    uint32_t len = s.pending_len;
    drop_pending_connect(s);
    int saved = errno;
    if (syscall(SYS_connect, fd, &s.pending_connect, len) != 0 && errno != EINPROGRESS)
        s.connect_error.store(errno, std::memory_order_relaxed); // failed at once: SO_ERROR says so
    errno = saved;
}

void move_bytes(SocketState& s, ssize_t n) {
    if (n > 0) s.moved.fetch_add(uint64_t(n), std::memory_order_relaxed);
}

} // namespace

namespace {

// The real transfer of up to n bytes, counted as moved.
ssize_t transfer(SocketState& s, Transfer real, size_t n) {
    ssize_t moved = real(0, n);
    move_bytes(s, moved);
    return moved;
}

// net.reset: the bytes up to the mark move, then the connection is aborted;
// a call with nothing left to move fails ECONNRESET.
ssize_t transfer_then_reset(Hook hook, int fd, SocketState& s, const Rule& r, size_t len,
                            Transfer real) {
    uint64_t moved = s.moved.load(std::memory_order_relaxed);
    size_t allowed = r.amount > moved ? size_t(r.amount - moved) : 0;
    ssize_t n = allowed ? transfer(s, real, allowed < len ? allowed : len) : 0;
    if (s.moved.load(std::memory_order_relaxed) >= r.amount) reset_connection(fd, s);
    if (n > 0) return n;
    count_error(hook);
    errno = ECONNRESET;
    return -1;
}

} // namespace

namespace {

// A blocking call under net.partition waits for it to lift, bounded by the
// socket's own timeout (SO_SNDTIMEO/SO_RCVTIMEO: then EAGAIN, as Linux).
bool wait_out_partition(int fd, SocketState& s, uint32_t op) {
    int64_t bound = socket_timeout(fd, op == kOnSend ? SO_SNDTIMEO : SO_RCVTIMEO);
    int64_t start = monotonic_ns();
    while (partition_active(g_segment, rule_mask(Family::Net), s, op, monotonic_ns())) {
        if (bound && monotonic_ns() - start >= bound) {
            errno = EAGAIN;
            return false;
        }
        sleep_ns(kRecheck);
    }
    return true;
}

} // namespace

bool fd_nonblocking(int fd) {
    long flags = syscall(SYS_fcntl, fd, F_GETFL, 0);
    return flags >= 0 && (flags & O_NONBLOCK);
}

ssize_t net_send(Hook hook, int fd, size_t len, bool dontwait, Transfer real) {
    SocketState* s = socket_state(fd);
    if (!is_inet(s) || tls.depth) return real(0, len);
    if (s->dead_errno.load(std::memory_order_acquire)) return dead(*s, true);
    settle_pending_connect(fd, *s, monotonic_ns());
    if (int64_t until = s->delay_until.load(std::memory_order_acquire)) {
        if (monotonic_ns() < until) { // a delayed connect
            if (dontwait || fd_nonblocking(fd)) return held_back(*s);
            sleep_until(until);
        }
        hold_until(s->delay_until, 0);
    }
    NetDecision d = decide(hook, kOnSend, *s, len);
    s->turn = 1;
    if (!d.rule) {
        s->loss_streak = 0;
        return transfer(*s, real, len);
    }
    const Rule& r = *d.rule;
    bool nonblocking = dontwait || fd_nonblocking(fd); // asked only under a fault
    switch (r.kind) {
    case Kind::NetDelay:
        if (nonblocking) { // never sleep in a non-blocking call: hold it back
            hold_until(s->delay_until, monotonic_ns() + delay_of(r, tls));
            return held_back(*s);
        }
        inject_delay(r, tls);
        break;
    case Kind::NetLoss: {
        if (!is_tcp(*s)) return ssize_t(len); // the datagram is gone, silently
        // A lost segment costs a retransmission timeout, doubling each time.
        int64_t rto = r.rto_ns << (s->loss_streak < 6 ? s->loss_streak : 6);
        ++s->loss_streak;
        if (nonblocking) { // never sleep in a non-blocking call: hold it back
            hold_until(s->delay_until, monotonic_ns() + rto);
            return held_back(*s);
        }
        sleep_ns(rto);
        break;
    }
    case Kind::NetPartition:
        if (nonblocking) return held_back(*s);
        if (!wait_out_partition(fd, *s, kOnSend)) return -1;
        break;
    case Kind::NetReset:
        return transfer_then_reset(hook, fd, *s, r, len, real);
    case Kind::NetSlice:
        return transfer(*s, real, r.max_size);
    case Kind::NetBandwidth: {
        TokenBucket& b = bucket_for(r, d.key, *s, false);
        bool datagram = !is_tcp(*s); // all or nothing: the bucket may go into debt
        size_t sent = 0;
        while (sent < len) {
            int64_t now = monotonic_ns();
            if (!live_rule(g_segment, d.key, now)) { // disarmed (or its slot re-armed) mid-call
                ssize_t n = real(sent, len - sent);
                if (n > 0) sent += size_t(n), move_bytes(*s, n);
                if (n < 0 && !sent) return n;
                break;
            }
            double tokens = refill(b, r, d.key, now);
            double want = quantum(r, len - sent);
            if (tokens < want) {
                if (nonblocking) break;
                int64_t w = wait_for_tokens(b, r, want);
                sleep_ns(w < kRecheck ? w : kRecheck);
                continue;
            }
            size_t chunk = datagram || size_t(tokens) >= len - sent ? len - sent : size_t(tokens);
            ssize_t n = real(sent, chunk);
            if (n < 0) {
                if (sent) break;
                return n;
            }
            b.tokens -= double(n); // the bytes that moved, not those asked
            sent += size_t(n);
            move_bytes(*s, n);
            if (nonblocking || size_t(n) < chunk) break;
        }
        if (sent == 0) return held_back(*s);
        return ssize_t(sent);
    }
    default:
        break;
    }
    return transfer(*s, real, len);
}

ssize_t net_recv(Hook hook, int fd, size_t len, bool dontwait, Transfer real, RecvBuffer buf,
                 bool peek) {
    SocketState* s = socket_state(fd);
    if (!is_inet(s) || tls.depth) return real(0, len);
    if (s->dead_errno.load(std::memory_order_acquire)) return dead(*s, false);
    settle_pending_connect(fd, *s, monotonic_ns());
    int64_t now = monotonic_ns(), until = 0;
    bool hang = hanging(*s, now, until);
    bool nonblocking = dontwait || (hang && fd_nonblocking(fd));
    if (hang) {
        // No data until the hang ends; then the connection has timed out.
        if (now < until) {
            if (nonblocking) return held_back(*s);
            int64_t own = socket_timeout(fd, SO_RCVTIMEO);
            int64_t end = own && now + own < until ? now + own : until;
            // In steps: a disarm lifts the hang, a close forgets the fd.
            for (int64_t t = now; t < end; t = monotonic_ns()) {
                sleep_until(end - t > kRecheck ? t + kRecheck : end);
                if (s->hang_until.load(std::memory_order_acquire) != until) {
                    errno = EBADF; // closed (and maybe reused) under us
                    return -1;
                }
                int64_t u = 0;
                if (!hanging(*s, monotonic_ns(), u))
                    return net_recv(hook, fd, len, dontwait, real, buf, peek);
            }
            if (end != until) { // the caller's own timeout is shorter
                errno = EAGAIN;
                return -1;
            }
        }
        if (s->hang_until.load(std::memory_order_acquire) != until) {
            errno = EBADF;
            return -1;
        }
        s->dead_errno.store(ETIMEDOUT, std::memory_order_release);
        count_error(hook);
        errno = ETIMEDOUT;
        return -1;
    }
    if (int64_t delayed = s->delay_until.load(std::memory_order_acquire)) {
        // A delayed exchange (non-blocking connect, accept of a non-blocking
        // server): nothing until then, then the data as it is.
        if (now < delayed) {
            if (dontwait || fd_nonblocking(fd)) return held_back(*s);
            sleep_until(delayed);
        }
        hold_until(s->delay_until, 0);
        s->turn = 0;
        return transfer(*s, real, len);
    }
    NetDecision d = decide(hook, kOnRecv, *s, len);
    // UDP loss: each lost datagram is read and dropped, and the next one
    // meets the rules in turn, as if the lost ones never came (a blocking
    // caller waits for the next; an edge-triggered one still gets those
    // queued behind, or a true EAGAIN).
    // A peek would see the same datagram again and again: it is left to the
    // read that takes it.
    if (peek && d.rule && d.rule->kind == Kind::NetLoss && !is_tcp(*s)) d = {};
    while (d.rule && d.rule->kind == Kind::NetLoss && !is_tcp(*s)) {
        ssize_t n = real(0, len);
        if (n < 0) return n;
        d = decide(hook, kOnRecv, *s, len);
    }
    s->turn = 0;
    if (!d.rule) {
        s->loss_streak = 0;
        return transfer(*s, real, len);
    }
    const Rule& r = *d.rule;
    nonblocking = dontwait || fd_nonblocking(fd); // asked only under a fault
    switch (r.kind) {
    case Kind::NetDelay:
        if (nonblocking) { // never sleep in a non-blocking call: hold it back
            hold_until(s->delay_until, now + delay_of(r, tls));
            return held_back(*s);
        }
        inject_delay(r, tls);
        break;
    case Kind::NetTimeout:
        s->hang_rule = d.key;
        set_hang(*s, now + r.timeout_ns);
        return net_recv(hook, fd, len, dontwait, real, buf, peek); // now hanging
    case Kind::NetPartition:
        if (nonblocking) return held_back(*s);
        if (!wait_out_partition(fd, *s, kOnRecv)) return -1;
        break;
    case Kind::NetLoss: { // TCP: UDP was handled above
        int64_t rto = r.rto_ns << (s->loss_streak < 6 ? s->loss_streak : 6);
        ++s->loss_streak;
        if (nonblocking) { // never sleep in a non-blocking call: hold it back
            hold_until(s->delay_until, now + rto);
            return held_back(*s);
        }
        sleep_ns(rto);
        break;
    }
    case Kind::NetReset:
        return transfer_then_reset(hook, fd, *s, r, len, real);
    case Kind::NetSlice:
        return transfer(*s, real, r.max_size);
    case Kind::NetBandwidth: {
        TokenBucket& b = bucket_for(r, d.key, *s, true);
        double tokens = refill(b, r, d.key, now);
        double want = quantum(r, len);
        while (tokens < want) {
            if (nonblocking) return held_back(*s);
            int64_t w = wait_for_tokens(b, r, want);
            sleep_ns(w < kRecheck ? w : kRecheck);
            int64_t t = monotonic_ns();
            if (!live_rule(g_segment, d.key, t)) { // disarmed mid-call: unpaced
                ssize_t n = real(0, len);
                move_bytes(*s, n);
                return n;
            }
            tokens = refill(b, r, d.key, t);
        }
        // A datagram is read whole (a short read would drop its tail).
        size_t allowed = !is_tcp(*s) || size_t(tokens) >= len ? len : size_t(tokens);
        ssize_t n = real(0, allowed);
        if (n > 0) b.tokens -= double(n); // what moved, not what was asked
        move_bytes(*s, n);
        return n;
    }
    case Kind::NetCorrupt: {
        ssize_t n = real(0, len);
        move_bytes(*s, n);
        size_t span = n > 0 && size_t(n) < buf.size ? size_t(n) : buf.size;
        if (n > 0 && span && buf.data) {
            uint64_t rnd = next_random(tls);
            static_cast<uint8_t*>(buf.data)[(rnd >> 3) % span] ^= uint8_t(1u << (rnd & 7));
        }
        return n;
    }
    default:
        break;
    }
    return transfer(*s, real, len);
}

int net_connect(int fd, const sockaddr* addr, socklen_t len,
                int (*real)(int, const sockaddr*, socklen_t)) {
    if (tls.depth) return real(fd, addr, len);
    // connect() again on a connect the shim holds (the "call connect until it
    // settles" idiom): answer as Linux does, without a new decision.
    if (SocketState* t = sockets_table(); t && fd >= 0 && fd < kMaxTrackedFd && t[fd].pending_len) {
        int error = 0;
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
    socket_forget(fd); // a socket reconnected is a new connection
    SocketState* s = socket_state(fd);
    if (!is_inet(s)) return real(fd, addr, len);
    socket_set_peer(*s, addr, len);
    NetDecision d = decide(Hook::NetConnect, kOnConnect, *s, 0);
    s->turn = 1;
    if (!d.rule) return real(fd, addr, len);
    bool nonblocking = fd_nonblocking(fd);
    int64_t now = monotonic_ns();
    if (d.rule->kind == Kind::NetLoss) {
        // Lost SYNs, each an injection: Linux retransmits after 1 s, then 2,
        // 4... (connect takes 1 s, 3 s, 7 s...) and gives up after 6.
        int lost = 0;
        int64_t wait = 0; // non-blocking: never slept, held back from readiness
        while (d.rule && d.rule->kind == Kind::NetLoss) {
            if (lost == 6) {
                count_error(Hook::NetConnect);
                if (nonblocking) { // in progress until the SYNs give up, as net.timeout
                    s->hang_rule = d.key;
                    s->connect_error.store(ETIMEDOUT, std::memory_order_relaxed);
                    set_hang(*s, now + wait);
                    hold_connect(*s, addr, len);
                    errno = EINPROGRESS;
                    return -1;
                }
                errno = ETIMEDOUT;
                return -1;
            }
            if (nonblocking)
                wait += kSecond << lost++;
            else
                sleep_ns(kSecond << lost++);
            d = decide(Hook::NetConnect, kOnConnect, *s, 0);
        }
        if (wait) hold_until(s->delay_until, now + wait);
        if (!d.rule) return real(fd, addr, len);
    }
    const Rule& r = *d.rule;
    switch (r.kind) {
    case Kind::NetDelay:
        if (nonblocking) {
            // Connect now; writability (and data) held back for the delay.
            hold_until(s->delay_until, now + delay_of(r, tls));
            return real(fd, addr, len);
        }
        inject_delay(r, tls);
        break;
    case Kind::NetRefuse:
        count_error(Hook::NetConnect);
        errno = r.code;
        return -1;
    case Kind::NetTimeout: {
        if (nonblocking) {
            // In progress until the timeout, then SO_ERROR says ETIMEDOUT;
            // poll/select/epoll hide writability meanwhile.
            s->hang_rule = d.key;
            s->connect_error.store(ETIMEDOUT, std::memory_order_relaxed);
            set_hang(*s, now + r.timeout_ns);
            hold_connect(*s, addr, len);
            errno = EINPROGRESS;
            return -1;
        }
        int64_t own = socket_timeout(fd, SO_SNDTIMEO);
        int64_t end = now + (own && own < r.timeout_ns ? own : r.timeout_ns);
        // In steps: a disarm lifts the hang (then the connect is made).
        for (int64_t t = now; t < end && hang_held(g_segment, d.key, t); t = monotonic_ns())
            sleep_until(end - t > kRecheck ? t + kRecheck : end);
        if (monotonic_ns() < end) break;
        count_error(Hook::NetConnect);
        // EINPROGRESS: what Linux says when SO_SNDTIMEO ends a connect
        errno = own && own < r.timeout_ns ? EINPROGRESS : ETIMEDOUT;
        return -1;
    }
    case Kind::NetPartition: {
        if (nonblocking) {
            // Connected for real once the partition lifts (net_hold_until).
            hold_connect(*s, addr, len);
            errno = EINPROGRESS;
            return -1;
        }
        int64_t own = socket_timeout(fd, SO_SNDTIMEO);
        int64_t bound = own ? own : kConnectBound;
        while (
            partition_active(g_segment, rule_mask(Family::Net), *s, kOnConnect, monotonic_ns())) {
            if (monotonic_ns() - now >= bound) {
                count_error(Hook::NetConnect);
                errno = own ? EINPROGRESS : ETIMEDOUT;
                return -1;
            }
            sleep_ns(kRecheck);
        }
        break;
    }
    default:
        break;
    }
    return real(fd, addr, len);
}

int net_after_accept(Hook hook, int listen_fd, int fd) {
    socket_forget(fd);
    SocketState* s = socket_state(fd);
    if (!is_inet(s) || tls.depth) return fd;
    NetDecision d = decide(hook, kOnAccept, *s, 0);
    if (!d.rule || d.rule->kind != Kind::NetDelay) return fd;
    // A non-blocking server (an event loop) must not sleep in accept: the new
    // connection's data comes `delay` later instead.
    if (fd_nonblocking(listen_fd) || fd_nonblocking(fd))
        hold_until(s->delay_until, monotonic_ns() + delay_of(*d.rule, tls));
    else
        inject_delay(*d.rule, tls);
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
        CallContext ctx{ts, g_comm, monotonic_ns, caller_matches};
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

bool net_connect_error(int fd, int& error) {
    SocketState* t = sockets_table();
    if (!t || fd < 0 || fd >= kMaxTrackedFd) return false;
    SocketState& s = t[fd];
    settle_pending_connect(fd, s, monotonic_ns());
    if (s.pending_len) {
        error = 0; // still in progress
        return true;
    }
    int pending = s.connect_error.load(std::memory_order_acquire);
    if (!pending) return false;
    int64_t until = 0;
    if (hanging(s, monotonic_ns(), until) && monotonic_ns() < until) {
        error = 0;
        return true;
    }
    if (!until) return false; // lifted: the kernel's answer
    s.connect_error.store(0, std::memory_order_relaxed);
    s.dead_errno.store(pending, std::memory_order_release);
    error = pending;
    return true;
}

bool net_timed_out(int fd, int64_t now) {
    SocketState* t = sockets_table();
    if (!t || fd < 0 || fd >= kMaxTrackedFd) return false;
    SocketState& s = t[fd];
    if (s.dead_errno.load(std::memory_order_acquire) == ETIMEDOUT) return true;
    int64_t until = 0;
    return hanging(s, now, until) && now >= until;
}

int64_t net_hold_until(int fd, bool read, int64_t now) {
    SocketState* t = sockets_table();
    if (!t || fd < 0 || fd >= kMaxTrackedFd) return 0;
    // A connect held back by a partition that is gone (disarmed too): now.
    settle_pending_connect(fd, t[fd], now); // disarmed or not
    if (rule_mask(Family::Net) == 0) {      // a hold outlives its rule (times=, for=)
        int64_t holds = g_holds_until.load(std::memory_order_relaxed);
        if (holds == 0 || now >= holds) return 0;
    }
    SocketState* s = socket_state(fd);
    if (!is_inet(s) || s->dead_errno.load(std::memory_order_acquire)) return 0;
    int64_t hold = 0, until = 0;
    if (hanging(*s, now, until) && now < until) hold = until;
    int64_t delayed = s->delay_until.load(std::memory_order_acquire);
    if (delayed > now) hold = hold > delayed ? hold : delayed;
    if (s->pending_len) // still held: by the hang above, or by a partition
        hold = hold > now + kRecheck ? hold : now + kRecheck;
    if (partition_active(g_segment, rule_mask(Family::Net), *s, read ? kOnRecv : kOnSend, now))
        hold = hold > now + kRecheck ? hold : now + kRecheck;
    // An empty bandwidth bucket of a still-armed rule.
    for (int scope = 0; scope < 2; ++scope) {
        TokenBucket* b = nullptr;
        uint64_t key = s->buckets[read].rule;
        if (scope == 1) {
            for (auto& pb : g_process_buckets)
                if (pb[read].rule && live_rule(g_segment, pb[read].rule, now)) {
                    const Rule* r = live_rule(g_segment, pb[read].rule, now);
                    if (r && fits_socket(*r, *s)) b = &pb[read];
                }
            key = b ? b->rule : 0;
        } else {
            b = &s->buckets[read];
        }
        const Rule* r = key ? live_rule(g_segment, key, now) : nullptr;
        if (!b || !r) continue;
        double want = quantum(*r, 0);
        if (refill(*b, *r, key, now) < want) {
            int64_t ready = now + wait_for_tokens(*b, *r, want);
            hold = hold > ready ? hold : ready;
        }
    }
    return hold;
}

} // namespace faultline::shim
