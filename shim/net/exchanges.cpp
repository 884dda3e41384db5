#include "shim/net/exchanges.h"

#include "shim/core/runtime.h"
#include "shim/core/thread_state.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace faultline::shim {
namespace {

// The highest fd a client connection had: what exchanges_at_exit() walks.
std::atomic<int> g_highest_fd{-1};

ExchangeFailure failure_of(int err) {
    switch (err) {
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
        return ExchangeFailure::Reset;
    case ETIMEDOUT:
        return ExchangeFailure::Timeout;
    default:
        return ExchangeFailure::Error;
    }
}

// A connection this process made: a forked child's copy of its parent's is
// the parent's to count (the child closing it ends nothing).
bool own(const ClientExchange& x) {
    return x.process_gen == g_process_gen.load(std::memory_order_relaxed);
}

// Not a failure: the call is to be made again.
bool transient(int err) {
    return err == EAGAIN || err == EWOULDBLOCK || err == EINTR || err == EINPROGRESS ||
           err == EALREADY;
}

// Counted (status, top), and into the ring while a recorder drains it (a
// full ring counts a drop).
void push(const ClientExchange& x, int64_t end_ns, ExchangeFailure why) {
    Segment* seg = g_segment;
    if (!seg) return;
    seg->exchanges_ended.fetch_add(1, std::memory_order_relaxed);
    if (why != ExchangeFailure::None) seg->exchanges_failed.fetch_add(1, std::memory_order_relaxed);
    if (!seg->recorder_pid.load(std::memory_order_relaxed)) return;
    int32_t pid = int32_t(getpid());
    seg->exchanges.push([&](ExchangeRecord& r) {
        r.start_ns = x.start_ns;
        r.latency_ns = end_ns > x.start_ns ? end_ns - x.start_ns : 0;
        r.pid = pid;
        r.http_status = x.http_status;
        r.failure = why;
    });
}

// The exchange in flight ends: at the response's last byte when there was
// one (failed by a 5xx), else now, as `no_response` says; a connect still
// in progress (given up: closed, or the process ended) failed as a connect.
void finish(ClientExchange& x, ExchangeFailure no_response) {
    if (x.phase == ExchangePhase::Response) {
        bool server_error = x.http_status >= 500 && x.http_status <= 599;
        push(x, x.last_ns, server_error ? ExchangeFailure::Http5xx : ExchangeFailure::None);
    } else if (x.phase == ExchangePhase::Request) {
        push(x, monotonic_ns(), no_response);
    } else if (x.phase == ExchangePhase::Connecting) {
        push(x, monotonic_ns(), ExchangeFailure::Connect);
    }
    x.phase = ExchangePhase::Idle;
}

void fail(ClientExchange& x, ExchangeFailure why) {
    if (x.phase == ExchangePhase::Idle) x.start_ns = monotonic_ns(); // a request that never left
    if (x.phase == ExchangePhase::Response || x.phase == ExchangePhase::Request ||
        x.phase == ExchangePhase::Connecting || x.phase == ExchangePhase::Idle)
        push(x, monotonic_ns(), why);
    x.phase = ExchangePhase::Ended;
}

// "HTTP/1.x NNN": the status of an HTTP/1.x response, once its head is in.
void read_head(ClientExchange& x, const char* data, size_t n) {
    constexpr size_t kNeed = sizeof x.head;
    if (x.head_len >= kNeed) return;
    size_t take = n < kNeed - x.head_len ? n : kNeed - x.head_len;
    memcpy(x.head + x.head_len, data, take);
    x.head_len = uint8_t(x.head_len + take);
    if (x.head_len < kNeed || memcmp(x.head, "HTTP/1.", 7) != 0 || x.head[8] != ' ') return;
    uint16_t code = 0;
    for (int i = 9; i < 12; ++i) {
        if (x.head[i] < '0' || x.head[i] > '9') return;
        code = uint16_t(code * 10 + (x.head[i] - '0'));
    }
    x.http_status = code;
}

} // namespace

void exchange_connect(SocketState& s, int rc, int err, int64_t start_ns) {
    ClientExchange& x = s.exchange;
    if (SocketState* t = sockets_table(); t && &s >= t && &s < t + kMaxTrackedFd) {
        int fd = int(&s - t), seen = g_highest_fd.load(std::memory_order_relaxed);
        while (fd > seen && !g_highest_fd.compare_exchange_weak(seen, fd)) {
        }
    }
    if (x.phase == ExchangePhase::Connecting) { // asked again how it went
        if (rc == 0 || err == EISCONN)
            x.phase = ExchangePhase::Idle;
        else if (!transient(err))
            fail(x, ExchangeFailure::Connect);
        return;
    }
    x = {};
    x.start_ns = start_ns;
    x.process_gen = g_process_gen.load(std::memory_order_relaxed);
    if (rc == 0) {
        x.phase = ExchangePhase::Idle;
    } else if (err == EINPROGRESS || err == EINTR || err == EALREADY) {
        x.phase = ExchangePhase::Connecting;
    } else {
        x.phase = ExchangePhase::Connecting;
        fail(x, ExchangeFailure::Connect);
    }
}

void exchange_connect_result(SocketState& s, int so_error) {
    ClientExchange& x = s.exchange;
    if (x.phase != ExchangePhase::Connecting || !own(x)) return;
    if (so_error == 0)
        x.phase = ExchangePhase::Idle;
    else if (!transient(so_error))
        fail(x, ExchangeFailure::Connect);
}

// A data call on a connection this process watches: false when there is
// nothing (more) to do with it, a failure included.
bool watched(ClientExchange& x, ssize_t n, int err) {
    if (x.phase == ExchangePhase::Untracked || x.phase == ExchangePhase::Ended || !own(x))
        return false;
    if (n >= 0) return true;
    if (!transient(err))
        fail(x, x.phase == ExchangePhase::Connecting ? ExchangeFailure::Connect : failure_of(err));
    return false;
}

void exchange_sent(SocketState& s, ssize_t n, int err, int64_t start_ns) {
    ClientExchange& x = s.exchange;
    if (!watched(x, n, err) || n == 0) return;
    if (x.phase == ExchangePhase::Request) return; // more of the same request
    if (x.phase == ExchangePhase::Response) finish(x, ExchangeFailure::NoResponse);
    x.phase = ExchangePhase::Request;
    x.start_ns = start_ns;
    x.head_len = 0;
    x.http_status = 0;
}

void exchange_received(SocketState& s, ssize_t n, int err, const void* data, size_t cap) {
    ClientExchange& x = s.exchange;
    if (!watched(x, n, err)) return;
    if (n == 0) { // the end of the connection
        finish(x, ExchangeFailure::NoResponse);
        x.phase = ExchangePhase::Ended;
        return;
    }
    // Data before any request (a server that speaks first) is no exchange's.
    if (x.phase != ExchangePhase::Request && x.phase != ExchangePhase::Response) return;
    x.phase = ExchangePhase::Response;
    x.last_ns = monotonic_ns();
    if (data) read_head(x, static_cast<const char*>(data), size_t(n) < cap ? size_t(n) : cap);
}

void exchange_closed(SocketState& s) {
    if (own(s.exchange)) finish(s.exchange, ExchangeFailure::NoResponse);
    s.exchange.phase = ExchangePhase::Untracked;
}

void exchanges_at_exit() {
    SocketState* t = sockets_table();
    int highest = g_highest_fd.load(std::memory_order_relaxed);
    for (int fd = 0; t && fd <= highest; ++fd) {
        ClientExchange& x = t[fd].exchange;
        if (x.phase == ExchangePhase::Response) exchange_closed(t[fd]);
        x.phase = ExchangePhase::Untracked; // a request still unanswered was abandoned
    }
}

} // namespace faultline::shim
