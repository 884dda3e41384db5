// Calls every function the shim intercepts (common/hooks.def), on success
// and on the failures the kernel, libc or SQLite report themselves, and
// prints what each returned: values, errno names, data, never addresses or
// ports. Run plain and under the shim in every mode without a matching rule,
// the output must be the same byte for byte (test_hooks_matrix.sh).
//
//   hook_matrix DIR    DIR: a scratch directory for the SQLite file
//
// Each line: "<function> <what it returned>". The last line lists every
// function covered ("covers a b c..."), checked against `faultline hooks`.
#include <arpa/inet.h>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sqlite3.h>
#include <string>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

// _FORTIFY_SOURCE's checked entry points, called as fortified code calls them.
extern "C" {
ssize_t __recv_chk(int, void*, size_t, size_t, int);
ssize_t __recvfrom_chk(int, void*, size_t, size_t, int, sockaddr*, socklen_t*);
ssize_t __read_chk(int, void*, size_t, size_t);
int __poll_chk(pollfd*, nfds_t, int, size_t);
int __ppoll_chk(pollfd*, nfds_t, const timespec*, const sigset_t*, size_t);
}

namespace {

std::string g_covers;

void out(const char* fn, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void out(const char* fn, const char* fmt, ...) {
    if (g_covers.find(std::string(" ") + fn + " ") == std::string::npos)
        g_covers += std::string(" ") + fn + " ";
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    printf("%-24s %s\n", fn, buf);
}

// A call's result as "rc=N" or "rc=-1 ERRNO".
std::string rc(long r, int e) {
    if (r >= 0) return "rc=" + std::to_string(r);
    const char* name = strerrorname_np(e);
    return std::string("rc=-1 ") + (name ? name : "?");
}

#define CALL(fn, expr)                                                                             \
    do {                                                                                           \
        errno = 0;                                                                                 \
        long r_ = long(expr);                                                                      \
        int e_ = errno;                                                                            \
        out(fn, "%s", rc(r_, e_).c_str());                                                         \
    } while (0)

bool aligned(const void* p, size_t a) {
    return (reinterpret_cast<uintptr_t>(p) % a) == 0;
}

void memory() {
    char* p = static_cast<char*>(malloc(64));
    memset(p, 'a', 64);
    out("malloc", "%s", p ? "block" : "NULL");
    out("malloc_usable_size", "%s", malloc_usable_size(p) >= 64 ? ">=64" : "<64");
    p = static_cast<char*>(realloc(p, 4096));
    out("realloc", "%s kept=%d", p ? "block" : "NULL", p && p[63] == 'a');
    // volatile: the compiler would see the overflow coming and warn.
    volatile size_t half = SIZE_MAX / 2;
    errno = 0;
    void* big = reallocarray(nullptr, half, 4); // overflows: the real one says so
    out("reallocarray", "overflow %s %s", big ? "block" : "NULL", strerrorname_np(errno));
    p = static_cast<char*>(reallocarray(p, 2, 4096));
    out("reallocarray", "%s kept=%d", p ? "block" : "NULL", p && p[0] == 'a');
    free(p);
    out("free", "done");
    int* z = static_cast<int*>(calloc(16, sizeof(int)));
    int sum = 0;
    for (int i = 0; i < 16; ++i) sum += z[i];
    out("calloc", "zeroed=%d", sum == 0);
    free(z);
    errno = 0;
    void* huge = calloc(half, 4);
    out("calloc", "overflow %s %s", huge ? "block" : "NULL", strerrorname_np(errno));
    void* a = nullptr;
    int prc = posix_memalign(&a, 256, 100);
    out("posix_memalign", "rc=%d aligned=%d", prc, aligned(a, 256));
    free(a);
    void* bad = reinterpret_cast<void*>(1);
    prc = posix_memalign(&bad, 3, 100); // not a power of two
    out("posix_memalign", "rc=%s untouched=%d", strerrorname_np(prc),
        bad == reinterpret_cast<void*>(1));
    a = aligned_alloc(64, 128);
    out("aligned_alloc", "aligned=%d", aligned(a, 64));
    free(a);
    a = memalign(128, 100);
    out("memalign", "aligned=%d", aligned(a, 128));
    free(a);
    a = valloc(100);
    out("valloc", "page=%d", aligned(a, size_t(sysconf(_SC_PAGESIZE))));
    free(a);
    a = pvalloc(100);
    out("pvalloc", "page=%d", aligned(a, size_t(sysconf(_SC_PAGESIZE))));
    free(a);
}

// A connected loopback TCP pair; the listener's port never printed.
struct Pair {
    int listener, client, server;
};

Pair tcp_pair() {
    Pair p{};
    p.listener = socket(AF_INET, SOCK_STREAM, 0);
    out("socket", "%s", p.listener >= 0 ? "fd" : "-1");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    CALL("bind", bind(p.listener, reinterpret_cast<sockaddr*>(&a), sizeof a));
    listen(p.listener, 4);
    getsockname(p.listener, reinterpret_cast<sockaddr*>(&a), &len);
    p.client = socket(AF_INET, SOCK_STREAM, 0);
    CALL("connect", connect(p.client, reinterpret_cast<sockaddr*>(&a), sizeof a));
    p.server = accept(p.listener, nullptr, nullptr);
    out("accept", "%s", p.server >= 0 ? "fd" : rc(-1, errno).c_str());
    int second = socket(AF_INET, SOCK_STREAM, 0);
    connect(second, reinterpret_cast<sockaddr*>(&a), sizeof a);
    int taken = accept4(p.listener, nullptr, nullptr, SOCK_CLOEXEC);
    out("accept4", "%s", taken >= 0 ? "fd" : rc(-1, errno).c_str());
    close(taken);
    close(second);
    return p;
}

void tcp() {
    Pair p = tcp_pair();
    char buf[64] = {};
    CALL("send", send(p.client, "hello", 5, 0));
    CALL("recv", recv(p.server, buf, sizeof buf, 0));
    out("recv", "data=%.5s", buf);
    CALL("write", write(p.server, "world", 5));
    CALL("read", read(p.client, buf, sizeof buf));
    out("read", "data=%.5s", buf);
    iovec iov[2] = {{const_cast<char*>("ab"), 2}, {const_cast<char*>("cd"), 2}};
    CALL("writev", writev(p.client, iov, 2));
    char x[2], y[2];
    iovec in[2] = {{x, 2}, {y, 2}};
    CALL("readv", readv(p.server, in, 2));
    out("readv", "data=%.2s%.2s", x, y);
    msghdr m{};
    m.msg_iov = iov;
    m.msg_iovlen = 2;
    CALL("sendmsg", sendmsg(p.server, &m, 0));
    msghdr r{};
    r.msg_iov = in;
    r.msg_iovlen = 2;
    CALL("recvmsg", recvmsg(p.client, &r, 0));
    CALL("sendto", sendto(p.client, "xyz", 3, 0, nullptr, 0));
    CALL("__recv_chk", __recv_chk(p.server, buf, 1, sizeof buf, 0));
    CALL("__recvfrom_chk", __recvfrom_chk(p.server, buf, 1, sizeof buf, 0, nullptr, nullptr));
    CALL("__read_chk", __read_chk(p.server, buf, 1, sizeof buf));
    CALL("recv", recv(p.server, buf, sizeof buf, MSG_DONTWAIT)); // nothing left: EAGAIN

    // Data moved inside the kernel: a file into the socket, the socket into
    // a pipe; copy_file_range refuses sockets (EINVAL) and copies files.
    int file = memfd_create("matrix", 0);
    write(file, "0123456789", 10);
    off_t off = 0;
    CALL("sendfile", sendfile(p.client, file, &off, 4));
    off64_t off64 = 4;
    CALL("sendfile64", sendfile64(p.client, file, &off64, 3));
    CALL("sendfile", sendfile(-1, file, &off, 1)); // EBADF
    int pipe_fds[2];
    pipe(pipe_fds);
    CALL("splice", splice(p.server, nullptr, pipe_fds[1], nullptr, 7, 0));
    CALL("read", read(pipe_fds[0], buf, sizeof buf));
    out("splice", "data=%.7s", buf);
    write(pipe_fds[1], "pipe", 4);
    CALL("splice", splice(pipe_fds[0], nullptr, p.server, nullptr, 4, 0));
    CALL("recv", recv(p.client, buf, sizeof buf, 0));
    out("splice", "data=%.4s", buf);
    loff_t from = 0;
    CALL("copy_file_range", copy_file_range(file, &from, p.client, nullptr, 4, 0)); // EINVAL
    int other = memfd_create("matrix2", 0);
    CALL("copy_file_range", copy_file_range(file, &from, other, nullptr, 4, 0));
    off = 0;
    CALL("sendfile", sendfile(other, file, &off, 10)); // file to file
    close(other);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    close(file);
    int err = -1;
    socklen_t elen = sizeof err;
    CALL("getsockopt", getsockopt(p.client, SOL_SOCKET, SO_ERROR, &err, &elen));
    out("getsockopt", "so_error=%d", err);

    // Readiness: the client has data, the server has none.
    send(p.server, "r", 1, 0);
    pollfd fds[2] = {{p.client, POLLIN, 0}, {p.server, POLLIN, 0}};
    CALL("poll", poll(fds, 2, 1000));
    out("poll", "revents=%d,%d", fds[0].revents, fds[1].revents);
    timespec ts{1, 0};
    CALL("ppoll", ppoll(fds, 2, &ts, nullptr));
    CALL("__poll_chk", __poll_chk(fds, 2, 1000, sizeof fds));
    CALL("__ppoll_chk", __ppoll_chk(fds, 2, &ts, nullptr, sizeof fds));
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(p.client, &rd);
    FD_SET(p.server, &rd);
    timeval tv{1, 0};
    int maxfd = (p.client > p.server ? p.client : p.server) + 1;
    CALL("select", select(maxfd, &rd, nullptr, nullptr, &tv));
    out("select", "client=%d server=%d", FD_ISSET(p.client, &rd), FD_ISSET(p.server, &rd));
    FD_ZERO(&rd);
    FD_SET(p.client, &rd);
    CALL("pselect", pselect(maxfd, &rd, nullptr, nullptr, &ts, nullptr));

    // epoll, registered as servers do: a pointer in data, and the fd.
    int ep = epoll_create1(0);
    struct Conn {
        int fd;
    } conn{p.client};
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &conn;
    CALL("epoll_ctl", epoll_ctl(ep, EPOLL_CTL_ADD, p.client, &ev));
    CALL("epoll_ctl", epoll_ctl(ep, EPOLL_CTL_ADD, p.client, &ev)); // EEXIST
    epoll_event got[4];
    CALL("epoll_wait", epoll_wait(ep, got, 4, 1000));
    out("epoll_wait", "ptr=%d", got[0].data.ptr == &conn);
    ev.data.u64 = 0;
    ev.data.fd = p.client;
    CALL("epoll_ctl", epoll_ctl(ep, EPOLL_CTL_MOD, p.client, &ev));
    CALL("epoll_pwait", epoll_pwait(ep, got, 4, 1000, nullptr));
    out("epoll_pwait", "fd=%d", got[0].data.fd == p.client);
    CALL("epoll_pwait2", epoll_pwait2(ep, got, 4, &ts, nullptr));
    CALL("epoll_ctl", epoll_ctl(ep, EPOLL_CTL_DEL, p.client, nullptr));
    CALL("epoll_wait", epoll_wait(ep, got, 4, 0));

    // fd book-keeping, and calls on fds that are not what they were.
    int copy = dup(p.client);
    CALL("dup2", dup2(p.server, copy) == copy);
    CALL("dup3", dup3(p.server, copy, O_CLOEXEC) == copy);
    CALL("close", close(copy));
    CALL("close", close(copy)); // EBADF
    CALL("send", send(copy, "x", 1, MSG_NOSIGNAL));
    int pipefd[2];
    pipe(pipefd);
    CALL("recv", recv(pipefd[0], buf, 1, 0)); // ENOTSOCK
    close(pipefd[0]);
    close(pipefd[1]);
    close(ep);
    close(p.client);
    close(p.server);
    close(p.listener);
    int spare = dup(0), next = dup(0);
    CALL("close_range", close_range(unsigned(spare), unsigned(next), 0));
    CALL("close_range", close_range(unsigned(spare), unsigned(next), 0)); // closed already: still 0
    int high = dup2(0, 900);
    closefrom(900);
    out("closefrom", "closed=%d", fcntl(high, F_GETFD) == -1 && errno == EBADF);

    // Refused: the listener is gone.
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in gone{};
    gone.sin_family = AF_INET;
    gone.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    gone.sin_port = htons(1); // nothing listens on tcpmux here
    CALL("connect", connect(s, reinterpret_cast<sockaddr*>(&gone), sizeof gone));
    close(s);
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    listen(l, 1);
    CALL("accept4", accept4(l, nullptr, nullptr, SOCK_CLOEXEC)); // EAGAIN
    close(l);
}

void udp() {
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    bind(b, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    getsockname(b, reinterpret_cast<sockaddr*>(&addr), &len);
    CALL("sendto", sendto(a, "dgram", 5, 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr));
    char buf[16] = {};
    sockaddr_in from{};
    socklen_t flen = sizeof from;
    CALL("recvfrom", recvfrom(b, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &flen));
    out("recvfrom", "data=%.5s from_loopback=%d", buf,
        from.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    connect(a, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    iovec iov[2] = {{const_cast<char*>("one"), 3}, {const_cast<char*>("two"), 3}};
    mmsghdr msgs[2] = {};
    msgs[0].msg_hdr.msg_iov = &iov[0];
    msgs[0].msg_hdr.msg_iovlen = 1;
    msgs[1].msg_hdr.msg_iov = &iov[1];
    msgs[1].msg_hdr.msg_iovlen = 1;
    CALL("sendmmsg", sendmmsg(a, msgs, 2, 0));
    char r1[8] = {}, r2[8] = {};
    iovec rin[2] = {{r1, sizeof r1}, {r2, sizeof r2}};
    mmsghdr rm[2] = {};
    rm[0].msg_hdr.msg_iov = &rin[0];
    rm[0].msg_hdr.msg_iovlen = 1;
    rm[1].msg_hdr.msg_iov = &rin[1];
    rm[1].msg_hdr.msg_iovlen = 1;
    // One at a time, as the shim may deliver them while faulting: the
    // same either way.
    int got = 0;
    for (int i = 0; i < 2 && got < 2; ++i) {
        int n = recvmmsg(b, rm + got, unsigned(2 - got), MSG_WAITFORONE, nullptr);
        if (n > 0) got += n;
    }
    out("recvmmsg", "messages=%d data=%.3s%.3s", got, r1, r2);
    close(a);
    close(b);
}

void dns() {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    int rc = getaddrinfo("127.0.0.1", "80", &hints, &res);
    out("getaddrinfo", "rc=%d first=%s", rc,
        rc == 0 ? inet_ntoa(reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr) : "-");
    if (res) freeaddrinfo(res);
    hints.ai_flags = AI_NUMERICHOST;
    rc = getaddrinfo("not-a-number", nullptr, &hints, &res);
    out("getaddrinfo", "numeric %s", rc == EAI_NONAME ? "EAI_NONAME" : std::to_string(rc).c_str());
}

int on_row(void* n, int, char**, char**) {
    ++*static_cast<int*>(n);
    return 0;
}

void sqlite(const char* dir) {
    std::string path = std::string(dir) + "/matrix.db";
    unlink(path.c_str());
    sqlite3* db = nullptr;
    out("sqlite3_open_v2", "rc=%d",
        sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr));
    int rows = 0;
    char* msg = nullptr;
    out("sqlite3_exec", "rc=%d",
        sqlite3_exec(db,
                     "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT);"
                     "INSERT INTO t VALUES (1, 'one'), (2, 'two');",
                     on_row, &rows, &msg));
    int erc = sqlite3_exec(db, "SELECT * FROM t", on_row, &rows, &msg);
    out("sqlite3_exec", "rc=%d rows=%d", erc, rows);
    erc = sqlite3_exec(db, "SELEC nonsense", nullptr, nullptr, &msg);
    out("sqlite3_exec", "rc=%d msg=%s", erc, msg ? msg : "-");
    sqlite3_free(msg);
    out("sqlite3_errcode", "%d", sqlite3_errcode(db));
    out("sqlite3_extended_errcode", "%d", sqlite3_extended_errcode(db));
    out("sqlite3_errmsg", "%s", sqlite3_errmsg(db));
    out("sqlite3_errmsg16", "%s", sqlite3_errmsg16(db) ? "text" : "NULL");

    sqlite3_stmt* st = nullptr;
    out("sqlite3_prepare_v2", "rc=%d",
        sqlite3_prepare_v2(db, "INSERT INTO t VALUES (1, 'dup')", -1, &st, nullptr));
    out("sqlite3_step", "rc=%d", sqlite3_step(st)); // constraint
    out("sqlite3_reset", "rc=%d", sqlite3_reset(st));
    out("sqlite3_finalize", "rc=%d", sqlite3_finalize(st));
    out("sqlite3_prepare", "rc=%d",
        sqlite3_prepare(db, "SELECT v FROM t ORDER BY k", -1, &st, nullptr));
    std::string seen;
    while (sqlite3_step(st) == SQLITE_ROW)
        seen += reinterpret_cast<const char*>(sqlite3_column_text(st, 0)) + std::string(",");
    out("sqlite3_step", "rows=%s", seen.c_str());
    sqlite3_finalize(st);
    out("sqlite3_prepare_v3", "rc=%d",
        sqlite3_prepare_v3(db, "SELECT count(*) FROM t", -1, 0, &st, nullptr));
    sqlite3_step(st);
    out("sqlite3_step", "count=%d", sqlite3_column_int(st, 0));
    sqlite3_finalize(st);
    const char16_t sql16[] = u"SELECT 1";
    out("sqlite3_prepare16", "rc=%d", sqlite3_prepare16(db, sql16, -1, &st, nullptr));
    sqlite3_finalize(st);
    out("sqlite3_prepare16_v2", "rc=%d", sqlite3_prepare16_v2(db, sql16, -1, &st, nullptr));
    sqlite3_finalize(st);
    out("sqlite3_prepare16_v3", "rc=%d", sqlite3_prepare16_v3(db, sql16, -1, 0, &st, nullptr));
    sqlite3_finalize(st);
    out("sqlite3_prepare_v2", "rc=%d bad", sqlite3_prepare_v2(db, "SELEC", -1, &st, nullptr));
    // The file layer: a transaction (xLock, xWrite, xSync) whose journal is
    // truncated at commit (xTruncate).
    out("xTruncate", "rc=%d",
        sqlite3_exec(db, "PRAGMA journal_mode=TRUNCATE", nullptr, nullptr, nullptr));
    out("xWrite", "rc=%d",
        sqlite3_exec(db, "BEGIN; INSERT INTO t VALUES (3, 'three'); COMMIT;", nullptr, nullptr,
                     nullptr));
    out("sqlite3_exec", "rc=%d",
        sqlite3_exec(db, "DELETE FROM t; VACUUM;", nullptr, nullptr, nullptr));
    out("sqlite3_close", "rc=%d", sqlite3_close(db));
    out("sqlite3_open", "rc=%d", sqlite3_open(path.c_str(), &db));
    out("xRead", "rc=%d", sqlite3_exec(db, "SELECT * FROM t", nullptr, nullptr, nullptr));
    out("xOpen", "opened");
    out("xSync", "synced");
    out("xLock", "locked");
    out("sqlite3_close_v2", "rc=%d", sqlite3_close_v2(db));
    out("sqlite3_open16", "rc=%d", sqlite3_open16(u":memory:", &db));
    sqlite3_close(db);
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: hook_matrix DIR\n");
        return 2;
    }
    setvbuf(stdout, nullptr, _IOLBF, 0);
    memory();
    tcp();
    udp();
    dns();
    sqlite(argv[1]);
    printf("covers%s\n", g_covers.c_str());
    return 0;
}
