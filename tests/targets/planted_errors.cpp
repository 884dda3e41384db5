// Planted error paths for faultline sweep (tests/integration/test_sweep.sh):
// in each family, calls whose failure is handled and calls whose failure is
// not. The unhandled ones end as a real program's would: a NULL written
// through, getaddrinfo's result used after a failure, a column read after a
// failed step, a wait for a peer that was never reached, signed overflow.
//
//   planted_errors basic        every family, checked and unchecked
//   planted_errors threads      four threads, one with an unchecked malloc
//   planted_errors fork         a forked child writes through a failed malloc
//   planted_errors once MARKER  an allocation only while MARKER does not exist
//   planted_errors slow N       N checked allocations, 0.2 s apart
#include <arpa/inet.h>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PLANTED __attribute__((noinline))

namespace {

volatile int g_sink;

// Keeps the compiler from eliding an allocation it can see through.
inline void escape(void* p) {
    asm volatile("" : : "r"(p) : "memory");
}

PLANTED void checked_malloc() {
    char* p = static_cast<char*>(malloc(100));
    escape(p);
    if (!p) {
        fprintf(stderr, "checked_malloc: out of memory, carrying on\n");
        return;
    }
    p[0] = 1;
    g_sink = p[0];
    free(p);
}

PLANTED void unchecked_malloc() {
    char* p = static_cast<char*>(malloc(200));
    p[10] = 'x'; // no check: NULL is written through
    escape(p);
    g_sink = p[10];
    free(p);
}

PLANTED void checked_dns() {
    addrinfo hints{}, *res = nullptr;
    hints.ai_family = AF_INET;
    if (getaddrinfo("localhost", "80", &hints, &res) != 0) {
        fprintf(stderr, "checked_dns: lookup failed, carrying on\n");
        return;
    }
    freeaddrinfo(res);
}

PLANTED void unchecked_dns() {
    addrinfo hints{}, *res = nullptr;
    hints.ai_family = AF_INET;
    getaddrinfo("127.0.0.1", "80", &hints, &res); // result not checked
    g_sink = res->ai_family;
    freeaddrinfo(res);
}

PLANTED void checked_step(sqlite3* db) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT 'checked'", -1, &st, nullptr) != SQLITE_OK) {
        fprintf(stderr, "checked_step: prepare failed: %s\n", sqlite3_errmsg(db));
        return;
    }
    if (sqlite3_step(st) == SQLITE_ROW)
        g_sink = int(strlen(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))));
    else
        fprintf(stderr, "checked_step: step failed: %s\n", sqlite3_errmsg(db));
    sqlite3_finalize(st);
}

PLANTED void unchecked_column(sqlite3* db) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT 'unchecked'", -1, &st, nullptr) != SQLITE_OK) return;
    sqlite3_step(st); // not checked: the column of a failed step is NULL
    g_sink = int(strlen(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))));
    sqlite3_finalize(st);
}

int listener(uint16_t& port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 4) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        perror("listener");
        exit(2);
    }
    port = ntohs(a.sin_port);
    return fd;
}

int connect_to(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

PLANTED void checked_connect(uint16_t port) {
    int fd = connect_to(port);
    if (fd < 0) {
        fprintf(stderr, "checked_connect: refused, carrying on\n");
        return;
    }
    close(fd);
}

// A failed connect is taken for "the peer will call back": the program then
// waits on its own listener for a connection that never comes.
PLANTED void waits_forever() {
    uint16_t port = 0;
    int l = listener(port);
    int fd = connect_to(port);
    if (fd < 0) {
        int peer = accept(l, nullptr, nullptr); // nobody is coming
        close(peer);
    }
    close(fd);
    close(l);
}

PLANTED void overflows_on_failure() {
    char* p = static_cast<char*>(malloc(300));
    escape(p);
    volatile int n = INT_MAX;
    if (!p) n = n + 1; // signed overflow on the error path: UBSan reports it
    g_sink = n;
    free(p);
}

void drain_backlog(int listen_fd) {
    // The connects that succeeded sit in the backlog: take them.
    fcntl(listen_fd, F_SETFL, O_NONBLOCK);
    for (int i = 0; i < 1; ++i) {
        int fd = accept(listen_fd, nullptr, nullptr);
        if (fd >= 0) close(fd);
    }
}

int basic() {
    checked_malloc();
    unchecked_malloc();
    checked_dns();
    unchecked_dns();
    sqlite3* db = nullptr;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK) {
        fprintf(stderr, "open failed: %s\n", db ? sqlite3_errmsg(db) : "?");
        sqlite3_close(db);
        return 3;
    }
    checked_step(db);
    unchecked_column(db);
    sqlite3_close(db);
    uint16_t port = 0;
    int l = listener(port);
    checked_connect(port);
    drain_backlog(l);
    close(l);
    waits_forever();
    overflows_on_failure();
    printf("basic: done\n");
    return 0;
}

PLANTED void* worker(void* arg) {
    long id = reinterpret_cast<long>(arg);
    for (int i = 0; i < 50; ++i) {
        char* p = static_cast<char*>(malloc(64 + size_t(id)));
        escape(p);
        if (!p) return nullptr; // checked
        p[0] = char(i);
        free(p);
    }
    return nullptr;
}

PLANTED void* careless_worker(void*) {
    for (int i = 0; i < 50; ++i) {
        char* p = static_cast<char*>(malloc(4096));
        p[4095] = char(i); // unchecked, in a thread
        escape(p);
        free(p);
    }
    return nullptr;
}

int threads() {
    pthread_t t[4];
    bool started[4];
    for (long i = 0; i < 3; ++i)
        started[i] = pthread_create(&t[i], nullptr, worker, reinterpret_cast<void*>(i)) == 0;
    started[3] = pthread_create(&t[3], nullptr, careless_worker, nullptr) == 0;
    for (int i = 0; i < 4; ++i)
        if (started[i]) pthread_join(t[i], nullptr);
    printf("threads: done\n");
    return 0;
}

PLANTED void child_work() {
    char* p = static_cast<char*>(malloc(512));
    strcpy(p, "child"); // unchecked, in a forked child
    escape(p);
    g_sink = p[0];
    free(p);
}

int forks() {
    pid_t pid = fork();
    if (pid == 0) {
        child_work();
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    printf("fork: child ended with %d\n", status); // the parent carries on regardless
    return 0;
}

PLANTED void first_time_only(const char* marker) {
    struct stat st;
    if (stat(marker, &st) == 0) return; // reached only while the marker is missing
    FILE* f = fopen(marker, "w");
    if (f) fclose(f);
    char* p = static_cast<char*>(malloc(1000));
    escape(p);
    if (!p) return;
    p[0] = 0;
    free(p);
}

int slow(int n) {
    for (int i = 0; i < n; ++i) {
        // A site per iteration: each a call from its own place in the loop
        // body is one site, so unroll by the switch.
        char* p = nullptr;
        switch (i % 4) {
        case 0:
            p = static_cast<char*>(malloc(10));
            break;
        case 1:
            p = static_cast<char*>(calloc(1, 10));
            break;
        case 2:
            p = static_cast<char*>(malloc(20));
            break;
        default:
            p = static_cast<char*>(calloc(2, 10));
            break;
        }
        escape(p);
        if (!p) fprintf(stderr, "slow: allocation %d failed, carrying on\n", i);
        free(p);
        usleep(200000);
    }
    printf("slow: done\n");
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    const char* what = argc > 1 ? argv[1] : "basic";
    if (!strcmp(what, "basic")) return basic();
    if (!strcmp(what, "threads")) return threads();
    if (!strcmp(what, "fork")) return forks();
    if (!strcmp(what, "once") && argc > 2) {
        first_time_only(argv[2]);
        checked_malloc();
        return 0;
    }
    if (!strcmp(what, "slow")) return slow(argc > 2 ? atoi(argv[2]) : 8);
    fprintf(stderr, "usage: planted_errors basic|threads|fork|once MARKER|slow N\n");
    return 2;
}
