// Network faults on data: send and recv (and the calls that are sends and
// receives: write, sendmsg, read, recvmsg...). Each call: the socket's own
// fault state first (a dead connection, a held connect, a hang, a delayed
// exchange), then the rules (net_decide.h), then the plan for the rule that
// injected (net_plan.h), carried out here.

#include "shim/net/net_faults.h"

#include "shim/net/bandwidth.h"
#include "shim/net/net_decide.h"
#include "shim/net/net_plan.h"
#include "shim/net/net_rules.h"
#include "shim/net/socket_holds.h"

#include "shim/core/delay.h"
#include "shim/core/runtime.h"
#include "shim/core/thread_state.h"

#include <cerrno>
#include <sys/syscall.h>
#include <unistd.h>

namespace faultline::shim {

namespace {

// The real transfer of up to n bytes, counted as moved.
ssize_t transfer(SocketState& s, Transfer real, size_t n) {
    ssize_t moved = real(0, n);
    move_bytes(s, moved);
    return moved;
}

void reset_connection(int fd, SocketState& s) {
    // connect(AF_UNSPEC) aborts a TCP connection: the peer gets a RST.
    sockaddr unspec{};
    unspec.sa_family = AF_UNSPEC;
    syscall(SYS_connect, fd, &unspec, sizeof unspec);
    s.dead_errno.store(ECONNRESET, std::memory_order_release);
}

// net.reset: the `allowed` bytes up to the mark move, then the connection
// is aborted; a call with nothing left to move fails ECONNRESET.
ssize_t transfer_then_reset(Hook hook, int fd, SocketState& s, const Rule& r, size_t allowed,
                            size_t len, Transfer real) {
    ssize_t n = allowed ? transfer(s, real, allowed < len ? allowed : len) : 0;
    if (s.moved.load(std::memory_order_relaxed) >= r.amount) reset_connection(fd, s);
    if (n > 0) return n;
    count_error(hook);
    errno = ECONNRESET;
    return -1;
}

// A hold a fault put on the socket (net.delay on a non-blocking socket, a
// lost segment's retransmission, a non-blocking connect or accept under
// net.delay): the call that was held back is owed once, and goes when the
// hold ends, without being judged again (a non-blocking caller retries after
// every EAGAIN: judged anew, its delay would never end).
// A blocking caller interrupted by a signal handler (EINTR) still owes the
// rest: its retry waits out what is left, and goes.
enum class Hold { None, HeldBack, Interrupted, Paid };

Hold owed(int fd, SocketState& s, bool dontwait, int timeout_opt) {
    int64_t until = s.delay_until.load(std::memory_order_acquire);
    if (!until) return Hold::None;
    if (monotonic_ns() < until) {
        if (dontwait || fd_nonblocking(fd)) {
            held_back(s);
            return Hold::HeldBack;
        }
        if (!sleep_until(until, restarted_unless(fd, timeout_opt))) return Hold::Interrupted;
    }
    hold_until(s.delay_until, 0);
    return Hold::Paid;
}

// net.bandwidth on a send: paced through the bucket, in pieces for a
// blocking caller; a non-blocking one gets what the bucket allows now (a
// partial write), or EAGAIN with the socket held back until it refills.
ssize_t pace_send(int fd, SocketState& s, const Rule& r, uint64_t key, size_t len, bool nonblocking,
                  Transfer real) {
    TokenBucket& b = bucket_for(r, key, s, false);
    bool datagram = !is_tcp(s); // all or nothing: the bucket may go into debt
    size_t sent = 0;
    while (sent < len) {
        int64_t now = monotonic_ns();
        if (!live_rule(g_segment, key, now)) { // disarmed (or its slot re-armed) mid-call
            ssize_t n = real(sent, len - sent);
            if (n > 0) sent += size_t(n), move_bytes(s, n);
            if (n < 0 && !sent) return n;
            break;
        }
        double tokens = refill(b, r, key, now);
        double want = quantum(r, len - sent);
        if (tokens < want) {
            if (nonblocking) break;
            int64_t w = wait_for_tokens(b, r, want);
            if (!sleep_ns(w < kRecheck ? w : kRecheck, restarted_unless(fd, SO_SNDTIMEO))) {
                if (sent) break; // a signal: what was sent, as the kernel counts it
                return -1;       // EINTR
            }
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
        move_bytes(s, n);
        if (nonblocking || size_t(n) < chunk) break;
    }
    if (sent == 0) return held_back(s);
    return ssize_t(sent);
}

// net.bandwidth on a receive: wait (blocking) or EAGAIN (non-blocking) until
// a quantum may move, then read what the bucket allows.
ssize_t pace_recv(int fd, SocketState& s, const Rule& r, uint64_t key, size_t len, bool nonblocking,
                  int64_t now, Transfer real) {
    TokenBucket& b = bucket_for(r, key, s, true);
    double tokens = refill(b, r, key, now);
    double want = quantum(r, len);
    while (tokens < want) {
        if (nonblocking) return held_back(s);
        int64_t w = wait_for_tokens(b, r, want);
        if (!sleep_ns(w < kRecheck ? w : kRecheck, restarted_unless(fd, SO_RCVTIMEO)))
            return -1; // EINTR
        int64_t t = monotonic_ns();
        if (!live_rule(g_segment, key, t)) return transfer(s, real, len); // disarmed: unpaced
        tokens = refill(b, r, key, t);
    }
    // A datagram is read whole (a short read would drop its tail).
    size_t allowed = !is_tcp(s) || size_t(tokens) >= len ? len : size_t(tokens);
    ssize_t n = real(0, allowed);
    if (n > 0) b.tokens -= double(n); // what moved, not what was asked
    move_bytes(s, n);
    return n;
}

// net.corrupt: the data as it came, with one bit of it flipped.
ssize_t corrupt_recv(SocketState& s, size_t len, RecvBuffer buf, Transfer real) {
    ssize_t n = transfer(s, real, len);
    size_t span = n > 0 && size_t(n) < buf.size ? size_t(n) : buf.size;
    if (n > 0 && span && buf.data) {
        uint64_t rnd = next_random(tls);
        static_cast<uint8_t*>(buf.data)[(rnd >> 3) % span] ^= uint8_t(1u << (rnd & 7));
    }
    return n;
}

// A receive on a socket a net.timeout hang holds: no data until the hang
// ends, then the connection has timed out (ETIMEDOUT, now and after). A
// blocking caller waits in steps, so that a disarm lifts the hang and a
// close forgets the fd; its own SO_RCVTIMEO, when shorter, ends the wait
// with EAGAIN as Linux's would. Returns 1 when the hang lifted meanwhile
// (the caller receives afresh), else -1 with errno set.
int recv_hung(Hook hook, int fd, SocketState& s, int64_t until, bool dontwait) {
    int64_t now = monotonic_ns();
    if (now < until) {
        if (dontwait || fd_nonblocking(fd)) return int(held_back(s));
        int64_t own = socket_timeout(fd, SO_RCVTIMEO);
        int64_t end = own && now + own < until ? now + own : until;
        for (int64_t t = now; t < end; t = monotonic_ns()) {
            // A signal: EINTR, the hang holds on for the next call.
            if (!sleep_until(end - t > kRecheck ? t + kRecheck : end,
                             restarted_unless(fd, SO_RCVTIMEO)))
                return -1;
            if (s.hang_until.load(std::memory_order_acquire) != until) {
                errno = EBADF; // closed (and maybe reused) under us
                return -1;
            }
            int64_t u = 0;
            if (!hanging(s, monotonic_ns(), u)) return 1;
        }
        if (end != until) { // the caller's own timeout is shorter
            errno = EAGAIN;
            return -1;
        }
    }
    if (s.hang_until.load(std::memory_order_acquire) != until) {
        errno = EBADF;
        return -1;
    }
    s.dead_errno.store(ETIMEDOUT, std::memory_order_release);
    count_error(hook);
    errno = ETIMEDOUT;
    return -1;
}

// The fd's entry, checked first when it carries a fault's state (a dead
// connection, a hang, a hold, a held connect): the fd may have been closed
// and reused where the shim could not see it, and a regular file must
// never fail with ECONNRESET or wait out another socket's delay.
SocketState* socket_for_fault(int fd) {
    SocketState* s = socket_state(fd);
    if (!is_inet(s)) return s;
    bool carries = s->dead_errno.load(std::memory_order_relaxed) ||
                   s->hang_until.load(std::memory_order_relaxed) ||
                   s->delay_until.load(std::memory_order_relaxed) || s->pending_len;
    if (carries && !still_the_socket(fd, *s)) {
        socket_forget(fd);
        s = socket_state(fd);
    }
    return s;
}

// The waiting a plan asks of a call: a hold (EAGAIN now, the socket hidden
// until the plan's time; true) or a sleep (then the call goes on; false). A
// sleep a signal handler interrupts answers EINTR (true) and leaves the rest
// owed: the retry waits out what is left of it, and goes (owed).
bool waited_out(int fd, SocketState& s, const NetPlan& p, int timeout_opt) {
    if (p.act == Act::Hold) {
        if (p.until) hold_until(s.delay_until, p.until);
        held_back(s);
        return true;
    }
    if (p.act == Act::Sleep && !sleep_until(p.until, restarted_unless(fd, timeout_opt))) {
        hold_until(s.delay_until, p.until);
        return true;
    }
    return false;
}

// A datagram waits to be read (a peek of one byte, not blocking).
bool datagram_queued(int fd) {
    char byte;
    int saved = errno;
    long n = syscall(SYS_recvfrom, fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT, nullptr, nullptr);
    errno = saved;
    return n >= 0;
}

// A non-blocking socket is asked whether it is only under a fault.
bool nonblocking_call(int fd, bool dontwait) {
    return dontwait || fd_nonblocking(fd);
}

// The delay a rule draws for this call; only net.delay draws, so that the
// thread's random stream moves as it always has.
// TCP net.loss: what the segments drawn lost cost.
int64_t drawn_delay(const Rule& r, const NetDecision& d) {
    if (r.kind == Kind::NetLoss) return d.segments_drawn ? d.loss_wait_ns : 0;
    return r.kind == Kind::NetDelay ? delay_of(r, tls) : 0;
}

// The loss streak after a call the rules were asked about: what the
// segments drawn left, else one more for a lost call, else none.
void update_streak(SocketState& s, const NetDecision& d, const NetPlan& p) {
    if (d.segments_drawn)
        s.loss_streak = d.loss_streak;
    else if (p.lost_segment)
        ++s.loss_streak;
    else if (!d.rule)
        s.loss_streak = 0;
}

} // namespace

ssize_t net_send(Hook hook, int fd, size_t len, bool dontwait, Transfer real) {
    SocketState* s = socket_for_fault(fd);
    if (!is_inet(s) || tls.depth) return real(0, len);
    if (s->dead_errno.load(std::memory_order_acquire)) return dead(*s, true);
    settle_pending_connect(fd, *s, monotonic_ns());
    switch (owed(fd, *s, dontwait, SO_SNDTIMEO)) {
    case Hold::HeldBack:    // EAGAIN
    case Hold::Interrupted: // EINTR
        return -1;
    case Hold::Paid:
        count_net_call(hook);
        s->turn = 1;
        return transfer(*s, real, len);
    case Hold::None:
        break;
    }
    NetDecision d = decide(hook, kOnSend, *s, len, fd);
    if (d.stale) {
        socket_forget(fd);
        return net_send(hook, fd, len, dontwait, real);
    }
    s->turn = 1;
    if (!d.rule) {
        update_streak(*s, d, NetPlan{});
        return transfer(*s, real, len);
    }
    const Rule& r = *d.rule;
    bool nonblocking = nonblocking_call(fd, dontwait);
    NetPlan p = plan_send(r, *s, len, nonblocking, monotonic_ns(), drawn_delay(r, d));
    update_streak(*s, d, p);
    if (p.act == Act::Drop && real.in_kernel) cannot_act(r, hook);
    if (waited_out(fd, *s, p, SO_SNDTIMEO)) return -1; // EAGAIN, EINTR
    switch (p.act) {
    case Act::Await:
        if (!wait_out_partition(fd, *s, kOnSend)) return -1;
        break;
    case Act::Drop:
        if (real.in_kernel) break; // cannot_act: sent whole below
        return ssize_t(p.bytes);   // the datagram is gone, silently
    case Act::ResetAfter:
        return transfer_then_reset(hook, fd, *s, r, p.bytes, len, real);
    case Act::Shorten:
        return transfer(*s, real, p.bytes);
    case Act::Pace:
        return pace_send(fd, *s, r, d.key, len, nonblocking, real);
    default:
        break;
    }
    return transfer(*s, real, len);
}

ssize_t net_recv(Hook hook, int fd, size_t len, bool dontwait, Transfer real, RecvBuffer buf,
                 bool peek) {
    SocketState* s = socket_for_fault(fd);
    if (!is_inet(s) || tls.depth) return real(0, len);
    if (s->dead_errno.load(std::memory_order_acquire)) return dead(*s, false);
    settle_pending_connect(fd, *s, monotonic_ns());
    int64_t now = monotonic_ns(), until = 0;
    if (hanging(*s, now, until)) {
        if (recv_hung(hook, fd, *s, until, dontwait) == 1)
            return net_recv(hook, fd, len, dontwait, real, buf, peek);
        return -1;
    }
    switch (owed(fd, *s, dontwait, SO_RCVTIMEO)) {
    case Hold::HeldBack:    // EAGAIN
    case Hold::Interrupted: // EINTR
        return -1;
    case Hold::Paid: // the data as it is
        count_net_call(hook);
        s->turn = 0;
        return transfer(*s, real, len);
    case Hold::None:
        break;
    }
    // A non-blocking receive on a datagram socket with nothing queued: the
    // kernel's EAGAIN, without judging (or counting) a datagram not there.
    if (!is_tcp(*s) && !peek && !real.in_kernel && nonblocking_call(fd, dontwait) &&
        !datagram_queued(fd))
        return transfer(*s, real, len);
    NetDecision d = decide(hook, kOnRecv, *s, len, fd);
    if (d.stale) {
        socket_forget(fd);
        return net_recv(hook, fd, len, dontwait, real, buf, peek);
    }
    bool nonblocking = d.rule && nonblocking_call(fd, dontwait);
    NetPlan p = d.rule
                    ? plan_recv(*d.rule, *s, len, nonblocking, peek, now, drawn_delay(*d.rule, d))
                    : NetPlan{};
    // A lost datagram is read and dropped, and the next one meets the rules
    // in turn, as if the lost ones never came (a blocking caller waits for
    // the next; an edge-triggered one still gets those queued behind, or a
    // true EAGAIN).
    // Data the kernel moves for the program (splice into a pipe) cannot be
    // read past: the datagram goes through (cannot_act).
    if (p.act == Act::Drop && real.in_kernel) {
        cannot_act(*d.rule, hook);
        p = NetPlan{};
    }
    while (p.act == Act::Drop) {
        ssize_t n = real(0, len);
        if (n < 0) return n;
        // Non-blocking, with nothing queued behind: the kernel's own EAGAIN,
        // without judging a datagram that is not there (nor counting it).
        if (nonblocking && !datagram_queued(fd)) {
            errno = EAGAIN;
            return -1;
        }
        d = decide(hook, kOnRecv, *s, len);
        p = d.rule ? plan_recv(*d.rule, *s, len, nonblocking, peek, now, drawn_delay(*d.rule, d))
                   : NetPlan{};
    }
    s->turn = 0;
    update_streak(*s, d, p);
    if (!d.rule) return transfer(*s, real, len);
    const Rule& r = *d.rule;
    if (waited_out(fd, *s, p, SO_RCVTIMEO)) return -1; // EAGAIN, EINTR
    switch (p.act) {
    case Act::Hang:
        s->hang_rule = d.key;
        set_hang(*s, p.until);
        return net_recv(hook, fd, len, dontwait, real, buf, peek); // now hanging
    case Act::Await:
        if (!wait_out_partition(fd, *s, kOnRecv)) return -1;
        break;
    case Act::ResetAfter:
        return transfer_then_reset(hook, fd, *s, r, p.bytes, len, real);
    case Act::Shorten:
        return transfer(*s, real, p.bytes);
    case Act::Pace:
        return pace_recv(fd, *s, r, d.key, len, nonblocking, now, real);
    case Act::Corrupt:
        if (real.in_kernel) { // never in the program's memory: nothing to flip
            cannot_act(r, hook);
            break;
        }
        return corrupt_recv(*s, len, buf, real);
    default:
        break;
    }
    return transfer(*s, real, len);
}

} // namespace faultline::shim
