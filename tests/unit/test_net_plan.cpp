// What each network fault does to one call (shim/net/net_plan.h), decided
// without a socket, a clock or a sleep: blocking callers wait, non-blocking
// ones are held back and never sleep, datagrams are lost whole, streams are
// shortened, reset, paced or corrupted.
#include "shim/net/net_plan.h"
#include "tests/unit/helpers.h"

#include <cerrno>
#include <doctest/doctest.h>

using namespace faultline;
using namespace faultline::shim;
using faultline::test::rule;

namespace {

// A socket state as the table holds it once classified.
struct Socket : SocketState {
    explicit Socket(SocketType t) : SocketState{} { type.store(uint8_t(t)); }
};

constexpr int64_t kNow = 1'000'000'000;
constexpr int64_t kMs = 1'000'000;

} // namespace

TEST_CASE("net plan: a delay sleeps a blocking call and holds a non-blocking one back") {
    Socket s(SocketType::Tcp);
    Rule r = rule("net.delay delay=20ms on=send");
    NetPlan blocking = plan_send(r, s, 100, false, kNow, 20 * kMs);
    CHECK(blocking.act == Act::Sleep);
    CHECK(blocking.until == kNow + 20 * kMs);
    NetPlan held = plan_send(r, s, 100, true, kNow, 20 * kMs);
    CHECK(held.act == Act::Hold);
    CHECK(held.until == kNow + 20 * kMs);
    CHECK(plan_recv(r, s, 100, true, false, kNow, 5 * kMs).until == kNow + 5 * kMs);
}

TEST_CASE("net plan: loss drops a datagram whole, costs a stream a doubling retransmission") {
    Rule r = rule("net.loss p=1 rto=200ms");
    Socket u(SocketType::Udp);
    NetPlan d = plan_send(r, u, 512, false, kNow, 0);
    CHECK(d.act == Act::Drop);
    CHECK(d.bytes == 512); // reported sent
    CHECK(plan_recv(r, u, 512, false, false, kNow, 0).act == Act::Drop);
    CHECK(plan_recv(r, u, 512, false, true, kNow, 0).act == Act::Pass); // a peek reads on

    Socket t(SocketType::Tcp);
    NetPlan first = plan_send(r, t, 512, false, kNow, 0);
    CHECK(first.act == Act::Sleep);
    CHECK(first.lost_segment);
    CHECK(first.until == kNow + 200 * kMs);
    t.loss_streak = 3;
    CHECK(plan_send(r, t, 512, true, kNow, 0).until == kNow + 1600 * kMs);
    CHECK(plan_send(r, t, 512, true, kNow, 0).act == Act::Hold);
    t.loss_streak = 40;
    CHECK(retransmission_timeout(r, t.loss_streak) == 64 * 200 * kMs); // capped
}

TEST_CASE("net plan: reset moves what is left up to the mark; slice shortens; bandwidth paces") {
    Socket s(SocketType::Tcp);
    s.moved.store(900);
    NetPlan reset = plan_send(rule("net.reset bytes=1000"), s, 4096, false, kNow, 0);
    CHECK(reset.act == Act::ResetAfter);
    CHECK(reset.bytes == 100);
    s.moved.store(5000);
    CHECK(plan_recv(rule("net.reset bytes=1000"), s, 10, false, false, kNow, 0).bytes == 0);
    NetPlan slice = plan_recv(rule("net.slice max=7"), s, 4096, false, false, kNow, 0);
    CHECK(slice.act == Act::Shorten);
    CHECK(slice.bytes == 7);
    CHECK(plan_send(rule("net.bandwidth rate=1mbit"), s, 10, false, kNow, 0).act == Act::Pace);
    CHECK(plan_recv(rule("net.corrupt"), s, 10, false, false, kNow, 0).act == Act::Corrupt);
}

TEST_CASE("net plan: timeouts hang, partitions hold or wait") {
    Socket s(SocketType::Tcp);
    NetPlan hang = plan_recv(rule("net.timeout timeout=3s"), s, 10, false, false, kNow, 0);
    CHECK(hang.act == Act::Hang);
    CHECK(hang.until == kNow + 3000 * kMs);
    Rule p = rule("net.partition");
    CHECK(plan_send(p, s, 10, false, kNow, 0).act == Act::Await);
    NetPlan held = plan_recv(p, s, 10, true, false, kNow, 0);
    CHECK(held.act == Act::Hold);
    CHECK(held.until == 0); // for as long as the partition lasts
}

TEST_CASE("net plan: connect") {
    NetPlan refused = plan_connect(rule("net.refuse errno=EHOSTUNREACH"), false, kNow, 0, 0);
    CHECK(refused.act == Act::Fail);
    CHECK(refused.error == EHOSTUNREACH);
    // A non-blocking connect under a delay is made now, its readiness held.
    NetPlan nb = plan_connect(rule("net.delay delay=50ms"), true, kNow, 50 * kMs, 0);
    CHECK(nb.act == Act::HoldAfter);
    CHECK(nb.until == kNow + 50 * kMs);
    CHECK(plan_connect(rule("net.delay delay=50ms"), false, kNow, 50 * kMs, 0).act == Act::Sleep);
    NetPlan t = plan_connect(rule("net.timeout timeout=5s"), false, kNow, 0, 0);
    CHECK(t.act == Act::Hang);
    CHECK(t.error == ETIMEDOUT);
    CHECK(t.until == kNow + 5000 * kMs);
    // SO_SNDTIMEO shorter than the fault ends it first, as Linux says.
    NetPlan own = plan_connect(rule("net.timeout timeout=5s"), false, kNow, 0, 1000 * kMs);
    CHECK(own.error == EINPROGRESS);
    CHECK(own.until == kNow + 1000 * kMs);
    CHECK(plan_connect(rule("net.timeout timeout=5s"), true, kNow, 0, 1000 * kMs).error ==
          ETIMEDOUT); // non-blocking: SO_ERROR after the fault's timeout
    CHECK(plan_connect(rule("net.partition"), true, kNow, 0, 0).act == Act::Hold);
    CHECK(plan_connect(rule("net.partition"), false, kNow, 0, 0).act == Act::Await);
}

TEST_CASE("net plan: TCP loss draws per segment of 1448 bytes (or a smaller TCP_MAXSEG)") {
    CHECK(segment_size(0) == 1448);
    CHECK(segment_size(65483) == 1448); // loopback's MTU is no network's
    CHECK(segment_size(536) == 536);
    Rule r = rule("net.loss p=2% rto=10ms");
    // A scripted stream: segments 3 and 4 (in a row) and 10 are lost.
    int i = 0;
    auto unit = [&] {
        ++i;
        return i == 3 || i == 4 || i == 10 ? 0.001 : 0.5;
    };
    SegmentLoss l = lose_segments(r, 0, 10 * 1448, 1448, unit);
    CHECK(l.segments == 10);
    CHECK(l.lost == 3);
    CHECK(l.wait_ns == (10 + 20 + 10) * kMs); // the second in a row waits twice as long
    CHECK(l.streak == 1);                     // the last was lost: the next call carries on
    i = 0;
    CHECK(lose_segments(r, 0, 1, 1448, unit).segments == 1); // at least one
    i = 0;
    CHECK(lose_segments(r, 0, 1449, 1448, unit).segments == 2);
    // Over many segments, the fraction lost is p.
    uint64_t x = 88172645463325252ull;
    auto xorshift = [&] {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        return double(x >> 11) / double(uint64_t(1) << 53);
    };
    SegmentLoss big = lose_segments(r, 0, 100'000 * size_t(1448), 1448, xorshift);
    CHECK(big.segments == 100'000);
    CHECK(big.lost > 1800);
    CHECK(big.lost < 2200);
    // A lost call (no segments drawn) waits one rto at the socket's streak.
    Socket t(SocketType::Tcp);
    CHECK(plan_recv(r, t, 512, false, false, kNow, 0).until == kNow + 10 * kMs);
    CHECK(plan_recv(r, t, 512, false, false, kNow, 30 * kMs).until == kNow + 30 * kMs);
}
