// epoll_wait / poll over sockets that are all ready: the wait returns at
// once, so the loop measures what each call costs, the shim's share in it.
//
// usage: wait_ready epoll|poll NFDS CALLS [PROBE_HOST]
//
// NFDS loopback TCP connections (a listener, NFDS connects, NFDS accepts);
// one byte is written to each client end once, never read, so every accepted
// end stays readable for the whole run. Then CALLS waits, each expected to
// report all NFDS ready:
//   epoll: one epoll set, level-triggered EPOLLIN, registered the way nginx,
//          libuv and tokio register: `ev.data.ptr` = a per-connection struct,
//          not `data.fd`; epoll_wait(ep, events, NFDS, 1000).
//   poll:  poll(fds, NFDS, 1000).
// The 1 s timeout is never reached (all fds are ready); it only keeps a
// broken run from hanging. Every call's result is checked: the count, and
// for epoll that each event carries one of the registered structs.
// Warm-up: CALLS/10 + 1000 calls; then CALLS timed in chunks of 1,000 with
// CLOCK_MONOTONIC.
//
// Output, one `key=value` line each, read by bench/run:
//   wait_from=PATH    the object epoll_wait (or poll) resolves to
//   ns_per_op=X       ns per call over the whole timed loop
//   best_chunk_ns=Y   the same over the fastest chunk
//   calls=N           timed + warm-up calls made
//   ready_ok=0|1      every call reported all NFDS fds, with their structs
//   probe_ms=Z        with PROBE_HOST: how long a UDP connect() to
//                     PROBE_HOST:9 took (no packet is sent): tells whether a
//                     `net.delay peer=PROBE_HOST` rule really was armed

#include "bench/net_probe.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <dlfcn.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

constexpr uint64_t kChunk = 1000;

int64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

[[noreturn]] void die(const char* what) {
    fprintf(stderr, "wait_ready: %s: %s\n", what, strerror(errno));
    exit(1);
}

// What an event loop hangs off data.ptr: its own record of the connection.
struct Connection {
    int fd;
    uint64_t tag;
};

// NFDS accepted loopback connections, each with one unread byte waiting.
std::vector<int> ready_sockets(int n, std::vector<int>& peers) {
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) die("socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("bind");
    if (listen(listener, n) != 0) die("listen");
    if (getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) die("getsockname");
    std::vector<int> out;
    for (int i = 0; i < n; ++i) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (c < 0) die("socket");
        if (connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("connect");
        int s = accept(listener, nullptr, nullptr);
        if (s < 0) die("accept");
        if (send(c, "x", 1, 0) != 1) die("send");
        peers.push_back(c);
        out.push_back(s);
    }
    close(listener);
    return out;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s epoll|poll NFDS CALLS [PROBE_HOST]\n", argv[0]);
        return 2;
    }
    bool use_epoll = strcmp(argv[1], "epoll") == 0;
    if (!use_epoll && strcmp(argv[1], "poll") != 0) {
        fprintf(stderr, "wait_ready: MODE must be epoll or poll\n");
        return 2;
    }
    int n = atoi(argv[2]);
    uint64_t count = strtoull(argv[3], nullptr, 10);
    if (n <= 0 || n > 4096 || count == 0) {
        fprintf(stderr, "wait_ready: NFDS must be 1..4096, CALLS > 0\n");
        return 2;
    }
    rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < rlim_t(2 * n + 16)) {
        lim.rlim_cur = lim.rlim_max < rlim_t(2 * n + 16) ? lim.rlim_max : rlim_t(2 * n + 16);
        setrlimit(RLIMIT_NOFILE, &lim);
    }

    std::vector<int> peers;
    std::vector<int> socks = ready_sockets(n, peers);
    std::vector<Connection> conns(static_cast<size_t>(n));
    std::vector<pollfd> pfds(static_cast<size_t>(n));
    std::vector<epoll_event> events(static_cast<size_t>(n));
    int ep = -1;
    for (int i = 0; i < n; ++i) {
        conns[size_t(i)] = {socks[size_t(i)], 0x5eed0000ull + uint64_t(i)};
        pfds[size_t(i)] = {socks[size_t(i)], POLLIN, 0};
    }
    if (use_epoll) {
        ep = epoll_create1(0);
        if (ep < 0) die("epoll_create1");
        for (auto& c : conns) {
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.ptr = &c;
            if (epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev) != 0) die("epoll_ctl");
        }
    }

    bool ok = true;
    auto one = [&]() {
        if (use_epoll) {
            int r = epoll_wait(ep, events.data(), n, 1000);
            if (r != n) {
                ok = false;
                return;
            }
            for (int i = 0; i < r; ++i) {
                auto* c = static_cast<Connection*>(events[size_t(i)].data.ptr);
                if (c < conns.data() || c >= conns.data() + n ||
                    c->tag != 0x5eed0000ull + uint64_t(c - conns.data()) ||
                    !(events[size_t(i)].events & EPOLLIN))
                    ok = false;
            }
        } else {
            int r = poll(pfds.data(), nfds_t(n), 1000);
            if (r != n) ok = false;
            for (auto& p : pfds)
                if (!(p.revents & POLLIN)) ok = false;
        }
    };

    uint64_t warm = count / 10 + 1000;
    for (uint64_t i = 0; i < warm; ++i) one();
    double best = 0;
    int64_t t0 = now_ns();
    for (uint64_t done = 0; done < count;) {
        uint64_t k = count - done < kChunk ? count - done : kChunk;
        int64_t c0 = now_ns();
        for (uint64_t i = 0; i < k; ++i) one();
        double ns = double(now_ns() - c0) / double(k);
        if (k == kChunk && (best == 0 || ns < best)) best = ns;
        done += k;
    }
    int64_t t1 = now_ns();

    printf("wait_from=%s\n", bench::origin(use_epoll ? "epoll_wait" : "poll"));
    printf("ns_per_op=%.1f\n", double(t1 - t0) / double(count));
    printf("best_chunk_ns=%.1f\n", best ? best : double(t1 - t0) / double(count));
    printf("calls=%llu\n", static_cast<unsigned long long>(warm + count));
    printf("ready_ok=%d\n", ok ? 1 : 0);
    if (argc > 4) printf("probe_ms=%.3f\n", bench::probe_ms(argv[4]));
    for (int fd : socks) close(fd);
    for (int fd : peers) close(fd);
    if (ep >= 0) close(ep);
    return ok ? 0 : 1;
}
