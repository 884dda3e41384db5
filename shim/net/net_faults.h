// Network faults: what a net.* rule does to connect, accept, send and recv
// on IPv4/IPv6 TCP and UDP sockets, and which fds a fault must hide from
// poll/select/epoll (net_wait.cpp). The hooks (net_hooks.cpp) are thin: they
// hand each call here with a callable doing the real call for up to N bytes.
#pragma once

#include "common/hooks.h"
#include "shim/core/gate.h"
#include "shim/core/runtime.h"
#include "shim/net/net_sockets.h"
#include "shim/net/socket_holds.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <sys/types.h>

namespace faultline::shim {

// The real call, for up to `n` bytes starting `offset` bytes into the
// caller's data (a blocking send under net.bandwidth is paced in pieces).
// Returns what the libc function returned; errno as it left it.
// `in_kernel`: the data moves inside the kernel (sendfile, splice): it never
// passes through the program's memory, and a call cannot be undone, so a
// fault that must drop or change the data cannot act (cannot_act).
struct Transfer {
    ssize_t (*fn)(void* ctx, size_t offset, size_t n);
    void* ctx;
    bool in_kernel = false;
    ssize_t operator()(size_t offset, size_t n) const { return fn(ctx, offset, n); }
};

// Data the caller receives into, for net.corrupt (first buffer only).
struct RecvBuffer {
    void* data;
    size_t size;
};

ssize_t net_send(Hook hook, int fd, size_t len, bool dontwait, Transfer real);
// `peek`: MSG_PEEK, nothing is consumed (a lost datagram cannot be read past).
ssize_t net_recv(Hook hook, int fd, size_t len, bool dontwait, Transfer real, RecvBuffer buf,
                 bool peek = false);
int net_connect(int fd, const sockaddr* addr, socklen_t len,
                int (*real)(int, const sockaddr*, socklen_t));
// After a real accept returned `fd` (>= 0): delays it, or drops it.
int net_after_accept(Hook hook, int listen_fd, int fd);
// getaddrinfo: returns 0 to go on, or an EAI_* code (after any delay).
int net_dns(const char* host);

// Counts a failed call of `hook` (real or injected) in the segment.
void count_error(Hook hook);
// Rule `r` injected into a call of `hook` it cannot act on (data moved
// inside the kernel): the call goes through unfaulted, and this is said
// once per session and kind on stderr, and in the segment for `status`.
void cannot_act(const Rule& r, Hook hook);
// getsockopt(SO_ERROR) of a connect the shim held back; true if answered.
bool net_connect_error(int fd, int& error);

// For poll/select/epoll: CLOCK_MONOTONIC until which a fault hides `fd`'s
// readability (read) or writability (!read); 0 when it hides nothing.
// May complete a connect held back by a partition that has lifted.
int64_t net_hold_until(int fd, bool read, int64_t now);
// A net.timeout hang on fd has run out (or the connection died of it): the
// waits report it ready with an error, as the kernel would a timed-out TCP
// connection; the next call on it fails ETIMEDOUT.
bool net_timed_out(int fd, int64_t now);

bool fd_nonblocking(int fd);

// A socket left in a state only the shim can see through, whatever the
// rules are now: a connect held back, a net.timeout hang, a delay or a lost
// segment's retransmission still running (g_holds_until).
inline bool net_residue() {
    if (g_pending_connects.load(std::memory_order_relaxed) != 0 ||
        g_hangs.load(std::memory_order_relaxed) != 0)
        return true;
    int64_t holds = g_holds_until.load(std::memory_order_relaxed);
    return holds != 0 && monotonic_ns() < holds;
}

// The network family's gate (core/gate.h): a residue takes the rules' path
// even with nothing armed, so that the socket it holds is seen through.
inline Path net_gate() {
    Path p = gate(Family::Net);
    if (__builtin_expect(p == Path::Original, 1) && !net_residue()) return Path::Original;
    return p == Path::Observe && !net_residue() ? Path::Observe : Path::Rules;
}

// poll, select and epoll leave the original only when a fault could hold an
// fd back: a net rule armed, or a residue. A recorder alone does not count
// or time waits (they are not operations), so it costs them nothing.
inline bool waits_faulted() {
    return rule_mask(Family::Net) != 0 || net_residue();
}

// Whether any fd was ever registered with epoll through the hooks: else
// closing one has nothing to forget.
bool epoll_tracks_fds();
// close(fd): an fd the epoll hooks took out of a set is gone (net_wait.cpp).
void epoll_forget_fd(int fd);
// close_range, closefrom: fds [first, last] are gone.
void epoll_forget_range(unsigned first, unsigned last);

} // namespace faultline::shim
