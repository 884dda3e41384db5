// The network fault state, linked without the hooks: which rules act on a
// socket (shim/net/net_rules.h), net.bandwidth's bucket (bandwidth.h), the
// socket table's classification (net_sockets.h) and the holds a fault leaves
// (socket_holds.h), counted once per socket however many threads race.
#include "common/segment.h"
#include "shim/net/bandwidth.h"
#include "shim/net/net_rules.h"
#include "shim/net/net_sockets.h"
#include "shim/net/socket_holds.h"
#include "tests/unit/helpers.h"

#include <arpa/inet.h>
#include <cstring>
#include <doctest/doctest.h>
#include <memory>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace faultline;
using namespace faultline::shim;
using faultline::test::rule;

namespace {

// A socket state as the table holds it after classification.
std::unique_ptr<SocketState> socket_to(const char* ip, uint16_t port, SocketType type,
                                       uint16_t local_port = 40000) {
    auto s = std::make_unique<SocketState>();
    s->type.store(uint8_t(type));
    s->local_port = local_port;
    if (strchr(ip, ':')) {
        sockaddr_in6 a{};
        a.sin6_family = AF_INET6;
        a.sin6_port = htons(port);
        REQUIRE(inet_pton(AF_INET6, ip, &a.sin6_addr) == 1);
        socket_set_peer(*s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    } else {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        REQUIRE(inet_pton(AF_INET, ip, &a.sin_addr) == 1);
        socket_set_peer(*s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
    return s;
}

struct Armed {
    Segment* seg = segment_create_private(7);
    ~Armed() { segment_unmap(seg); }
    // Arms `text` at time `now`; returns its key as a socket would keep it.
    uint64_t arm(const char* text, int64_t now, unsigned* slot_out = nullptr) {
        Rule r = rule(text);
        uint32_t id = 0;
        const char* why = nullptr;
        REQUIRE(segment_arm(seg, &r, 1, &id, why));
        for (unsigned i = 0; i < kMaxRules; ++i)
            if (seg->rules[i].id == id &&
                state_of(seg->rules[i].state.load()) == RuleState::Armed) {
                seg->rules[i].armed_ns = now;
                if (slot_out) *slot_out = i;
                return rule_key(i, seg->rules[i].state.load());
            }
        FAIL("armed rule not found");
        return 0;
    }
};

constexpr int64_t kSec = 1'000'000'000;

} // namespace

TEST_CASE("net rules: peer= by prefix and port, IPv4, IPv6 and IPv4-mapped peers") {
    auto s = socket_to("10.1.2.3", 6379, SocketType::Tcp);
    CHECK(peer_matches(rule("net.delay delay=1ms peer=10.1.2.0/24"), *s));
    CHECK_FALSE(peer_matches(rule("net.delay delay=1ms peer=10.1.3.0/24"), *s));
    CHECK(peer_matches(rule("net.delay delay=1ms peer=*:6379"), *s));
    CHECK_FALSE(peer_matches(rule("net.delay delay=1ms peer=*:6380"), *s));
    CHECK(peer_matches(rule("net.delay delay=1ms peer=10.1.2.3:6379"), *s));
    CHECK(peer_matches(rule("net.delay delay=1ms peer=0.0.0.0/0"), *s));

    auto v6 = socket_to("2001:db8::5", 443, SocketType::Tcp);
    CHECK(peer_matches(rule("net.delay delay=1ms peer=[2001:db8::]/32"), *v6));
    CHECK_FALSE(peer_matches(rule("net.delay delay=1ms peer=[2001:db9::]/32"), *v6));
    CHECK_FALSE(peer_matches(rule("net.delay delay=1ms peer=10.1.2.0/24"), *v6));

    auto mapped = socket_to("::ffff:10.1.2.3", 80, SocketType::Tcp);
    CHECK(peer_matches(rule("net.delay delay=1ms peer=10.1.2.0/24"), *mapped));

    SocketState unknown{};
    unknown.type.store(uint8_t(SocketType::Tcp));
    CHECK_FALSE(peer_matches(rule("net.delay delay=1ms peer=*:80"), unknown));
    CHECK(peer_matches(rule("net.delay delay=1ms"), unknown));
}

TEST_CASE("net rules: proto= and lport= pick the socket") {
    auto tcp = socket_to("127.0.0.1", 80, SocketType::Tcp, 8080);
    auto udp = socket_to("127.0.0.1", 53, SocketType::Udp, 5353);
    CHECK(fits_socket(rule("net.loss p=1 proto=tcp"), *tcp));
    CHECK_FALSE(fits_socket(rule("net.loss p=1 proto=tcp"), *udp));
    CHECK(fits_socket(rule("net.loss p=1 proto=udp"), *udp));
    CHECK(fits_socket(rule("net.delay delay=1ms lport=8080"), *tcp));
    CHECK_FALSE(fits_socket(rule("net.delay delay=1ms lport=8080"), *udp));
}

TEST_CASE("net rules: which operations each kind acts on") {
    auto tcp = socket_to("127.0.0.1", 80, SocketType::Tcp);
    auto udp = socket_to("127.0.0.1", 53, SocketType::Udp);
    Rule delay = rule("net.delay delay=10ms");
    // Without on=: one more round trip per exchange.
    CHECK(kind_applies(delay, kOnConnect, *tcp, 0));
    CHECK(kind_applies(delay, kOnAccept, *tcp, 0));
    CHECK_FALSE(kind_applies(delay, kOnSend, *tcp, 10));
    tcp->turn = 0;
    CHECK_FALSE(kind_applies(delay, kOnRecv, *tcp, 10));
    tcp->turn = 1; // a send since the last recv: the reply is the exchange's
    CHECK(kind_applies(delay, kOnRecv, *tcp, 10));
    CHECK(kind_applies(rule("net.delay delay=10ms on=send"), kOnSend, *tcp, 10));

    Rule reset = rule("net.reset bytes=1000");
    tcp->moved.store(900);
    CHECK_FALSE(kind_applies(reset, kOnSend, *tcp, 50));
    CHECK(kind_applies(reset, kOnSend, *tcp, 100));        // crosses the mark
    CHECK_FALSE(kind_applies(reset, kOnSend, *udp, 5000)); // TCP only

    Rule slice = rule("net.slice max=100");
    CHECK(kind_applies(slice, kOnRecv, *tcp, 101));
    CHECK_FALSE(kind_applies(slice, kOnRecv, *tcp, 100));
    CHECK_FALSE(kind_applies(slice, kOnRecv, *udp, 1000)); // a datagram moves whole

    CHECK(kind_applies(rule("net.loss p=1"), kOnConnect, *tcp, 0)); // lost SYNs
    CHECK_FALSE(kind_applies(rule("net.loss p=1"), kOnConnect, *udp, 0));
    CHECK(kind_applies(rule("net.refuse"), kOnConnect, *tcp, 0));
    CHECK_FALSE(kind_applies(rule("net.refuse"), kOnSend, *tcp, 10));
    CHECK(kind_applies(rule("net.corrupt"), kOnRecv, *tcp, 10));
    CHECK_FALSE(kind_applies(rule("net.bandwidth rate=1mbit dir=recv"), kOnSend, *tcp, 10));
    CHECK(kind_applies(rule("net.bandwidth rate=1mbit dir=recv"), kOnRecv, *tcp, 10));
}

TEST_CASE("net rules: a remembered rule is live while armed and active, never after re-arming") {
    Armed a;
    int64_t t0 = 100 * kSec;
    unsigned slot = 0;
    uint64_t key = a.arm("net.partition start=1s for=2s name=p", t0, &slot);
    CHECK(live_rule(a.seg, key, t0) == nullptr); // start= not reached
    CHECK(live_rule(a.seg, key, t0 + kSec) != nullptr);
    CHECK(live_rule(a.seg, key, t0 + 3 * kSec) == nullptr); // for= over
    CHECK(live_rule(nullptr, key, t0 + kSec) == nullptr);
    CHECK(live_rule(a.seg, 0, t0 + kSec) == nullptr);

    auto s = socket_to("10.0.0.1", 80, SocketType::Tcp);
    uint64_t mask = a.seg->armed[unsigned(Family::Net)].load();
    CHECK(partition_active(a.seg, mask, *s, kOnSend, t0 + kSec));
    CHECK_FALSE(partition_active(a.seg, mask, *s, kOnSend, t0 + 3 * kSec));

    REQUIRE(segment_disarm(a.seg, "p") == 1);
    CHECK(live_rule(a.seg, key, t0 + kSec) == nullptr);
    uint64_t again = a.arm("net.partition peer=10.0.0.2", t0);
    CHECK(again != key);
    CHECK(live_rule(a.seg, key, t0 + kSec) == nullptr); // the old key names another rule
    mask = a.seg->armed[unsigned(Family::Net)].load();
    CHECK_FALSE(partition_active(a.seg, mask, *s, kOnSend, t0 + kSec)); // another peer
}

TEST_CASE("net rules: a hang outlives its rule's times= budget, not a disarm") {
    Armed a;
    int64_t t0 = 10 * kSec;
    unsigned slot = 0;
    uint64_t key = a.arm("net.timeout timeout=5s times=1 name=t", t0, &slot);
    CHECK(hang_held(a.seg, key, t0));
    // The one injection spends the budget and retires the rule.
    RuleSlot& rs = a.seg->rules[slot];
    rs.taken.store(1);
    REQUIRE(segment_retire(a.seg, slot, rs.state.load(), t0 + 1));
    CHECK(live_rule(a.seg, key, t0 + 2) == nullptr);
    CHECK(hang_held(a.seg, key, t0 + 2));
}

TEST_CASE("bandwidth: the bucket fills at the rate, caps at the burst, and paces a transfer") {
    Rule r = rule("net.bandwidth rate=1MB/s");
    CHECK(burst_of(r) == doctest::Approx(10000));                               // 10 ms worth
    CHECK(burst_of(rule("net.bandwidth rate=8kbit")) == doctest::Approx(1460)); // a segment
    CHECK(burst_of(rule("net.bandwidth rate=1MB/s burst=64KiB")) == doctest::Approx(65536));

    TokenBucket b{};
    int64_t now = 5 * kSec;
    CHECK(refill(b, r, 1, now) == doctest::Approx(10000)); // a new rule: full
    b.tokens = 0;
    CHECK(refill(b, r, 1, now + 1'000'000) == doctest::Approx(1000)); // 1 ms at 1 MB/s
    CHECK(refill(b, r, 1, now + kSec) == doctest::Approx(10000));     // capped
    b.tokens = 0;
    CHECK(refill(b, r, 2, now + kSec) == doctest::Approx(10000)); // another rule starts afresh
    CHECK(quantum(r, 100) == doctest::Approx(100));
    CHECK(quantum(r, 1 << 20) == doctest::Approx(1460));
    b.tokens = 460;
    CHECK(wait_for_tokens(b, r, 1460) == 1'000'001); // 1000 bytes at 1 MB/s, rounded up
    b.tokens = 2000;
    CHECK(wait_for_tokens(b, r, 1460) == 0);

    // A sender that moves what the bucket allows and sleeps as told moves
    // 2 s worth of bytes in 2 s of simulated time, within 1%.
    TokenBucket p{};
    int64_t t = 0;
    double moved = 0;
    refill(p, r, 9, t);
    while (t < 2 * kSec) {
        double tokens = refill(p, r, 9, t);
        double want = quantum(r, 64 * 1024);
        if (tokens < want) {
            t += wait_for_tokens(p, r, want);
            continue;
        }
        double chunk = tokens < 64 * 1024 ? tokens : 64 * 1024;
        p.tokens -= chunk;
        moved += chunk;
    }
    CHECK(moved / 2e6 == doctest::Approx(1.0).epsilon(0.01));
}

TEST_CASE("socket table: real sockets are classified, other fds are not the network's") {
    int tcp = socket(AF_INET, SOCK_STREAM, 0);
    int udp = socket(AF_INET6, SOCK_DGRAM, 0);
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    REQUIRE(tcp >= 0);
    REQUIRE(udp >= 0);
    SocketState* t = socket_state(tcp);
    REQUIRE(t);
    CHECK(SocketType(t->type.load()) == SocketType::Tcp);
    CHECK(is_inet(t));
    SocketState* u = socket_state(udp);
    CHECK(SocketType(u->type.load()) == SocketType::Udp);
    CHECK(u->family == 6);
    CHECK_FALSE(is_inet(socket_state(fds[0])));
    CHECK(socket_state(-1) == nullptr);
    // Closed and reused: forgotten, classified afresh.
    close(tcp);
    socket_forget(tcp);
    int again = dup(fds[1]);
    REQUIRE(again == tcp);
    CHECK_FALSE(is_inet(socket_state(again)));
    close(again);
    close(udp);
    socket_forget(udp);
    close(fds[0]);
    close(fds[1]);
}

TEST_CASE("socket holds: counted once per socket however many threads race") {
    SocketState* s = new SocketState{};
    int edges = g_edges_owed.load(), hangs = g_hangs.load(), pending = g_pending_connects.load();
    std::vector<std::thread> pool;
    std::atomic<int> owed{0}, taken{0};
    for (int i = 0; i < 4; ++i)
        pool.emplace_back([&, i] {
            for (int round = 0; round < 1000; ++round) {
                owed += owe_edge(*s);
                hold_until(s->delay_until, int64_t(i) * 1000 + round);
            }
        });
    for (auto& th : pool) th.join();
    CHECK(owed.load() == 1);
    CHECK(g_edges_owed.load() == edges + 1);
    CHECK(g_holds_until.load() >= 3999); // the latest of all
    pool.clear();
    for (int i = 0; i < 4; ++i) pool.emplace_back([&] { taken += take_owed_edge(*s); });
    for (auto& th : pool) th.join();
    CHECK(taken.load() == 1);
    CHECK(g_edges_owed.load() == edges);

    pool.clear();
    for (int i = 0; i < 4; ++i) pool.emplace_back([&, i] { set_hang(*s, 50 * kSec + i); });
    for (auto& th : pool) th.join();
    CHECK(g_hangs.load() == hangs + 1);
    CHECK(lift_hang(*s));
    CHECK_FALSE(lift_hang(*s));
    CHECK(g_hangs.load() == hangs);

    sockaddr_in a{};
    a.sin_family = AF_INET;
    hold_connect(*s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    hold_connect(*s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    CHECK(g_pending_connects.load() == pending + 1);
    drop_pending_connect(*s);
    drop_pending_connect(*s);
    CHECK(g_pending_connects.load() == pending);
    delete s;
}

TEST_CASE("net rules: kind_applies acts on exactly the operations the parser allows on=") {
    // For every net kind with on= and every operation: the parser's
    // kind_operations() and the shim's kind_applies() agree, so that a rule
    // refused as never firing really would not, and one accepted can.
    const char* kinds[] = {
        "net.delay delay=1ms", "net.timeout", "net.loss",      "net.bandwidth rate=1mbit",
        "net.reset",           "net.refuse",  "net.partition", "net.slice max=1",
        "net.corrupt"};
    const uint32_t socket_ops[] = {kOnConnect, kOnAccept, kOnSend, kOnRecv};
    for (const char* text : kinds) {
        Rule r = rule(text);
        uint32_t can = kind_operations(r.kind);
        for (uint32_t op : socket_ops) {
            r.ops = op;
            bool applies = false;
            for (SocketType t : {SocketType::Tcp, SocketType::Udp}) {
                auto s = socket_to("127.0.0.1", 80, t);
                s->turn = 1;
                s->moved.store(1 << 20);
                applies = applies || kind_applies(r, op, *s, 4096);
            }
            INFO(text, " op=", op);
            CHECK(applies == ((can & op) != 0));
        }
    }
}

TEST_CASE("both ends in the session: rules that act on receives judge data where it is received") {
    CHECK(acts_on_receive(rule("net.loss p=20%")));
    CHECK(acts_on_receive(rule("net.loss on=send,recv")));
    CHECK_FALSE(acts_on_receive(rule("net.loss on=send")));
    CHECK(acts_on_receive(rule("net.bandwidth rate=1mbit")));
    CHECK_FALSE(acts_on_receive(rule("net.bandwidth rate=1mbit dir=send")));
    CHECK(acts_on_receive(rule("net.reset")));
    CHECK_FALSE(acts_on_receive(rule("net.refuse")));
    CHECK(loopback_peer(*socket_to("127.0.0.1", 80, SocketType::Udp)));
    CHECK(loopback_peer(*socket_to("127.3.2.1", 80, SocketType::Tcp)));
    CHECK(loopback_peer(*socket_to("::1", 80, SocketType::Tcp)));
    CHECK(loopback_peer(*socket_to("::ffff:127.0.0.1", 80, SocketType::Tcp)));
    CHECK_FALSE(loopback_peer(*socket_to("10.0.0.1", 80, SocketType::Tcp)));
    CHECK_FALSE(loopback_peer(*socket_to("::2", 80, SocketType::Tcp)));
    SocketState unknown{};
    CHECK_FALSE(loopback_peer(unknown));
}
