// The network hooks: socket data calls, connect/accept, getaddrinfo, and the
// fd book-keeping (socket, close, dup2, dup3, getsockopt). Each is a fast
// path (no network rule armed: one load and a branch before the original)
// and a hand-over to net_faults.cpp. poll/select/epoll are in net_wait.cpp.

#include "shim/core/call_timer.h"
#include "shim/core/originals.h"
#include "shim/core/runtime.h"
#include "shim/core/thread_state.h"
#include "shim/net/exchanges.h"
#include "shim/net/net_decide.h"
#include "shim/net/net_faults.h"

#include <cerrno>
#include <cstring>

namespace faultline::shim {
namespace {

// Nothing to do but call the original (core/gate.h).
inline bool quiet() {
    return net_gate() == Path::Original;
}

// A failure the program would see as one (not "try again").
bool real_failure(int e) {
    return e != EAGAIN && e != EWOULDBLOCK && e != EINTR && e != EINPROGRESS;
}

// A slow-path call on an internet socket: timed while a recorder observes,
// and its failure counted unless the fault that caused it counted it already.
// (Other fds, files and pipes, are not the network's: not measured.)
template <class Call> auto measured(Hook hook, int fd, Call&& call) {
    if (!is_inet(socket_state(fd))) return call();
    CallTimer timer(armed_mask(Family::Net));
    tls.error_counted = false;
    auto r = call();
    int e = errno;
    if (r < 0 && !tls.error_counted && real_failure(e)) count_error(hook);
    timer.done(hook, r > 0 ? uint64_t(r) : 0);
    errno = e;
    return r;
}

// A client process's data call (runtime.h g_client): the original, whole,
// and what it did to the connection's exchange (exchanges.h). `data`: where
// a receive put its bytes (null: not in the program's memory, or a send).
enum class Way : uint8_t { Send, Recv };
template <class Call> ssize_t as_client(int fd, Way way, size_t len, RecvBuffer data, Call&& call) {
    SocketState* s = len ? socket_state(fd) : nullptr;
    if (!s || s->exchange.phase == ExchangePhase::Untracked) return call();
    int64_t start = monotonic_ns();
    ssize_t r = call();
    int e = errno;
    if (way == Way::Send)
        exchange_sent(*s, r, e, start);
    else
        exchange_received(*s, r, e, data.data, data.size);
    errno = e;
    return r;
}

// A client's getsockopt: SO_ERROR ends a connect in progress.
int client_getsockopt(int fd, int level, int name, void* value, socklen_t* len,
                      int (*real)(int, int, int, void*, socklen_t*)) {
    int rc = real(fd, level, name, value, len);
    if (rc == 0 && level == SOL_SOCKET && name == SO_ERROR && value && len && *len >= sizeof(int)) {
        int e = errno, so_error = 0;
        memcpy(&so_error, value, sizeof so_error);
        if (SocketState* s = socket_state(fd)) exchange_connect_result(*s, so_error);
        errno = e;
    }
    return rc;
}

// A client's connect: the original; a TCP socket becomes a connection whose
// exchanges are watched. A connect in progress called again (APR's way of
// asking how it went) is the same connect.
int client_connect(int fd, const sockaddr* addr, socklen_t len,
                   int (*real)(int, const sockaddr*, socklen_t)) {
    SocketState* known = sockets_table() ? socket_state(fd) : nullptr;
    if (known && known->exchange.phase != ExchangePhase::Connecting) socket_forget(fd);
    int64_t start = monotonic_ns();
    int rc = real(fd, addr, len);
    int e = errno;
    SocketState* s = socket_state(fd);
    if (s && SocketType(s->type.load(std::memory_order_relaxed)) == SocketType::Tcp)
        exchange_connect(*s, addr, rc, rc == 0 ? 0 : e, start);
    errno = e;
    return rc;
}

// An iovec list seen from `offset`, at most `n` bytes: what a paced or capped
// vectored call transfers. Lists longer than kMaxIov are not reshaped.
constexpr int kMaxIov = 64;
int window(const iovec* in, int count, size_t offset, size_t n, iovec* out) {
    int k = 0;
    for (int i = 0; i < count && n; ++i) {
        size_t len = in[i].iov_len;
        if (offset >= len) {
            offset -= len;
            continue;
        }
        size_t take = len - offset < n ? len - offset : n;
        out[k].iov_base = static_cast<char*>(in[i].iov_base) + offset;
        out[k].iov_len = take;
        ++k;
        n -= take;
        offset = 0;
    }
    return k;
}

size_t total(const iovec* iov, int count) {
    size_t t = 0;
    for (int i = 0; i < count; ++i) t += iov[i].iov_len;
    return t;
}

RecvBuffer first_buffer(const iovec* iov, int count) {
    for (int i = 0; i < count; ++i)
        if (iov[i].iov_len) return {iov[i].iov_base, iov[i].iov_len};
    return {nullptr, 0};
}

// The plain-buffer calls: send, sendto, write; recv, recvfrom, read.
template <class Call>
ssize_t send_buffer(Hook hook, int fd, const void* buf, size_t len, bool dontwait, Call&& call) {
    if (g_client) return as_client(fd, Way::Send, len, {}, [&] { return call(buf, len); });
    struct Ctx {
        Call& call;
        const char* buf;
    } ctx{call, static_cast<const char*>(buf)};
    Transfer t{[](void* c, size_t off, size_t n) -> ssize_t {
                   auto& x = *static_cast<Ctx*>(c);
                   return x.call(x.buf + off, n);
               },
               &ctx};
    return measured(hook, fd, [&] { return net_send(hook, fd, len, dontwait, t); });
}

template <class Call>
ssize_t recv_buffer(Hook hook, int fd, void* buf, size_t len, bool dontwait, Call&& call,
                    bool peek = false) {
    if (g_client)
        return as_client(fd, Way::Recv, peek ? 0 : len, {buf, len}, [&] { return call(buf, len); });
    struct Ctx {
        Call& call;
        char* buf;
    } ctx{call, static_cast<char*>(buf)};
    Transfer t{[](void* c, size_t off, size_t n) -> ssize_t {
                   auto& x = *static_cast<Ctx*>(c);
                   return x.call(x.buf + off, n);
               },
               &ctx};
    return measured(hook, fd, [&] {
        return net_recv(hook, fd, len, dontwait, t, {buf, len}, peek);
    });
}

// Calls whose data moves inside the kernel (sendfile, splice): `call(n)`
// moves up to n bytes; where from is the kernel's business (the file offset
// or the pipe advances by itself), so a paced call resumes where it was.
template <class Call> struct KernelCtx {
    Call& call;
    Transfer transfer() {
        Transfer t{[](void* c, size_t, size_t n) -> ssize_t {
                       return static_cast<KernelCtx*>(c)->call(n);
                   },
                   this};
        t.in_kernel = true;
        return t;
    }
};

template <class Call> ssize_t send_in_kernel(Hook hook, int fd, size_t len, Call&& call) {
    if (g_client) return as_client(fd, Way::Send, len, {}, [&] { return call(len); });
    KernelCtx<Call> ctx{call};
    return measured(hook, fd, [&] { return net_send(hook, fd, len, false, ctx.transfer()); });
}

template <class Call> ssize_t recv_in_kernel(Hook hook, int fd, size_t len, Call&& call) {
    if (g_client) return as_client(fd, Way::Recv, len, {}, [&] { return call(len); });
    KernelCtx<Call> ctx{call};
    return measured(hook, fd, [&] {
        return net_recv(hook, fd, len, false, ctx.transfer(), {nullptr, 0});
    });
}

// The vectored calls: writev/sendmsg, readv/recvmsg. `call(iov, count)`.
// A piece of the caller's iovec list is handed to `call` as a window.
template <class Call> struct VectorCtx {
    Call& call;
    const iovec* iov;
    int count;
    Transfer transfer() {
        return {[](void* c, size_t off, size_t n) -> ssize_t {
                    auto& x = *static_cast<VectorCtx*>(c);
                    iovec part[kMaxIov];
                    return x.call(part, window(x.iov, x.count, off, n, part));
                },
                this};
    }
};

template <class Call>
ssize_t send_vector(Hook hook, int fd, const iovec* iov, int count, bool dontwait, Call&& call) {
    if (g_client)
        return as_client(fd, Way::Send, total(iov, count), {}, [&] { return call(iov, count); });
    if (count > kMaxIov) return call(iov, count);
    VectorCtx<Call> ctx{call, iov, count};
    return measured(
        hook, fd, [&] { return net_send(hook, fd, total(iov, count), dontwait, ctx.transfer()); });
}

template <class Call>
ssize_t recv_vector(Hook hook, int fd, const iovec* iov, int count, bool dontwait, Call&& call,
                    bool peek = false) {
    if (g_client)
        return as_client(fd, Way::Recv, peek ? 0 : total(iov, count), first_buffer(iov, count),
                         [&] { return call(iov, count); });
    if (count > kMaxIov) return call(iov, count);
    VectorCtx<Call> ctx{call, iov, count};
    return measured(hook, fd, [&] {
        return net_recv(hook, fd, total(iov, count), dontwait, ctx.transfer(),
                        first_buffer(iov, count), peek);
    });
}

} // namespace
} // namespace faultline::shim

using namespace faultline;
using namespace faultline::shim;

#define FL_EXPORT extern "C" __attribute__((visibility("default")))

FL_EXPORT int socket(int domain, int type, int protocol) {
    int fd = net_originals().socket(domain, type, protocol);
    if (fd >= 0 && sockets_table()) socket_forget(fd);
    return fd;
}

// A bound socket is known to the session at once: a datagram sent to it
// from the session is judged where it is received (docs/rules.md).
FL_EXPORT int bind(int fd, const sockaddr* addr, socklen_t len) {
    int rc = net_originals().bind(fd, addr, len);
    if (rc == 0 && !quiet() && !g_client) net_bound(fd);
    return rc;
}

FL_EXPORT int connect(int fd, const sockaddr* addr, socklen_t len) {
    auto real = net_originals().connect;
    if (quiet()) {
        if (sockets_table()) socket_forget(fd);
        return real(fd, addr, len);
    }
    if (g_client) return client_connect(fd, addr, len, real);
    int rc = measured(Hook::NetConnect, fd, [&] { return net_connect(fd, addr, len, real); });
    // Its port is the kernel's from here: counted in the session before the
    // program sends, so that a peer of the session judges nothing twice.
    if (rc == 0 || errno == EINPROGRESS) {
        int saved = errno;
        net_bound(fd);
        errno = saved;
    }
    return rc;
}

FL_EXPORT int accept(int fd, sockaddr* addr, socklen_t* len) {
    int c = net_originals().accept(fd, addr, len);
    if (c < 0) return c;
    if (quiet()) {
        if (sockets_table()) socket_forget(c);
        return c;
    }
    return net_after_accept(Hook::NetAccept, fd, c);
}

FL_EXPORT int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
    int c = net_originals().accept4(fd, addr, len, flags);
    if (c < 0) return c;
    if (quiet()) {
        if (sockets_table()) socket_forget(c);
        return c;
    }
    return net_after_accept(Hook::NetAccept4, fd, c);
}

FL_EXPORT ssize_t send(int fd, const void* buf, size_t len, int flags) {
    auto real = net_originals().send;
    if (quiet()) return real(fd, buf, len, flags);
    return send_buffer(Hook::NetSend, fd, buf, len, flags & MSG_DONTWAIT,
                       [&](const void* b, size_t n) { return real(fd, b, n, flags); });
}

FL_EXPORT ssize_t sendto(int fd, const void* buf, size_t len, int flags, const sockaddr* to,
                         socklen_t tolen) {
    auto real = net_originals().sendto;
    if (quiet()) return real(fd, buf, len, flags, to, tolen);
    // An unconnected datagram socket's peer is each datagram's destination.
    if (to)
        if (SocketState* s = socket_state(fd); is_inet(s)) socket_set_peer(*s, to, tolen);
    return send_buffer(Hook::NetSendto, fd, buf, len, flags & MSG_DONTWAIT,
                       [&](const void* b, size_t n) { return real(fd, b, n, flags, to, tolen); });
}

FL_EXPORT ssize_t write(int fd, const void* buf, size_t len) {
    auto real = net_originals().write;
    if (quiet()) return real(fd, buf, len);
    return send_buffer(Hook::NetWrite, fd, buf, len, false,
                       [&](const void* b, size_t n) { return real(fd, b, n); });
}

FL_EXPORT ssize_t sendmsg(int fd, const msghdr* msg, int flags) {
    auto real = net_originals().sendmsg;
    if (quiet()) return real(fd, msg, flags);
    if (msg->msg_name)
        if (SocketState* s = socket_state(fd); is_inet(s))
            socket_set_peer(*s, static_cast<const sockaddr*>(msg->msg_name), msg->msg_namelen);
    return send_vector(Hook::NetSendmsg, fd, msg->msg_iov, int(msg->msg_iovlen),
                       flags & MSG_DONTWAIT, [&](const iovec* iov, int count) {
                           msghdr m = *msg;
                           m.msg_iov = const_cast<iovec*>(iov);
                           m.msg_iovlen = size_t(count);
                           return real(fd, &m, flags);
                       });
}

FL_EXPORT ssize_t writev(int fd, const iovec* iov, int count) {
    auto real = net_originals().writev;
    if (quiet()) return real(fd, iov, count);
    return send_vector(Hook::NetWritev, fd, iov, count, false,
                       [&](const iovec* v, int c) { return real(fd, v, c); });
}

FL_EXPORT int sendmmsg(int fd, mmsghdr* msgs, unsigned count, int flags) {
    auto real = net_originals().sendmmsg;
    if (quiet() || g_client) return real(fd, msgs, count, flags); // datagrams: no exchanges
    // One message at a time, so that each datagram meets the rules alone.
    unsigned done = 0;
    for (; done < count; ++done) {
        ssize_t n = sendmsg(fd, &msgs[done].msg_hdr, flags);
        if (n < 0) return done ? int(done) : -1;
        msgs[done].msg_len = unsigned(n);
    }
    return int(done);
}

FL_EXPORT ssize_t recv(int fd, void* buf, size_t len, int flags) {
    auto real = net_originals().recv;
    if (quiet()) return real(fd, buf, len, flags);
    return recv_buffer(
        Hook::NetRecv, fd, buf, len, flags & MSG_DONTWAIT,
        [&](void* b, size_t n) { return real(fd, b, n, flags); }, flags & MSG_PEEK);
}

FL_EXPORT ssize_t recvfrom(int fd, void* buf, size_t len, int flags, sockaddr* from,
                           socklen_t* fromlen) {
    auto real = net_originals().recvfrom;
    if (quiet()) return real(fd, buf, len, flags, from, fromlen);
    return recv_buffer(
        Hook::NetRecvfrom, fd, buf, len, flags & MSG_DONTWAIT,
        [&](void* b, size_t n) { return real(fd, b, n, flags, from, fromlen); }, flags & MSG_PEEK);
}

FL_EXPORT ssize_t read(int fd, void* buf, size_t len) {
    auto real = net_originals().read;
    if (quiet()) return real(fd, buf, len);
    return recv_buffer(Hook::NetRead, fd, buf, len, false,
                       [&](void* b, size_t n) { return real(fd, b, n); });
}

FL_EXPORT ssize_t recvmsg(int fd, msghdr* msg, int flags) {
    auto real = net_originals().recvmsg;
    if (quiet()) return real(fd, msg, flags);
    return recv_vector(
        Hook::NetRecvmsg, fd, msg->msg_iov, int(msg->msg_iovlen), flags & MSG_DONTWAIT,
        [&](const iovec* iov, int count) {
            iovec* saved = msg->msg_iov;
            size_t saved_len = msg->msg_iovlen;
            msg->msg_iov = const_cast<iovec*>(iov);
            msg->msg_iovlen = size_t(count);
            ssize_t n = real(fd, msg, flags);
            msg->msg_iov = saved;
            msg->msg_iovlen = saved_len;
            return n;
        },
        flags & MSG_PEEK);
}

FL_EXPORT ssize_t readv(int fd, const iovec* iov, int count) {
    auto real = net_originals().readv;
    if (quiet()) return real(fd, iov, count);
    return recv_vector(Hook::NetReadv, fd, iov, count, false,
                       [&](const iovec* v, int c) { return real(fd, v, c); });
}

FL_EXPORT int recvmmsg(int fd, mmsghdr* msgs, unsigned count, int flags, timespec* timeout) {
    auto real = net_originals().recvmmsg;
    if (quiet() || count == 0 || g_client) return real(fd, msgs, count, flags, timeout);
    // While faults are armed: one message per call (recvmmsg may return fewer).
    ssize_t n = recvmsg(fd, &msgs[0].msg_hdr, flags & ~MSG_WAITFORONE);
    if (n < 0) return -1;
    msgs[0].msg_len = unsigned(n);
    return 1;
}

// Data moved inside the kernel (docs/pitfalls.md item 21): into a socket,
// sendfile and splice are sends (paced, delayed, held, reset, sliced); out
// of one, splice is a receive. Other fds (file to file, pipes) pass through.
FL_EXPORT ssize_t sendfile(int out, int in, off_t* offset, size_t count) {
    auto real = net_originals().sendfile;
    if (quiet()) return real(out, in, offset, count);
    return send_in_kernel(Hook::NetSendfile, out, count,
                          [&](size_t n) { return real(out, in, offset, n); });
}

FL_EXPORT ssize_t sendfile64(int out, int in, off64_t* offset, size_t count) {
    auto real = net_originals().sendfile64;
    if (quiet()) return real(out, in, offset, count);
    return send_in_kernel(Hook::NetSendfile64, out, count,
                          [&](size_t n) { return real(out, in, offset, n); });
}

FL_EXPORT ssize_t splice(int in, loff_t* off_in, int out, loff_t* off_out, size_t len,
                         unsigned flags) {
    auto real = net_originals().splice;
    if (quiet()) return real(in, off_in, out, off_out, len, flags);
    auto call = [&](size_t n) { return real(in, off_in, out, off_out, n, flags); };
    if (is_inet(socket_state(out))) return send_in_kernel(Hook::NetSplice, out, len, call);
    if (is_inet(socket_state(in))) return recv_in_kernel(Hook::NetSplice, in, len, call);
    return call(len);
}

// Linux refuses sockets at either end (EINVAL): nothing moves into or out of
// one, so nothing is faulted; into a socket the call is counted and timed.
FL_EXPORT ssize_t copy_file_range(int in, loff_t* off_in, int out, loff_t* off_out, size_t len,
                                  unsigned flags) {
    auto real = net_originals().copy_file_range;
    if (quiet() || g_client) return real(in, off_in, out, off_out, len, flags);
    if (!is_inet(socket_state(out))) return real(in, off_in, out, off_out, len, flags);
    return measured(Hook::NetCopyFileRange, out, [&] {
        count_net_call(Hook::NetCopyFileRange);
        return real(in, off_in, out, off_out, len, flags);
    });
}

// _FORTIFY_SOURCE turns recv/recvfrom/read into these (docs/pitfalls.md, item 12): the
// length check stays glibc's, the rest is the hook's.
extern "C" void __chk_fail(void) __attribute__((noreturn));

FL_EXPORT ssize_t __recv_chk(int fd, void* buf, size_t len, size_t buflen, int flags) {
    if (len > buflen) __chk_fail();
    return recv(fd, buf, len, flags);
}

FL_EXPORT ssize_t __recvfrom_chk(int fd, void* buf, size_t len, size_t buflen, int flags,
                                 sockaddr* from, socklen_t* fromlen) {
    if (len > buflen) __chk_fail();
    return recvfrom(fd, buf, len, flags, from, fromlen);
}

FL_EXPORT ssize_t __read_chk(int fd, void* buf, size_t len, size_t buflen) {
    if (len > buflen) __chk_fail();
    return read(fd, buf, len);
}

FL_EXPORT int getaddrinfo(const char* node, const char* service, const addrinfo* hints,
                          addrinfo** res) {
    auto real = net_originals().getaddrinfo;
    if (quiet() || g_client) return real(node, service, hints, res);
    CallTimer timer(armed_mask(Family::Net));
    tls.error_counted = false;
    int rc = net_dns(node);
    if (!rc) rc = real(node, service, hints, res);
    if (rc && !tls.error_counted) count_error(Hook::NetGetaddrinfo);
    timer.done(Hook::NetGetaddrinfo);
    return rc;
}

FL_EXPORT int getsockopt(int fd, int level, int name, void* value, socklen_t* len) {
    auto real = net_originals().getsockopt;
    if (g_client) return client_getsockopt(fd, level, name, value, len, real);
    int error = 0;
    bool held = !quiet() || g_pending_connects.load(std::memory_order_relaxed) != 0;
    if (held && level == SOL_SOCKET && name == SO_ERROR && value && len && *len >= sizeof(int) &&
        net_connect_error(fd, error)) {
        memcpy(value, &error, sizeof error);
        *len = sizeof error;
        return 0;
    }
    return real(fd, level, name, value, len);
}

// close, close_range, closefrom, dup2 and dup3 forget what the shim knew
// of the fds they close: when it knows anything (a socket table, an epoll
// registration: else not even the vfork check's getpid is paid), and
// unless the caller is a vfork child, which shares its parent's memory and
// closes fds that stay open in the parent (CPython's subprocess closes them
// all before exec; runtime.h g_pid).
inline bool forgets() {
    return (sockets_table() || epoll_tracks_fds()) && !in_vfork_child();
}

FL_EXPORT int close(int fd) {
    if (forgets()) {
        if (sockets_table()) socket_forget(fd);
        epoll_forget_fd(fd); // also without a table: epoll registrations are mirrored anyway
    }
    return net_originals().close(fd);
}

// Closing many fds at once (CPython's os.closerange, daemons, spawn): each
// closed fd is forgotten, as close forgets one. CLOSE_RANGE_CLOEXEC closes
// nothing now (exec will, and the new image starts afresh).
FL_EXPORT int close_range(unsigned first, unsigned last, int flags) {
    auto real = net_originals().close_range;
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    int rc = real(first, last, flags);
    if (rc == 0 && !(flags & CLOSE_RANGE_CLOEXEC) && forgets()) {
        socket_forget_range(first, last);
        epoll_forget_range(first, last);
    }
    return rc;
}

FL_EXPORT void closefrom(int low) {
    if (auto real = net_originals().closefrom) real(low);
    if (!forgets()) return;
    if (low < 0) low = 0;
    socket_forget_range(unsigned(low), unsigned(kMaxTrackedFd - 1));
    epoll_forget_range(unsigned(low), unsigned(kMaxTrackedFd - 1));
}

FL_EXPORT int dup2(int fd, int target) {
    int r = net_originals().dup2(fd, target);
    if (r < 0 || !forgets()) return r;
    if (sockets_table()) socket_forget(r);
    if (fd != target) epoll_forget_fd(r); // target was closed
    return r;
}

FL_EXPORT int dup3(int fd, int target, int flags) {
    int r = net_originals().dup3(fd, target, flags);
    if (r < 0 || !forgets()) return r;
    if (sockets_table()) socket_forget(r);
    epoll_forget_fd(r); // target was closed
    return r;
}
