// A loopback bulk transfer, timed by the program itself (the bar:
// "net.bandwidth achieved rate ... within +-5%"). Knows nothing of faultline:
// the same binary runs plain, under `faultline run -r 'net.bandwidth ...'` and
// under `trickle`.
//
// usage: net_rate serve
//          Prints the port it listens on (127.0.0.1), then serves each
//          connection in a thread until its stdin closes. A connection
//          starts with a 9-byte request: 'S' + N (uint64, native order):
//          the server sends N bytes of a fixed pattern, then closes; or
//          'R' + N: the server receives N bytes, then answers 1 byte (1 when
//          they matched the pattern) and closes.
//        net_rate MODE PORT BYTES [STALL]
//          The client. MODE says how it waits:
//            recv     blocking recv()
//            poll     non-blocking socket, poll() then one recv() per wake-up
//            select   the same with select()
//            epoll    the same with epoll_wait(), level-triggered
//            epollet  epoll_wait() with EPOLLET, recv() until EAGAIN per edge
//            send     blocking send() of BYTES to the server, then waits for
//                     the server's answer (so bytes still queued in the
//                     kernel are not counted as moved)
//          The socket is made with socket(AF_INET, SOCK_STREAM, 0) and set
//          non-blocking with fcntl() after connecting, the classic way
//          (trickle, for one, tracks no socket made with SOCK_NONBLOCK or
//          SOCK_CLOEXEC in its type).
//
// Client output, one line of key=value read by bench/run:
//   mode=M bytes=N wall=SECONDS cpu=SECONDS calls=C waits=W ok=0|1
//   wall: from the request sent to the last byte in (or the answer), by
//   CLOCK_MONOTONIC; cpu: user+system time (getrusage) over the same span;
//   calls: recv()/send() calls; waits: poll/select/epoll_wait calls; ok: every
//   byte arrived and matched the pattern, no stall (STALL seconds without a
//   byte, 10 by default: the client gives up, as a real one would).

#include <arpa/inet.h>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

constexpr size_t kBuf = 65536;
constexpr size_t kPeriod = 251; // the pattern: byte i is i % 251
uint8_t g_pattern[kBuf + kPeriod];

void make_pattern() {
    for (size_t i = 0; i < sizeof g_pattern; ++i) g_pattern[i] = uint8_t(i % kPeriod);
}

// `n` bytes at stream offset `off` match the pattern.
bool matches(const uint8_t* p, size_t n, uint64_t off) {
    return memcmp(p, g_pattern + off % kPeriod, n) == 0;
}

double now_s() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

double cpu_s() {
    rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

bool send_all(int fd, const void* p, size_t n) {
    auto* c = static_cast<const char*>(p);
    while (n) {
        ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        c += k;
        n -= size_t(k);
    }
    return true;
}

bool recv_all(int fd, void* p, size_t n) {
    auto* c = static_cast<char*>(p);
    while (n) {
        ssize_t k = recv(fd, c, n, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        c += k;
        n -= size_t(k);
    }
    return true;
}

// -- the server (runs without any shim) ---------------------------------------

void* serve_one(void* arg) {
    int fd = int(intptr_t(arg));
    char req[9];
    uint64_t n = 0;
    if (recv_all(fd, req, sizeof req)) {
        memcpy(&n, req + 1, sizeof n);
        if (req[0] == 'S') {
            for (uint64_t off = 0; off < n;) {
                size_t k = n - off < kBuf ? size_t(n - off) : kBuf;
                if (!send_all(fd, g_pattern + off % kPeriod, k)) break;
                off += k;
            }
        } else if (req[0] == 'R') {
            static thread_local uint8_t buf[kBuf];
            bool ok = true;
            uint64_t off = 0;
            while (off < n) {
                ssize_t k = recv(fd, buf, kBuf, 0);
                if (k < 0 && errno == EINTR) continue;
                if (k <= 0) break;
                ok = ok && matches(buf, size_t(k), off);
                off += uint64_t(k);
            }
            char answer = ok && off == n;
            send_all(fd, &answer, 1);
        }
    }
    close(fd);
    return nullptr;
}

void* watch_stdin(void*) {
    char c;
    while (read(0, &c, 1) > 0) {
    }
    _exit(0);
}

int serve() {
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (ls < 0 || bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(ls, 64) != 0 ||
        getsockname(ls, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        perror("net_rate: serve");
        return 1;
    }
    printf("%d\n", ntohs(a.sin_port));
    fflush(stdout);
    pthread_t t;
    pthread_create(&t, nullptr, watch_stdin, nullptr);
    for (;;) {
        int fd = accept(ls, nullptr, nullptr);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            perror("net_rate: accept");
            return 1;
        }
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_create(&t, &attr, serve_one, reinterpret_cast<void*>(intptr_t(fd)));
        pthread_attr_destroy(&attr);
    }
}

// -- the client -----------------------------------------------------------------

struct Client {
    int fd = -1;
    uint64_t want = 0, got = 0;
    uint64_t calls = 0, waits = 0;
    bool ok = true;
    uint8_t buf[kBuf];

    // One recv(); false on EAGAIN, end of stream or error (`ok` tells).
    bool take() {
        size_t n = want - got < kBuf ? size_t(want - got) : kBuf;
        ++calls;
        ssize_t k = recv(fd, buf, n, 0);
        if (k > 0) {
            ok = ok && matches(buf, size_t(k), got);
            got += uint64_t(k);
            return true;
        }
        if (k == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) ok = false;
        return false;
    }
};

int client(const char* mode, int port, uint64_t bytes, double stall) {
    bool sending = strcmp(mode, "send") == 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        perror("net_rate: connect");
        return 1;
    }
    char req[9];
    req[0] = sending ? 'R' : 'S';
    memcpy(req + 1, &bytes, sizeof bytes);
    if (!send_all(fd, req, sizeof req)) {
        perror("net_rate: request");
        return 1;
    }
    static Client c;
    c.fd = fd;
    c.want = bytes;
    bool blocking = sending || strcmp(mode, "recv") == 0;
    if (!blocking) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    int ep = -1;
    if (strcmp(mode, "epoll") == 0 || strcmp(mode, "epollet") == 0) {
        ep = epoll_create1(0);
        epoll_event ev{};
        ev.events = EPOLLIN;
        if (strcmp(mode, "epollet") == 0) ev.events |= EPOLLET;
        ev.data.fd = fd;
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }

    double cpu0 = cpu_s(), t0 = now_s(), progress = t0;
    if (sending) {
        while (c.got < bytes) {
            size_t n = bytes - c.got < kBuf ? size_t(bytes - c.got) : kBuf;
            ++c.calls;
            ssize_t k = send(fd, g_pattern + c.got % kPeriod, n, MSG_NOSIGNAL);
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0) {
                c.ok = false;
                break;
            }
            c.got += uint64_t(k);
        }
        char answer = 0;
        c.ok = c.ok && recv_all(fd, &answer, 1) && answer == 1;
    } else {
        while (c.got < bytes && c.ok) {
            uint64_t before = c.got;
            if (blocking) {
                c.take();
            } else if (strcmp(mode, "poll") == 0) {
                pollfd p{fd, POLLIN, 0};
                ++c.waits;
                if (poll(&p, 1, 1000) > 0) c.take();
            } else if (strcmp(mode, "select") == 0) {
                fd_set r;
                FD_ZERO(&r);
                FD_SET(fd, &r);
                timeval tv{1, 0};
                ++c.waits;
                if (select(fd + 1, &r, nullptr, nullptr, &tv) > 0) c.take();
            } else if (ep >= 0) {
                epoll_event ev;
                ++c.waits;
                if (epoll_wait(ep, &ev, 1, 1000) > 0) {
                    if (strcmp(mode, "epollet") == 0)
                        while (c.got < bytes && c.take()) {
                        }
                    else
                        c.take();
                }
            } else {
                fprintf(stderr, "net_rate: unknown mode %s\n", mode);
                return 2;
            }
            double t = now_s();
            if (c.got != before) progress = t;
            if (t - progress > stall) {
                c.ok = false;
                break;
            }
        }
    }
    double wall = now_s() - t0, cpu = cpu_s() - cpu0;
    close(fd);
    printf("mode=%s bytes=%llu wall=%.4f cpu=%.4f calls=%llu waits=%llu ok=%d\n", mode,
           (unsigned long long)c.got, wall, cpu, (unsigned long long)c.calls,
           (unsigned long long)c.waits, c.ok && c.got == bytes ? 1 : 0);
    return c.ok ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    make_pattern();
    if (argc == 2 && strcmp(argv[1], "serve") == 0) return serve();
    if (argc == 4 || argc == 5)
        return client(argv[1], atoi(argv[2]), strtoull(argv[3], nullptr, 10),
                      argc == 5 ? atof(argv[4]) : 10.0);
    fprintf(stderr, "usage: %s serve | %s recv|poll|select|epoll|epollet|send PORT BYTES [STALL]\n",
            argv[0], argv[0]);
    return 2;
}
