// Loopback TCP, 4 KiB messages, timed by the program itself (the bar:
// "loopback 4 KiB send/recv, no rule armed").
//
// usage: net_pingpong MODE COUNT [PROBE_HOST]
//   MODE pingpong: the client sends 4 KiB, the server sends the 4 KiB back;
//                  COUNT round trips.
//   MODE stream:   the client sends COUNT messages of 4 KiB, the server
//                  receives them; the server's answer ends the run.
//
// The program forks: the child is the server (accept, recv/send), the parent
// the client (connect, send/recv). Both use send() and recv() (the calls the
// shim hooks), on 127.0.0.1, TCP_NODELAY. Under `faultline run` both processes
// carry the shim; pin the whole tree (taskset) to compare like with like. The
// client warms up (COUNT/10 + 1000 messages), then times COUNT messages in
// chunks with CLOCK_MONOTONIC, each round trip on its own too; both
// processes measure their CPU time over the timed messages.
//
// Output, one `key=value` per line, read by bench/run:
//   send_from=PATH     the object `send` resolves to (libc or the shim)
//   ns_per_op=X        ns per round trip (pingpong) or per message (stream),
//                      over the whole timed loop
//   best_chunk_ns=Y    the same over the fastest chunk (1,000 round trips or
//                      5,000 messages)
//   cpu_ns_per_op=C    CPU time (user + system) of client and server together
//                      per round trip or message: the work, without the time
//                      other processes took the CPU away
//   median_ns=M        pingpong: the median round trip (robust against the
//                      preemptions a busy machine inflicts on a few of them)
//   bytes_ok=0|1       every message arrived whole and intact (server's and
//                      client's own checks)
//   probe_ms=Z         with PROBE_HOST: how long a UDP connect() to
//                      PROBE_HOST:9 took (no packet is sent). Tells whether a
//                      `net.delay peer=PROBE_HOST` rule really was armed in
//                      this process (what the program saw).

#include "bench/net_probe.h"
#include <algorithm>

#include <arpa/inet.h>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

constexpr size_t kMsg = 4096;

int64_t clock_ns(clockid_t clock) {
    timespec ts;
    clock_gettime(clock, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int64_t now_ns() {
    return clock_ns(CLOCK_MONOTONIC);
}

// CPU time of this process (user + system): what the work costs, without
// the time other processes of the machine took the CPU away.
int64_t cpu_ns() {
    return clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}

[[noreturn]] void die(const char* what) {
    fprintf(stderr, "net_pingpong: %s: %s\n", what, strerror(errno));
    exit(1);
}

// send() until all `len` bytes are out.
bool send_all(int fd, const char* p, size_t len) {
    while (len) {
        ssize_t n = send(fd, p, len, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        len -= size_t(n);
    }
    return true;
}

// recv() until all `len` bytes are in.
bool recv_all(int fd, char* p, size_t len) {
    while (len) {
        ssize_t n = recv(fd, p, len, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        len -= size_t(n);
    }
    return true;
}

void no_delay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Message i: its first 8 bytes carry i, so that a lost or reordered message
// shows.
void stamp(char* msg, uint64_t i) {
    memcpy(msg, &i, sizeof i);
}

bool stamped(const char* msg, uint64_t i) {
    uint64_t got;
    memcpy(&got, msg, sizeof got);
    return got == i;
}

// The server's answer: whether every message carried its number, and the
// CPU time the server spent on the timed messages.
struct Answer {
    int64_t ok;
    int64_t cpu_ns;
};

// The server: echoes (pingpong) or swallows (stream) `warm` + `count`
// messages, then sends its Answer.
int serve(int listener, bool echo, uint64_t warm, uint64_t count) {
    int fd = accept(listener, nullptr, nullptr);
    if (fd < 0) die("accept");
    no_delay(fd);
    char msg[kMsg];
    Answer a{1, 0};
    int64_t c0 = 0;
    for (uint64_t i = 0; i < warm + count; ++i) {
        if (i == warm) c0 = cpu_ns();
        if (!recv_all(fd, msg, kMsg)) die("server recv");
        if (!stamped(msg, i)) a.ok = 0;
        if (echo && !send_all(fd, msg, kMsg)) die("server send");
    }
    a.cpu_ns = cpu_ns() - c0;
    if (!send_all(fd, reinterpret_cast<const char*>(&a), sizeof a)) die("server answer");
    close(fd);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s pingpong|stream COUNT [PROBE_HOST]\n", argv[0]);
        return 2;
    }
    bool echo = strcmp(argv[1], "pingpong") == 0;
    if (!echo && strcmp(argv[1], "stream") != 0) {
        fprintf(stderr, "net_pingpong: MODE must be pingpong or stream\n");
        return 2;
    }
    uint64_t count = strtoull(argv[2], nullptr, 10);
    if (count == 0) {
        fprintf(stderr, "net_pingpong: COUNT must be > 0\n");
        return 2;
    }
    uint64_t warm = count / 10 + 1000;
    // Chunks: a round trip is ~10 us; a streamed message ~1 us, and the
    // socket buffers hold hundreds of them: stream chunks are longer.
    uint64_t chunk = echo ? 1000 : 5000;

    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) die("socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("bind");
    if (listen(listener, 1) != 0) die("listen");
    if (getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) die("getsockname");

    fflush(stdout);
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) _exit(serve(listener, echo, warm, count));
    close(listener);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("connect");
    no_delay(fd);

    char msg[kMsg], back[kMsg];
    memset(msg, 0x5a, sizeof msg);
    bool ok = true;
    uint64_t i = 0;
    auto one = [&]() {
        stamp(msg, i);
        if (!send_all(fd, msg, kMsg)) die("client send");
        if (echo) {
            if (!recv_all(fd, back, kMsg)) die("client recv");
            if (memcmp(back, msg, kMsg) != 0) ok = false;
        }
        ++i;
    };
    while (i < warm) one();

    double best = 0;
    std::vector<int64_t> each; // pingpong: every round trip
    if (echo) each.reserve(count);
    int64_t cpu0 = cpu_ns();
    int64_t t0 = now_ns();
    for (uint64_t done = 0; done < count;) {
        uint64_t n = count - done < chunk ? count - done : chunk;
        int64_t c0 = now_ns();
        for (uint64_t k = 0; k < n; ++k) {
            int64_t a = echo ? now_ns() : 0;
            one();
            if (echo) each.push_back(now_ns() - a);
        }
        double ns = double(now_ns() - c0) / double(n);
        if (n == chunk && (best == 0 || ns < best)) best = ns;
        done += n;
    }
    Answer answer{0, 0};
    if (!recv_all(fd, reinterpret_cast<char*>(&answer), sizeof answer)) // the stream's end
        die("client answer");
    int64_t t1 = now_ns();
    int64_t cpu = cpu_ns() - cpu0 + answer.cpu_ns;
    close(fd);
    int status = 0;
    waitpid(child, &status, 0);
    ok = ok && answer.ok == 1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;

    printf("send_from=%s\n", bench::origin("send"));
    printf("ns_per_op=%.1f\n", double(t1 - t0) / double(count));
    printf("best_chunk_ns=%.1f\n", best ? best : double(t1 - t0) / double(count));
    printf("cpu_ns_per_op=%.1f\n", double(cpu) / double(count));
    printf("bytes_ok=%d\n", ok ? 1 : 0);
    if (echo) {
        std::sort(each.begin(), each.end());
        printf("median_ns=%.1f\n", double(each[each.size() / 2]));
    }
    if (argc > 3) printf("probe_ms=%.3f\n", bench::probe_ms(argv[3]));
    return ok ? 0 : 1;
}
