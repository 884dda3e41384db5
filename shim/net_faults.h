// Network faults: what a net.* rule does to connect, accept, send and recv
// on IPv4/IPv6 TCP and UDP sockets, and which fds a fault must hide from
// poll/select/epoll (net_wait.cpp). The hooks (net_hooks.cpp) are thin: they
// hand each call here with a callable doing the real call for up to N bytes.
#pragma once

#include "common/hooks.h"
#include "net_sockets.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <sys/types.h>

namespace faultline::shim {

// The real call, for up to `n` bytes starting `offset` bytes into the
// caller's data (a blocking send under net.bandwidth is paced in pieces).
// Returns what the libc function returned; errno as it left it.
struct Transfer {
    ssize_t (*fn)(void* ctx, size_t offset, size_t n);
    void* ctx;
    ssize_t operator()(size_t offset, size_t n) const { return fn(ctx, offset, n); }
};

// Data the caller receives into, for net.corrupt (first buffer only).
struct RecvBuffer {
    void* data;
    size_t size;
};

ssize_t net_send(Hook hook, int fd, size_t len, bool dontwait, Transfer real);
ssize_t net_recv(Hook hook, int fd, size_t len, bool dontwait, Transfer real, RecvBuffer buf);
int net_connect(int fd, const sockaddr* addr, socklen_t len,
                int (*real)(int, const sockaddr*, socklen_t));
// After a real accept returned `fd` (>= 0): delays it, or drops it.
int net_after_accept(int listen_fd, int fd);
// getaddrinfo: returns 0 to go on, or an EAI_* code (after any delay).
int net_dns(const char* host);
// getsockopt(SO_ERROR) of a connect the shim held back; true if answered.
bool net_connect_error(int fd, int& error);

// For poll/select/epoll: CLOCK_MONOTONIC until which a fault hides `fd`'s
// readability (read) or writability (!read); 0 when it hides nothing.
// May complete a connect held back by a partition that has lifted.
int64_t net_hold_until(int fd, bool read, int64_t now);

bool fd_nonblocking(int fd);

// close(fd): an fd the epoll hooks took out of a set is gone (net_wait.cpp).
void epoll_forget_fd(int fd);

} // namespace faultline::shim
