#include "shim/net/net_plan.h"

#include "shim/net/net_rules.h"

#include <cerrno>

namespace faultline::shim {

int64_t retransmission_timeout(const Rule& r, uint32_t loss_streak) {
    return r.rto_ns << (loss_streak < 6 ? loss_streak : 6);
}

namespace {

NetPlan make(Act act, int64_t until = 0, size_t bytes = 0) {
    NetPlan p;
    p.act = act;
    p.until = until;
    p.bytes = bytes;
    return p;
}

// Never sleep in a non-blocking call: hold the socket back instead.
NetPlan wait_until(bool nonblocking, int64_t until) {
    return make(nonblocking ? Act::Hold : Act::Sleep, until);
}

NetPlan lost_segment(const Rule& r, const SocketState& s, bool nonblocking, int64_t now,
                     int64_t wait_ns) {
    int64_t wait = wait_ns > 0 ? wait_ns : retransmission_timeout(r, s.loss_streak);
    NetPlan p = wait_until(nonblocking, now + wait);
    p.lost_segment = true;
    return p;
}

NetPlan reset_after(const Rule& r, const SocketState& s) {
    uint64_t moved = s.moved.load(std::memory_order_relaxed);
    return make(Act::ResetAfter, 0, r.amount > moved ? size_t(r.amount - moved) : 0);
}

NetPlan partition(bool nonblocking) {
    return make(nonblocking ? Act::Hold : Act::Await);
}

} // namespace

NetPlan plan_send(const Rule& r, const SocketState& s, size_t len, bool nonblocking, int64_t now,
                  int64_t delay_ns) {
    switch (r.kind) {
    case Kind::NetDelay:
        return wait_until(nonblocking, now + delay_ns);
    case Kind::NetLoss: // a datagram is gone silently; a segment is sent again later
        return is_tcp(s) ? lost_segment(r, s, nonblocking, now, delay_ns) : make(Act::Drop, 0, len);
    case Kind::NetPartition:
        return partition(nonblocking);
    case Kind::NetReset:
        return reset_after(r, s);
    case Kind::NetSlice:
        return make(Act::Shorten, 0, r.max_size);
    case Kind::NetBandwidth:
        return make(Act::Pace);
    default:
        return make(Act::Pass);
    }
}

NetPlan plan_recv(const Rule& r, const SocketState& s, size_t len, bool nonblocking, bool peek,
                  int64_t now, int64_t delay_ns) {
    switch (r.kind) {
    case Kind::NetDelay:
        return wait_until(nonblocking, now + delay_ns);
    case Kind::NetTimeout:
        return make(Act::Hang, now + r.timeout_ns);
    case Kind::NetPartition:
        return partition(nonblocking);
    case Kind::NetLoss:
        if (is_tcp(s)) return lost_segment(r, s, nonblocking, now, delay_ns);
        return make(peek ? Act::Pass : Act::Drop, 0, len);
    case Kind::NetReset:
        return reset_after(r, s);
    case Kind::NetSlice:
        return make(Act::Shorten, 0, r.max_size);
    case Kind::NetBandwidth:
        return make(Act::Pace);
    case Kind::NetCorrupt:
        return make(Act::Corrupt);
    default:
        return make(Act::Pass);
    }
}

NetPlan plan_connect(const Rule& r, bool nonblocking, int64_t now, int64_t delay_ns,
                     int64_t own_timeout_ns) {
    switch (r.kind) {
    case Kind::NetDelay:
        // Non-blocking: connected now, writability (and data) held back.
        return make(nonblocking ? Act::HoldAfter : Act::Sleep, now + delay_ns);
    case Kind::NetRefuse: {
        NetPlan p = make(Act::Fail);
        p.error = r.code;
        return p;
    }
    case Kind::NetTimeout: {
        // Non-blocking: in progress until the timeout, then SO_ERROR says
        // ETIMEDOUT. Blocking: hung until the timeout, or the socket's own
        // SO_SNDTIMEO when shorter (then EINPROGRESS, as Linux says).
        bool own = !nonblocking && own_timeout_ns && own_timeout_ns < r.timeout_ns;
        NetPlan p = make(Act::Hang, now + (own ? own_timeout_ns : r.timeout_ns));
        p.error = own ? EINPROGRESS : ETIMEDOUT;
        return p;
    }
    case Kind::NetPartition:
        return partition(nonblocking);
    default:
        return make(Act::Pass);
    }
}

} // namespace faultline::shim
