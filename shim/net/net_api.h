// The real libc functions the network hooks call, resolved lazily with
// dlsym(RTLD_NEXT); each has a single symbol version in glibc
// (tests/integration/test_symbols.sh).
#pragma once

#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>

namespace faultline::shim {

template <class T> using Fn = T;

#define FL_NET_API(X)                                                                              \
    X(socket, int (*)(int, int, int))                                                              \
    X(connect, int (*)(int, const sockaddr*, socklen_t))                                           \
    X(accept, int (*)(int, sockaddr*, socklen_t*))                                                 \
    X(accept4, int (*)(int, sockaddr*, socklen_t*, int))                                           \
    X(send, ssize_t (*)(int, const void*, size_t, int))                                            \
    X(sendto, ssize_t (*)(int, const void*, size_t, int, const sockaddr*, socklen_t))              \
    X(sendmsg, ssize_t (*)(int, const msghdr*, int))                                               \
    X(sendmmsg, int (*)(int, mmsghdr*, unsigned, int))                                             \
    X(recv, ssize_t (*)(int, void*, size_t, int))                                                  \
    X(recvfrom, ssize_t (*)(int, void*, size_t, int, sockaddr*, socklen_t*))                       \
    X(recvmsg, ssize_t (*)(int, msghdr*, int))                                                     \
    X(recvmmsg, int (*)(int, mmsghdr*, unsigned, int, timespec*))                                  \
    X(read, ssize_t (*)(int, void*, size_t))                                                       \
    X(write, ssize_t (*)(int, const void*, size_t))                                                \
    X(readv, ssize_t (*)(int, const iovec*, int))                                                  \
    X(writev, ssize_t (*)(int, const iovec*, int))                                                 \
    X(close, int (*)(int))                                                                         \
    X(dup2, int (*)(int, int))                                                                     \
    X(dup3, int (*)(int, int, int))                                                                \
    X(getsockopt, int (*)(int, int, int, void*, socklen_t*))                                       \
    X(getaddrinfo, int (*)(const char*, const char*, const addrinfo*, addrinfo**))                 \
    X(poll, int (*)(pollfd*, nfds_t, int))                                                         \
    X(ppoll, int (*)(pollfd*, nfds_t, const timespec*, const sigset_t*))                           \
    X(select, int (*)(int, fd_set*, fd_set*, fd_set*, timeval*))                                   \
    X(pselect, int (*)(int, fd_set*, fd_set*, fd_set*, const timespec*, const sigset_t*))          \
    X(epoll_ctl, int (*)(int, int, int, epoll_event*))                                             \
    X(epoll_wait, int (*)(int, epoll_event*, int, int))                                            \
    X(epoll_pwait, int (*)(int, epoll_event*, int, int, const sigset_t*))                          \
    X(epoll_pwait2, int (*)(int, epoll_event*, int, const timespec*, const sigset_t*))

struct NetApi {
#define FL_FIELD(name, type) Fn<type> name;
    FL_NET_API(FL_FIELD)
#undef FL_FIELD
};

// Never null after the call returns, unless libc lacks the symbol.
const NetApi& net_api();

} // namespace faultline::shim
