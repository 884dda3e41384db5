// What the network fault code shares (net_faults.cpp: send and recv;
// net_connect.cpp: connect, accept, getaddrinfo; net_readiness.cpp: what
// poll/select/epoll must hide): asking the rules for one call, the fault
// state of a socket that outlives its rule, and waiting.
#pragma once

#include "common/hooks.h"
#include "common/rule.h"
#include "common/segment.h"
#include "shim/net/net_sockets.h"

#include <cstddef>
#include <cstdint>
#include <sys/types.h>

namespace faultline::shim {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kRecheck = 20'000'000; // how often a wait looks at the rules again

// The rule that injected into one call, and its key (net_rules.h), or none.
struct NetDecision {
    const Rule* rule = nullptr;
    uint64_t key = 0;
    bool stale = false; // fd is no longer the socket `s` knew: forget it, judge afresh
    // TCP net.loss drew per segment (lose_segments): the loss streak after
    // this call, and what the lost segments cost.
    bool segments_drawn = false;
    uint32_t loss_streak = 0;
    int64_t loss_wait_ns = 0;
};

// Runs the order of evaluation (core/trigger.h) over the armed net rules for
// operation `op` (kOnSend...) of `len` bytes on socket `s`; counts the call.
// With `fd`, the first rule that would match first checks that fd is still
// that socket (still_the_socket): when not, nothing is injected (`stale`).
NetDecision decide(Hook hook, uint32_t op, SocketState& s, size_t len, int fd = -1);
// bind() succeeded: the socket's port is counted in the session's ports.
void net_bound(int fd);
// connect() to a peer of the session, before the real call: an unbound
// socket is bound to the wildcard address and a port of the kernel's
// choosing first, so that its port is counted before its peer's first send
// (the accepting end may send before connect returns).
void net_connecting(int fd, SocketState& s);
// Counts a call that no decision is asked for (one a hold had owed).
void count_net_call(Hook hook);

// A net.timeout hang on the socket: true while it holds (`until` set); false
// when it has lifted (its rule disarmed: then it is cleared) or never was.
bool hanging(SocketState& s, int64_t now, int64_t& until);
// A connect the shim held back is made for real once nothing holds it
// (disarmed, for= over) and dropped when its timeout runs out.
void settle_pending_connect(int fd, SocketState& s, int64_t now);
// Any net.partition armed now covering the socket for `op`.
bool partitioned(const SocketState& s, uint32_t op, int64_t now);
// A blocking call under net.partition waits for it to lift, bounded by the
// socket's own timeout (then EAGAIN, as Linux); false with errno set then.
bool wait_out_partition(int fd, SocketState& s, uint32_t op);

// The bucket a net.bandwidth rule paces this socket's direction with
// (scope=socket: the socket's own; scope=process: the rule's, below).
TokenBucket& bucket_for(const Rule& r, uint64_t key, SocketState& s, bool recv);
extern TokenBucket g_process_buckets[kMaxRules][2]; // [slot][recv]

// An EAGAIN the shim made up while the kernel had data or room: poll and
// select see the fault's hold; an edge-triggered epoll registration is owed
// a new edge when it ends (net_wait.cpp). Returns -1.
ssize_t held_back(SocketState& s);
// A connection a rule killed: its errno (ECONNRESET, then EPIPE for sends).
ssize_t dead(SocketState& s, bool sending);

// SO_RCVTIMEO / SO_SNDTIMEO of the socket, 0 when unset.
int64_t socket_timeout(int fd, int which);
// What a signal handler that runs during an injected wait does to the call
// held, as the kernel does to the call it stands for (man 7 signal;
// docs/pitfalls.md item 23): connect is never restarted, nor is accept on
// a socket with SO_RCVTIMEO; send and recv are restarted under SA_RESTART
// unless the socket has a timeout that way (SO_SNDTIMEO, SO_RCVTIMEO).
struct OnSignal {
    int fd = -1;
    int timeout_opt = 0; // SO_RCVTIMEO or SO_SNDTIMEO; 0: never restarted
};
constexpr OnSignal kNeverRestarted{};
inline OnSignal restarted_unless(int fd, int timeout_opt) {
    return {fd, timeout_opt};
}

// Sleeps to an absolute CLOCK_MONOTONIC deadline: true then (errno kept).
// False when a signal handler ran that interrupts the call: errno EINTR,
// and the caller returns -1 (a restarted call sleeps on instead).
[[nodiscard]] bool sleep_until(int64_t deadline, OnSignal how);
[[nodiscard]] bool sleep_ns(int64_t ns, OnSignal how);

inline void move_bytes(SocketState& s, ssize_t n) {
    if (n > 0) s.moved.fetch_add(uint64_t(n), std::memory_order_relaxed);
}

} // namespace faultline::shim
