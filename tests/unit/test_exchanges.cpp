// A client's exchanges (shim/net/exchanges.cpp): what ends one, how it ends,
// and what goes into the session's ring. The unit binary links no
// shim/core/runtime.o: the segment the exchanges go to is this file's.
#include "shim/net/exchanges.h"

#include "common/segment.h"
#include "shim/core/runtime.h"
#include "shim/core/thread_state.h"

#include <cerrno>
#include <cstring>
#include <doctest/doctest.h>
#include <vector>

namespace faultline::shim {
Segment* g_segment = nullptr;
std::atomic<uint32_t> g_process_gen{1};
} // namespace faultline::shim

using namespace faultline;
using namespace faultline::shim;

namespace {

struct Client {
    Segment* seg = segment_create_private(1);
    SocketState s{};
    Client() {
        g_segment = seg;
        seg->recorder_pid.store(1);
    }
    ~Client() {
        g_segment = nullptr;
        segment_unmap(seg);
    }
    struct Seen {
        int64_t latency_ns;
        uint16_t http_status;
        ExchangeFailure failure;
    };
    // What was pushed, once a failed connect held back is let go (as the
    // next connect elsewhere, or the process's exit, lets it go).
    std::vector<Seen> drained() {
        exchanges_at_exit();
        std::vector<Seen> out;
        ExchangeRecord r;
        while (seg->exchanges.pop(r)) out.push_back({r.latency_ns, r.http_status, r.failure});
        return out;
    }
    void send(const char* text) { exchange_sent(s, ssize_t(strlen(text)), 0, monotonic_ns()); }
    void recv(const char* text) {
        exchange_received(s, ssize_t(strlen(text)), 0, text, strlen(text));
    }
};

} // namespace

TEST_CASE("exchanges: a request and its response; the next send starts the next") {
    Client c;
    exchange_connect(c.s, nullptr, 0, 0, monotonic_ns());
    c.send("GET / HTTP/1.1\r\n\r\n");
    c.recv("HTTP/1.1 200 OK\r\n");
    c.recv("Content-Length: 0\r\n\r\n");
    CHECK(c.drained().empty()); // more may come until the next send
    c.send("GET /b HTTP/1.1\r\n\r\n");
    auto done = c.drained();
    REQUIRE(done.size() == 1);
    CHECK(done[0].failure == ExchangeFailure::None);
    CHECK(done[0].http_status == 200);
    CHECK(done[0].latency_ns >= 0);
    c.recv("HTTP/1.1 503 Service Unavailable\r\n\r\n");
    exchange_received(c.s, 0, 0, nullptr, 0); // the end of the connection
    done = c.drained();
    REQUIRE(done.size() == 1);
    CHECK(done[0].failure == ExchangeFailure::Http5xx);
    CHECK(done[0].http_status == 503);
}

TEST_CASE("exchanges: the status line may come in pieces; a non-HTTP response has none") {
    Client c;
    exchange_connect(c.s, nullptr, 0, 0, monotonic_ns());
    c.send("GET / HTTP/1.0\r\n\r\n");
    c.recv("HTTP/1.");
    c.recv("0 50");
    c.recv("2 Bad Gateway\r\n");
    exchange_closed(c.s);
    auto done = c.drained();
    REQUIRE(done.size() == 1);
    CHECK(done[0].failure == ExchangeFailure::Http5xx);
    CHECK(done[0].http_status == 502);

    Client redis;
    exchange_connect(redis.s, nullptr, 0, 0, monotonic_ns());
    redis.send("*1\r\n$4\r\nPING\r\n");
    redis.recv("+PONG\r\n");
    redis.send("*1\r\n$4\r\nPING\r\n");
    done = redis.drained();
    REQUIRE(done.size() == 1);
    CHECK(done[0].failure == ExchangeFailure::None);
    CHECK(done[0].http_status == 0);
}

TEST_CASE("exchanges: failures: connect, reset, timeout, no response") {
    Client refused;
    exchange_connect(refused.s, nullptr, -1, ECONNREFUSED, monotonic_ns());
    auto done = refused.drained();
    REQUIRE(done.size() == 1);
    CHECK(done[0].failure == ExchangeFailure::Connect);

    Client later; // non-blocking: EINPROGRESS, then SO_ERROR says
    exchange_connect(later.s, nullptr, -1, EINPROGRESS, monotonic_ns());
    exchange_connect_result(later.s, ECONNREFUSED);
    done = later.drained();
    REQUIRE(done.size() == 1);
    CHECK(done[0].failure == ExchangeFailure::Connect);

    Client again; // connect called again to ask (APR): the same exchange
    exchange_connect(again.s, nullptr, -1, EINPROGRESS, monotonic_ns());
    exchange_connect(again.s, nullptr, 0, 0, monotonic_ns());
    again.send("x");
    again.recv("y");
    exchange_closed(again.s);
    done = again.drained();
    REQUIRE(done.size() == 1);
    CHECK(done[0].failure == ExchangeFailure::None);

    Client abandoned; // a connect in progress given up: closed before it completed
    exchange_connect(abandoned.s, nullptr, -1, EINPROGRESS, monotonic_ns());
    exchange_closed(abandoned.s);
    done = abandoned.drained();
    REQUIRE(done.size() == 1);
    CHECK(done[0].failure == ExchangeFailure::Connect);

    Client reset;
    exchange_connect(reset.s, nullptr, 0, 0, monotonic_ns());
    reset.send("x");
    exchange_received(reset.s, -1, ECONNRESET, nullptr, 0);
    reset.send("after"); // a dead connection carries nothing more
    done = reset.drained();
    REQUIRE(done.size() == 1);
    CHECK(done[0].failure == ExchangeFailure::Reset);

    Client timeout;
    exchange_connect(timeout.s, nullptr, 0, 0, monotonic_ns());
    timeout.send("x");
    exchange_received(timeout.s, -1, ETIMEDOUT, nullptr, 0);
    done = timeout.drained();
    REQUIRE(done.size() == 1);
    CHECK(done[0].failure == ExchangeFailure::Timeout);

    Client gave_up; // the client's own timeout: it closes before any answer
    exchange_connect(gave_up.s, nullptr, 0, 0, monotonic_ns());
    gave_up.send("x");
    exchange_received(gave_up.s, -1, EAGAIN, nullptr, 0); // not a failure
    exchange_closed(gave_up.s);
    done = gave_up.drained();
    REQUIRE(done.size() == 1);
    CHECK(done[0].failure == ExchangeFailure::NoResponse);
}

TEST_CASE("exchanges: nothing without a request; nothing untracked; nothing unrecorded") {
    Client idle;
    exchange_connect(idle.s, nullptr, 0, 0, monotonic_ns());
    idle.recv("220 greeting"); // a server speaking first: no exchange's
    exchange_received(idle.s, 0, 0, nullptr, 0);
    exchange_closed(idle.s);
    CHECK(idle.drained().empty());

    Client accepted; // not a connection this client made
    accepted.send("x");
    accepted.recv("y");
    exchange_closed(accepted.s);
    CHECK(accepted.drained().empty());

    Client unrecorded; // counted all the same
    unrecorded.seg->recorder_pid.store(0);
    exchange_connect(unrecorded.s, nullptr, -1, ECONNREFUSED, monotonic_ns());
    CHECK(unrecorded.drained().empty());
    CHECK(unrecorded.seg->exchanges_ended.load() == 1);
    CHECK(unrecorded.seg->exchanges_failed.load() == 1);
}

TEST_CASE("exchanges: at exit, a response ends its exchange; a request unanswered is none") {
    Client c;
    SocketState* table = sockets_create();
    REQUIRE(table);
    SocketState& a = table[7];
    SocketState& b = table[9];
    a.exchange = {};
    b.exchange = {};
    exchange_connect(a, nullptr, 0, 0, monotonic_ns());
    exchange_connect(b, nullptr, 0, 0, monotonic_ns());
    exchange_sent(a, 1, 0, monotonic_ns());
    exchange_received(a, 3, 0, "abc", 3);   // answered: its last exchange
    exchange_sent(b, 1, 0, monotonic_ns()); // unanswered
    exchanges_at_exit();
    auto done = c.drained();
    REQUIRE(done.size() == 1);
    CHECK(done[0].failure == ExchangeFailure::None);
    CHECK(a.exchange.phase == ExchangePhase::Untracked);
    CHECK(b.exchange.phase == ExchangePhase::Untracked);
}

TEST_CASE("exchanges: a forked child's copy of its parent's connection is not its own") {
    Client c;
    exchange_connect(c.s, nullptr, 0, 0, monotonic_ns());
    c.send("GET / HTTP/1.1\r\n\r\n");
    g_process_gen.fetch_add(1); // as in a fork child (runtime.cpp)
    c.recv("HTTP/1.1 200 OK\r\n\r\n");
    c.send("GET / HTTP/1.1\r\n\r\n");
    exchange_closed(c.s); // the child closes its copy: the parent's exchange
    CHECK(c.drained().empty());
    CHECK(c.s.exchange.phase == ExchangePhase::Untracked);
}

namespace {
sockaddr_in6 v6_loopback(uint16_t port) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    a.sin6_addr = in6addr_loopback;
    return a;
}
sockaddr_in v4_loopback(uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}
const sockaddr* sa(const void* a) {
    return static_cast<const sockaddr*>(a);
}
} // namespace

TEST_CASE("exchanges: a connect refused at one address, then made at the next, failed nothing") {
    Client c; // the session; its socket is the one that connects
    SocketState refused{};
    auto v6 = v6_loopback(8080);
    auto v4 = v4_loopback(8080);
    // localhost: ::1 refused (the server listens on 127.0.0.1), then 127.0.0.1
    exchange_connect(refused, sa(&v6), -1, ECONNREFUSED, monotonic_ns());
    exchange_connect(c.s, sa(&v4), 0, 0, monotonic_ns());
    c.send("GET / HTTP/1.1\r\n\r\n");
    c.recv("HTTP/1.1 200 OK\r\n\r\n");
    exchange_closed(c.s);
    auto done = c.drained();
    REQUIRE(done.size() == 1);
    CHECK(done[0].failure == ExchangeFailure::None);

    // Non-blocking: SO_ERROR says refused; the next address is under way
    // (held still), then made.
    SocketState a{}, b{};
    exchange_connect(a, sa(&v6), -1, EINPROGRESS, monotonic_ns());
    exchange_connect_result(a, ECONNREFUSED);
    exchange_connect(b, sa(&v4), -1, EINPROGRESS, monotonic_ns());
    exchange_connect_result(b, 0);
    CHECK(c.drained().empty());
}

TEST_CASE("exchanges: a retry at the same address failed again; a failed fallback is one failure") {
    Client c;
    auto v4 = v4_loopback(8081);
    auto v6 = v6_loopback(8081);
    SocketState one{}, two{};
    exchange_connect(one, sa(&v4), -1, ECONNREFUSED, monotonic_ns());
    exchange_connect(two, sa(&v4), -1, ECONNREFUSED, monotonic_ns()); // the next request
    auto done = c.drained();
    REQUIRE(done.size() == 2);
    CHECK(done[0].failure == ExchangeFailure::Connect);
    CHECK(done[1].failure == ExchangeFailure::Connect);

    SocketState at6{}, at4{}; // both addresses refused: one request, one failure
    exchange_connect(at6, sa(&v6), -1, ECONNREFUSED, monotonic_ns());
    exchange_connect(at4, sa(&v4), -1, ECONNREFUSED, monotonic_ns());
    done = c.drained();
    REQUIRE(done.size() == 1);
    CHECK(done[0].failure == ExchangeFailure::Connect);
}
