// Signals during waits the shim injects (docs/pitfalls.md item 23): a
// SIGALRM handler fires after MS milliseconds while a call is held, and the
// call must return as the kernel's would (man 7 signal).
//
//   signal_waits connect PORT MS [restart]   connect to 127.0.0.1:PORT
//   signal_waits recv PORT MS [restart]      send "ping\n", then recv the answer
//   signal_waits send PORT MS restart-timeout  send under SA_RESTART with SO_SNDTIMEO set
//   signal_waits poll PORT MS [restart]      poll a connected socket for input (3 s)
//   signal_waits sigint PORT                 connect with SIGINT at its default action
//                                            (prints "connecting pid=N" first)
//
// `restart`: the handler is installed with SA_RESTART. Prints one line per
// call: "<call> rc=N|-1 ERRNO handler_ms=H returned_ms=R [data=...]"; times
// are from the start of the call. After an interrupted connect it calls
// connect again ("again rc=-1 EALREADY"), waits for writability and prints
// SO_ERROR ("then connected=1 ms=M"); after an
// interrupted recv it receives again ("then rc=N ms=M data=...").
#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace {

volatile sig_atomic_t g_fired = 0;
double g_start = 0, g_handler_ms = -1;

double now_ms() {
    timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return double(t.tv_sec) * 1e3 + double(t.tv_nsec) / 1e6;
}

void on_alarm(int) {
    g_fired = 1;
    g_handler_ms = now_ms() - g_start;
}

void arm(int ms, bool restart) {
    struct sigaction sa {};
    sa.sa_handler = on_alarm;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, nullptr);
    itimerval it{};
    it.it_value.tv_sec = ms / 1000;
    it.it_value.tv_usec = (ms % 1000) * 1000;
    g_start = now_ms();
    setitimer(ITIMER_REAL, &it, nullptr);
}

const char* err_name(long r, int e) {
    static char buf[64];
    if (r >= 0) return "";
    snprintf(buf, sizeof buf, " %s", strerrorname_np(e));
    return buf;
}

void report(const char* call, long r, int e, const char* extra = "") {
    printf("%s rc=%ld%s handler_ms=%.0f returned_ms=%.0f%s\n", call, r >= 0 ? r : -1,
           err_name(r, e), g_handler_ms, now_ms() - g_start, extra);
    fflush(stdout);
}

sockaddr_in loopback(int port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

int connected(int port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = loopback(port);
    if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        perror("connect");
        exit(2);
    }
    return s;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: signal_waits connect|recv|send|poll|sigint PORT [MS [restart]]\n");
        return 2;
    }
    const char* mode = argv[1];
    int port = atoi(argv[2]);
    int ms = argc > 3 ? atoi(argv[3]) : 0;
    bool restart = argc > 4 && strncmp(argv[4], "restart", 7) == 0;

    if (!strcmp(mode, "connect")) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a = loopback(port);
        arm(ms, restart);
        long r = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
        int e = errno;
        report("connect", r, e);
        if (r != 0 && e == EINTR) { // in progress in the background, as the kernel's
            long again = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
            printf("again rc=%ld%s\n", again, err_name(again, errno));
            pollfd p{s, POLLOUT, 0};
            int n = poll(&p, 1, 10000);
            int so = -1;
            socklen_t len = sizeof so;
            getsockopt(s, SOL_SOCKET, SO_ERROR, &so, &len);
            printf("then connected=%d ms=%.0f\n", n == 1 && so == 0, now_ms() - g_start);
        }
        return 0;
    }
    if (!strcmp(mode, "recv")) {
        int s = connected(port);
        send(s, "ping\n", 5, 0);
        char buf[64] = {};
        arm(ms, restart);
        long r = recv(s, buf, sizeof buf - 1, 0);
        int e = errno;
        char extra[96] = "";
        if (r > 0) snprintf(extra, sizeof extra, " data=%.*s", int(strcspn(buf, "\n")), buf);
        report("recv", r, e, extra);
        if (r < 0 && e == EINTR) {
            r = recv(s, buf, sizeof buf - 1, 0);
            e = errno;
            printf("then rc=%ld%s ms=%.0f data=%.*s\n", r, err_name(r, e), now_ms() - g_start,
                   r > 0 ? int(strcspn(buf, "\n")) : 0, buf);
        }
        return 0;
    }
    if (!strcmp(mode, "send")) {
        int s = connected(port);
        timeval tv{5, 0};
        setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        arm(ms, true);
        long r = send(s, "ping\n", 5, 0);
        report("send", r, errno);
        return 0;
    }
    if (!strcmp(mode, "poll")) {
        int s = connected(port);
        send(s, "ping\n", 5, 0);
        usleep(200000); // the answer is there: only a fault can hide it
        pollfd p{s, POLLIN, 0};
        arm(ms, restart);
        long r = poll(&p, 1, 3000);
        report("poll", r, errno);
        return 0;
    }
    if (!strcmp(mode, "sigint")) {
        signal(SIGINT, SIG_DFL); // a background job starts with it ignored
        int s = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a = loopback(port);
        printf("connecting pid=%d\n", int(getpid()));
        fflush(stdout);
        long r = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
        report("connect", r, errno); // never reached when SIGINT ends the process
        return 0;
    }
    fprintf(stderr, "signal_waits: unknown mode %s\n", mode);
    return 2;
}
