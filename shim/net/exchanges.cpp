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

void push_now(const ClientExchange& x, int64_t end_ns, ExchangeFailure why);

// The failed connect held back (exchange_connect): one per process, and the
// process's last connect that succeeded. `busy` guards both: a thread that
// finds them taken pushes its failure at once.
struct Fallback {
    std::atomic<bool> busy{false};
    bool held = false;
    ClientExchange failed;
    int64_t failed_end_ns = 0;
    uint16_t ok_port = 0;
    uint64_t ok_peer = 0;
    int64_t ok_ns = 0;
};
Fallback g_fallback;

struct FallbackLock {
    bool locked = !g_fallback.busy.exchange(true, std::memory_order_acquire);
    ~FallbackLock() {
        if (locked) g_fallback.busy.store(false, std::memory_order_release);
    }
};

// Two connects to the same port at different addresses, close in time.
bool falls_back(uint16_t port, uint64_t peer, uint16_t other_port, uint64_t other_peer,
                int64_t a_ns, int64_t b_ns) {
    int64_t gap = a_ns > b_ns ? a_ns - b_ns : b_ns - a_ns;
    return port == other_port && peer != other_peer && gap < kFallbackNs;
}

// Pushes the held failure: a forked child's copy of its parent's is not its own.
void release_held(Fallback& f) {
    if (f.held && own(f.failed)) push_now(f.failed, f.failed_end_ns, ExchangeFailure::Connect);
    f.held = false;
}

// A connect of this process failed: held back, or dropped when a connect
// to the same port at another address succeeded just now.
void hold_failed_connect(const ClientExchange& x, int64_t end_ns) {
    FallbackLock lock;
    if (!lock.locked) return push_now(x, end_ns, ExchangeFailure::Connect);
    Fallback& f = g_fallback;
    if (f.ok_ns && falls_back(x.peer_port, x.peer_key, f.ok_port, f.ok_peer, end_ns, f.ok_ns))
        return; // the other address answered: no request failed
    if (f.held && falls_back(x.peer_port, x.peer_key, f.failed.peer_port, f.failed.peer_key, end_ns,
                             f.failed_end_ns)) {
        // Its fallback failed too: one request, one failure, from the first try.
        int64_t start = f.failed.start_ns;
        f.failed = x;
        f.failed.start_ns = start;
        f.failed_end_ns = end_ns;
        return;
    }
    release_held(f);
    f.held = true;
    f.failed = x;
    f.failed_end_ns = end_ns;
}

// A connect of this process to (port, peer) begins, or (ok) succeeded: the
// held failure is dropped when this is its fallback and it worked, kept
// while its fallback is under way, pushed when this is another connect.
void note_connect(uint16_t port, uint64_t peer, bool ok, int64_t now) {
    FallbackLock lock;
    if (!lock.locked) return;
    Fallback& f = g_fallback;
    if (ok) {
        f.ok_port = port;
        f.ok_peer = peer;
        f.ok_ns = now;
    }
    if (!f.held) return;
    if (falls_back(port, peer, f.failed.peer_port, f.failed.peer_key, now, f.failed_end_ns)) {
        if (ok) f.held = false;
        return;
    }
    release_held(f);
}

// A connect in progress succeeded.
void connected(ClientExchange& x) {
    x.phase = ExchangePhase::Idle;
    note_connect(x.peer_port, x.peer_key, true, monotonic_ns());
}

// An exchange ends: a failed connect is held back first.
void push(const ClientExchange& x, int64_t end_ns, ExchangeFailure why) {
    if (why == ExchangeFailure::Connect) return hold_failed_connect(x, end_ns);
    push_now(x, end_ns, why);
}

// Counted (status, top), and into the ring while a recorder drains it (a
// full ring counts a drop).
void push_now(const ClientExchange& x, int64_t end_ns, ExchangeFailure why) {
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

// A watched connection fails (never an untracked or ended one: watched()
// and exchange_connect ask first), whatever its phase: its exchange failed.
void fail(ClientExchange& x, ExchangeFailure why) {
    int64_t now = monotonic_ns();
    if (x.phase == ExchangePhase::Idle) x.start_ns = now; // a request that never left
    push(x, now, why);
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

// Where a connect goes: its port, and a key for its address (FNV-1a).
void peer_of(const sockaddr* addr, uint16_t& port, uint64_t& key) {
    port = 0;
    key = 0;
    if (!addr) return;
    const unsigned char* bytes = nullptr;
    size_t n = 0;
    if (addr->sa_family == AF_INET) {
        auto* in = reinterpret_cast<const sockaddr_in*>(addr);
        port = ntohs(in->sin_port);
        bytes = reinterpret_cast<const unsigned char*>(&in->sin_addr);
        n = sizeof in->sin_addr;
    } else if (addr->sa_family == AF_INET6) {
        auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
        port = ntohs(in6->sin6_port);
        bytes = reinterpret_cast<const unsigned char*>(&in6->sin6_addr);
        n = sizeof in6->sin6_addr;
    }
    key = 1469598103934665603ull ^ addr->sa_family;
    for (size_t i = 0; i < n; ++i) key = (key ^ bytes[i]) * 1099511628211ull;
}

} // namespace

void exchange_connect(SocketState& s, const sockaddr* addr, int rc, int err, int64_t start_ns) {
    ClientExchange& x = s.exchange;
    if (SocketState* t = sockets_table(); t && &s >= t && &s < t + kMaxTrackedFd) {
        int fd = int(&s - t), seen = g_highest_fd.load(std::memory_order_relaxed);
        while (fd > seen && !g_highest_fd.compare_exchange_weak(seen, fd)) {
        }
    }
    if (x.phase == ExchangePhase::Connecting) { // asked again how it went
        if (rc == 0 || err == EISCONN)
            connected(x);
        else if (!transient(err))
            fail(x, ExchangeFailure::Connect);
        return;
    }
    x = {};
    x.start_ns = start_ns;
    x.process_gen = g_process_gen.load(std::memory_order_relaxed);
    peer_of(addr, x.peer_port, x.peer_key);
    note_connect(x.peer_port, x.peer_key, rc == 0, start_ns);
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
        connected(x);
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
    {
        FallbackLock lock; // a failed connect never fallen back from failed
        if (lock.locked) release_held(g_fallback);
    }
    SocketState* t = sockets_table();
    int highest = g_highest_fd.load(std::memory_order_relaxed);
    for (int fd = 0; t && fd <= highest; ++fd) {
        ClientExchange& x = t[fd].exchange;
        if (x.phase == ExchangePhase::Response) exchange_closed(t[fd]);
        x.phase = ExchangePhase::Untracked; // a request still unanswered was abandoned
    }
}

} // namespace faultline::shim
