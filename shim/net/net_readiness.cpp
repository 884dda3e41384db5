// The fault state a socket keeps after the call that made it: hangs, held
// connects, partitions, and what poll/select/epoll must hide (net_faults.h).

#include "shim/net/bandwidth.h"
#include "shim/net/net_decide.h"
#include "shim/net/net_faults.h"
#include "shim/net/net_rules.h"
#include "shim/net/socket_holds.h"

#include "shim/core/runtime.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace faultline::shim {

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

void settle_pending_connect(int fd, SocketState& s, int64_t now) {
    if (!s.pending_len) return;
    int64_t until = 0;
    if (hanging(s, now, until)) {
        if (now >= until) drop_pending_connect(s);
        return;
    }
    if (partitioned(s, kOnConnect, now)) return;
    int64_t delayed = s.delay_until.load(std::memory_order_acquire);
    if (delayed > now) return;                 // a delay still runs
    if (delayed) hold_until(s.delay_until, 0); // it was the connect's: paid now
    uint32_t len = s.pending_len;
    drop_pending_connect(s);
    int saved = errno;
    // A blocking socket held here is one whose connect a signal interrupted
    // (EINTR): the kernel would go on connecting in the background, so the
    // connect is made without blocking whoever settles it.
    long flags = syscall(SYS_fcntl, fd, F_GETFL, 0);
    bool blocking = flags >= 0 && !(flags & O_NONBLOCK);
    if (blocking) syscall(SYS_fcntl, fd, F_SETFL, flags | O_NONBLOCK);
    if (syscall(SYS_connect, fd, &s.pending_connect, len) != 0 && errno != EINPROGRESS)
        s.connect_error.store(errno, std::memory_order_relaxed); // failed at once: SO_ERROR says so
    if (blocking) syscall(SYS_fcntl, fd, F_SETFL, flags);
    errno = saved;
}

bool partitioned(const SocketState& s, uint32_t op, int64_t now) {
    return partition_active(g_segment, rule_mask(Family::Net), s, op, now);
}

bool wait_out_partition(int fd, SocketState& s, uint32_t op) {
    int opt = op == kOnSend ? SO_SNDTIMEO : SO_RCVTIMEO;
    int64_t bound = socket_timeout(fd, opt);
    int64_t start = monotonic_ns();
    while (partitioned(s, op, monotonic_ns())) {
        if (bound && monotonic_ns() - start >= bound) {
            errno = EAGAIN;
            return false;
        }
        if (!sleep_ns(kRecheck, restarted_unless(fd, opt))) return false; // EINTR
    }
    return true;
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
    if (partitioned(*s, read ? kOnRecv : kOnSend, now))
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
