// What the network hooks know about each fd of the process: whether it is an
// IPv4/IPv6 TCP or UDP socket, its peer and local port, the bytes it moved,
// and the fault state a rule left on it (reset, a timeout hang, a pending
// connect, a bandwidth bucket).
//
// A fixed table indexed by fd in its own mapping, created the first time a
// network rule is armed; classification is lazy (three system calls, once per
// fd) and undone by close/dup2/dup3, and by socket/accept for their new fd.
#pragma once

#include <atomic>
#include <cstdint>
#include <netinet/in.h>
#include <sys/socket.h>

namespace faultline::shim {

enum class SocketType : uint8_t { Unknown = 0, NotInet, Tcp, Udp };

// A net.bandwidth token bucket, bound to one rule (`rule`: slot << 48 |
// generation; a bucket of another rule starts afresh).
struct TokenBucket {
    uint64_t rule;
    double tokens; // bytes that may move now
    int64_t last_ns;
};

// Where a client connection is in its exchange (exchanges.h). Untracked:
// not a connection this client process made.
enum class ExchangePhase : uint8_t { Untracked = 0, Connecting, Idle, Request, Response, Ended };

struct ClientExchange {
    ExchangePhase phase;
    uint8_t head_len;     // bytes of the response's head kept in `head`
    uint16_t http_status; // read from the head; 0: not HTTP, or not yet
    char head[12];        // "HTTP/1.1 503": enough for the status line's code
    int64_t start_ns;     // the request's first byte (a connect: its start)
    int64_t last_ns;      // the response's last byte so far
    // g_process_gen of the process that connected: a fork's copy is not its own
    uint32_t process_gen;
    // Where it connects: a failed connect followed by one to the same port
    // at another address is the client falling back (exchanges.cpp).
    uint16_t peer_port;
    uint64_t peer_key;
};

struct SocketState {
    std::atomic<uint8_t> type; // SocketType
    uint8_t family;            // 4 or 6
    uint8_t peer_known;
    uint8_t turn;     // a send (or connect) happened since the last recv: a new exchange
    uint8_t accepted; // the accepting end of its connection (accept, accept4)
    uint16_t local_port;
    uint16_t peer_port;
    uint8_t peer[16];
    std::atomic<uint64_t> moved;     // bytes sent + received since classified
    std::atomic<int> dead_errno;     // a reset or timed-out connection: what calls now get
    std::atomic<int64_t> hang_until; // net.timeout: no data until then (CLOCK_MONOTONIC), then dead
    uint64_t hang_rule;              // the rule holding it: slot << 48 | generation
    std::atomic<int> connect_error;  // SO_ERROR after a connect the shim held back
    std::atomic<int64_t> delay_until; // net.delay on a non-blocking socket: held until then
    // The shim answered EAGAIN where the kernel had data or room: an
    // edge-triggered epoll registration is owed a new edge (net_wait.cpp).
    std::atomic<uint8_t> owes_edge;
    uint32_t loss_streak; // consecutive TCP losses: the RTO doubles
    // A connect held back (non-blocking, under a partition): done for real
    // once the partition lifts.
    sockaddr_storage pending_connect;
    uint32_t pending_len;
    TokenBucket buckets[2]; // net.bandwidth scope=socket: [0] send, [1] recv
    // The socket's identity when classified (fstat): an fd closed where the
    // shim cannot see it (fclose of an fdopen'ed socket, a libc-internal
    // close) and reused by open() is another file, never faulted as this.
    uint64_t dev, ino;
    // per=connection: the decisions rules made for this socket, kept for
    // its life: kMemoBit | rule key (slot << 48 | generation) << 1 | faulted;
    // 0 free. A fifth rule finds no room and is judged per call.
    std::atomic<uint64_t> per_conn[4];
    // The segment size TCP net.loss draws per (0 until asked).
    uint32_t mss;
    // The session's count of this socket's local port, once counted
    // (Segment::session_ports); null before. Given back when forgotten.
    std::atomic<uint16_t>* port_entry;
    // A client process's exchange on this connection (exchanges.h).
    ClientExchange exchange;
};

constexpr uint64_t kMemoBit = uint64_t(1) << 63;

// The decision per=connection rule `key` made for this socket: -1 none yet,
// 0 spared, 1 faulted.
inline int conn_recall(const SocketState& s, uint64_t key) {
    for (const auto& e : s.per_conn) {
        uint64_t v = e.load(std::memory_order_acquire);
        if (!v) return -1;
        if (((v & ~kMemoBit) >> 1) == key) return int(v & 1);
    }
    return -1;
}

// Records it (the first free entry; a decision another thread made first
// stands).
inline void conn_remember(SocketState& s, uint64_t key, bool hit) {
    uint64_t v = kMemoBit | key << 1 | uint64_t(hit);
    for (auto& e : s.per_conn) {
        uint64_t expected = 0;
        if (e.compare_exchange_strong(expected, v, std::memory_order_acq_rel)) return;
        if (((expected & ~kMemoBit) >> 1) == key) return;
    }
}

// The table, or null until a network rule was first armed in this process.
SocketState* sockets_table();
// Creates the table (first armed network rule).
SocketState* sockets_create();

constexpr int kMaxTrackedFd = 65536;

// How many sockets have owes_edge set: epoll waits look for them only then.
extern std::atomic<int> g_edges_owed;
// How many connects the shim holds back (pending_len set): waits take their
// slow path while any is, so that one is made when its partition lifts,
// disarmed or not.
extern std::atomic<int> g_pending_connects;
// How many sockets carry a net.timeout hang (hang_until set).
extern std::atomic<int> g_hangs;

// The fd's state, classified if needed; null for fds out of range or when
// there is no table.
SocketState* socket_state(int fd);
bool is_inet(const SocketState* s);
// Forgets what was known of fd (close, dup2 target, new socket).
void socket_forget(int fd);
// Forgets fds [first, last] (close_range, closefrom), only what is known.
void socket_forget_range(unsigned first, unsigned last);
// Is fd still the socket `s` was classified from? (One fstat: asked only
// before a fault acts on it.)
bool still_the_socket(int fd, const SocketState& s);
// Records the peer of a connect/sendto before the call.
void socket_set_peer(SocketState& s, const sockaddr* addr, socklen_t len);

} // namespace faultline::shim
