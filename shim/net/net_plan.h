// What a network fault does to one call, as a value: decided from the rule
// that injected, the socket's state and the call, then carried out by
// net_faults.cpp (send, recv) and net_connect.cpp (connect). No hooks, no
// clock, no sleeping here: unit tests check every kind's plan
// (tests/unit/test_net_plan.cpp).
#pragma once

#include "common/rule.h"
#include "shim/net/net_sockets.h"

#include <cstddef>
#include <cstdint>

namespace faultline::shim {

enum class Act : uint8_t {
    Pass,       // the real call, whole
    Fail,       // fail now with `error`
    Hold,       // non-blocking: EAGAIN now and an edge owed; until `until` (0: while
                // the partition lasts) poll/select/epoll hide the socket
    Sleep,      // blocking: sleep until `until`, then the real call
    Await,      // blocking: wait while the partition lasts, then the real call
    Drop,       // a lost datagram: a send reports it sent, a recv reads past it
    Shorten,    // the real call for at most `bytes` (net.slice)
    ResetAfter, // move at most `bytes`, then abort the connection (net.reset)
    Pace,       // net.bandwidth's bucket paces the call
    Hang,       // net.timeout: no data until `until`, then the connection times out
    Corrupt,    // the real call, then one bit of what came in flipped
    HoldAfter,  // connect, non-blocking: the real connect now, readiness held until `until`
};

struct NetPlan {
    Act act = Act::Pass;
    int error = 0;             // Fail
    int64_t until = 0;         // Hold, Sleep, Hang, HoldAfter (CLOCK_MONOTONIC)
    size_t bytes = 0;          // Shorten, ResetAfter
    bool lost_segment = false; // TCP net.loss: the retransmission streak grows
};

// The retransmission timeout of a lost TCP segment: rto=, doubling with each
// loss in a row (at most 64 times).
int64_t retransmission_timeout(const Rule& r, uint32_t loss_streak);

// TCP net.loss over `bytes` moved in segments of `mss` bytes: one draw per
// segment (at least one), in order; each lost segment waits the
// retransmission timeout at the streak of losses in a row so far (which
// carries over from call to call, and a segment that arrives ends).
struct SegmentLoss {
    uint32_t segments = 0;
    uint32_t lost = 0;
    uint32_t streak = 0; // losses in a row at the end
    int64_t wait_ns = 0; // what the lost ones cost
};
template <class Unit>
SegmentLoss lose_segments(const Rule& r, uint32_t streak, size_t bytes, uint32_t mss, Unit&& unit) {
    SegmentLoss out;
    size_t n = mss ? (bytes + mss - 1) / mss : 1;
    out.segments = n ? uint32_t(n < 0xffffffffu ? n : 0xffffffffu) : 1;
    out.streak = streak;
    for (uint32_t i = 0; i < out.segments; ++i) {
        if (r.p < 1.0 && unit() >= r.p) {
            out.streak = 0;
            continue;
        }
        out.wait_ns += retransmission_timeout(r, out.streak);
        ++out.streak;
        ++out.lost;
    }
    return out;
}
// The segment size of a TCP connection as net.loss draws: 1448 bytes (an
// Ethernet path's, with timestamps), or the socket's TCP_MAXSEG when smaller
// (`maxseg` <= 0: unknown). Loopback's 65483 is its MTU's, not a network's.
constexpr uint32_t kSegment = 1448;
inline uint32_t segment_size(int maxseg) {
    return maxseg > 0 && uint32_t(maxseg) < kSegment ? uint32_t(maxseg) : kSegment;
}

// `delay_ns`: the rule's delay drawn for this call (delay_of: jitter comes
// from the thread's stream), for TCP net.loss what its lost segments cost
// (lose_segments; 0: one segment, at the socket's streak); `now` the call's
// start.
NetPlan plan_send(const Rule& r, const SocketState& s, size_t len, bool nonblocking, int64_t now,
                  int64_t delay_ns);
// `peek`: MSG_PEEK, nothing consumed (a lost datagram is left to the read
// that takes it).
NetPlan plan_recv(const Rule& r, const SocketState& s, size_t len, bool nonblocking, bool peek,
                  int64_t now, int64_t delay_ns);
// Lost SYNs are the connect's own loop (net_connect.cpp); this plans the
// rest. `own_timeout_ns`: the socket's SO_SNDTIMEO, 0 unset.
NetPlan plan_connect(const Rule& r, bool nonblocking, int64_t now, int64_t delay_ns,
                     int64_t own_timeout_ns);

} // namespace faultline::shim
