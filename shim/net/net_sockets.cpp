#include "shim/net/net_sockets.h"

#include "shim/net/exchanges.h"
#include "shim/net/socket_holds.h"

#include <cerrno>
#include <cstring>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace faultline::shim {

std::atomic<int> g_edges_owed{0};
std::atomic<int> g_pending_connects{0};
std::atomic<int> g_hangs{0};

namespace {
std::atomic<SocketState*> g_table{nullptr};

void fill_address(SocketState& s, const sockaddr* a) {
    if (a->sa_family == AF_INET) {
        auto* in = reinterpret_cast<const sockaddr_in*>(a);
        s.family = 4;
        s.peer_port = ntohs(in->sin_port);
        memcpy(s.peer, &in->sin_addr, 4);
        s.peer_known = 1;
    } else if (a->sa_family == AF_INET6) {
        auto* in6 = reinterpret_cast<const sockaddr_in6*>(a);
        // An IPv4-mapped peer is matched as the IPv4 address it is.
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(&in6->sin6_addr, mapped, 12) == 0) {
            s.family = 4;
            memcpy(s.peer, reinterpret_cast<const uint8_t*>(&in6->sin6_addr) + 12, 4);
        } else {
            s.family = 6;
            memcpy(s.peer, &in6->sin6_addr, 16);
        }
        s.peer_port = ntohs(in6->sin6_port);
        s.peer_known = 1;
    }
}

uint16_t port_of(const sockaddr_storage& a) {
    if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
    if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
    return 0;
}

bool identity(int fd, uint64_t& dev, uint64_t& ino) {
    struct stat st;
    if (syscall(SYS_fstat, fd, &st) != 0) return false;
    dev = uint64_t(st.st_dev);
    ino = uint64_t(st.st_ino);
    return true;
}

// Raw system calls: the shim's own questions must not reach its hooks.
void classify(int fd, SocketState& s) {
    int type = 0;
    socklen_t len = sizeof type;
    if (syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) {
        s.type.store(uint8_t(SocketType::NotInet), std::memory_order_release);
        return;
    }
    sockaddr_storage local{};
    socklen_t local_len = sizeof local;
    syscall(SYS_getsockname, fd, &local, &local_len);
    if (local.ss_family != AF_INET && local.ss_family != AF_INET6) {
        s.type.store(uint8_t(SocketType::NotInet), std::memory_order_release);
        return;
    }
    if (!identity(fd, s.dev, s.ino)) {
        s.type.store(uint8_t(SocketType::NotInet), std::memory_order_release);
        return;
    }
    s.local_port = port_of(local);
    s.family = local.ss_family == AF_INET ? 4 : 6;
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof peer;
    if (syscall(SYS_getpeername, fd, &peer, &peer_len) == 0)
        fill_address(s, reinterpret_cast<sockaddr*>(&peer));
    SocketType t = type == SOCK_STREAM  ? SocketType::Tcp
                   : type == SOCK_DGRAM ? SocketType::Udp
                                        : SocketType::NotInet;
    s.type.store(uint8_t(t), std::memory_order_release);
}

} // namespace

SocketState* sockets_table() {
    return g_table.load(std::memory_order_acquire);
}

SocketState* sockets_create() {
    SocketState* t = g_table.load(std::memory_order_acquire);
    if (t) return t;
    void* p = mmap(nullptr, sizeof(SocketState) * kMaxTrackedFd, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    SocketState* expected = nullptr;
    if (!g_table.compare_exchange_strong(expected, static_cast<SocketState*>(p))) {
        munmap(p, sizeof(SocketState) * kMaxTrackedFd);
        return expected;
    }
    return static_cast<SocketState*>(p);
}

SocketState* socket_state(int fd) {
    SocketState* t = sockets_table();
    if (!t) t = sockets_create(); // the first call under an armed network rule
    if (!t || fd < 0 || fd >= kMaxTrackedFd) return nullptr;
    SocketState& s = t[fd];
    if (s.type.load(std::memory_order_acquire) == uint8_t(SocketType::Unknown)) {
        int saved = errno; // ENOTSOCK/EBADF of a non-socket: not the caller's
        classify(fd, s);
        errno = saved;
    }
    return &s;
}

bool is_inet(const SocketState* s) {
    if (!s) return false;
    auto t = SocketType(s->type.load(std::memory_order_acquire));
    return t == SocketType::Tcp || t == SocketType::Udp;
}

void socket_forget(int fd) {
    SocketState* t = sockets_table();
    if (!t || fd < 0 || fd >= kMaxTrackedFd) return;
    SocketState& s = t[fd];
    if (s.exchange.phase != ExchangePhase::Untracked) exchange_closed(s);
    s.exchange = {};
    // Everything but the atomics' storage is plain data: reset it whole.
    s.type.store(uint8_t(SocketType::Unknown), std::memory_order_release);
    s.peer_known = 0;
    s.local_port = 0;
    s.moved.store(0, std::memory_order_relaxed);
    s.dead_errno.store(0, std::memory_order_relaxed);
    lift_hang(s);
    s.connect_error.store(0, std::memory_order_relaxed);
    s.delay_until.store(0, std::memory_order_relaxed);
    take_owed_edge(s);
    s.loss_streak = 0;
    drop_pending_connect(s);
    s.turn = 0;
    s.accepted = 0;
    s.hang_rule = 0;
    s.buckets[0].rule = s.buckets[1].rule = 0;
    for (auto& e : s.per_conn) e.store(0, std::memory_order_relaxed);
    s.mss = 0;
    if (std::atomic<uint16_t>* e = s.port_entry) { // never below 0 (a fork's copies)
        uint16_t n = e->load(std::memory_order_relaxed);
        while (n && !e->compare_exchange_weak(n, uint16_t(n - 1), std::memory_order_relaxed)) {
        }
        s.port_entry = nullptr;
    }
}

void socket_forget_range(unsigned first, unsigned last) {
    SocketState* t = sockets_table();
    if (!t) return;
    for (unsigned fd = first; fd <= last && fd < unsigned(kMaxTrackedFd); ++fd)
        if (t[fd].type.load(std::memory_order_relaxed) != uint8_t(SocketType::Unknown))
            socket_forget(int(fd));
}

bool still_the_socket(int fd, const SocketState& s) {
    uint64_t dev = 0, ino = 0;
    int saved = errno;
    bool same = identity(fd, dev, ino) && dev == s.dev && ino == s.ino;
    errno = saved;
    return same;
}

void socket_set_peer(SocketState& s, const sockaddr* addr, socklen_t len) {
    if (addr && len >= sizeof(sa_family_t)) fill_address(s, addr);
}

} // namespace faultline::shim
