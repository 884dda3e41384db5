// A connected TCP socket closed where the shim cannot see it, and its fd
// number reused by open() for a regular file: the file must read as the
// file, whatever network rule is armed (docs/pitfalls.md item 22).
//
//   stale_fds FILE    FILE: a file of known content (written by the test)
//
// For each way of closing: fclose of an fdopen'ed socket (glibc's fclose
// closes inside libc, no hook sees it), close_range, closefrom, prints
// "<way> same_fd=0|1 read=ok|differs|error:ERRNO ms=N" (N: the read's time).
#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

namespace {

int listener_port(int& listener) {
    listener = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(listener, 8);
    getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
}

// A socket that has moved data (a net.reset bytes= mark is past), its peer
// accepted.
int used_socket(int port, int listener, int& peer) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(uint16_t(port));
    connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    peer = accept(listener, nullptr, nullptr);
    char b[4];
    send(peer, "data", 4, 0);
    recv(s, b, sizeof b, 0);
    return s;
}

void report(const char* way, int old_fd, const char* path, const std::string& want) {
    int fd = open(path, O_RDONLY);
    char buf[256] = {};
    timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    errno = 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    int e = errno;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    const char* verdict =
        n < 0 ? nullptr : (std::string(buf, size_t(n)) == want ? "ok" : "differs");
    printf("%s same_fd=%d read=%s%s ms=%ld\n", way, fd == old_fd,
           verdict ? verdict : "error:", verdict ? "" : strerrorname_np(e), ms);
    close(fd);
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: stale_fds FILE\n");
        return 2;
    }
    std::string want;
    if (FILE* f = fopen(argv[1], "r")) {
        char buf[256];
        size_t n = fread(buf, 1, sizeof buf, f);
        want.assign(buf, n);
        fclose(f);
    }
    int listener = 0, peer = 0;
    int port = listener_port(listener);

    int s = used_socket(port, listener, peer);
    FILE* f = fdopen(s, "r+");
    fclose(f);
    report("fclose", s, argv[1], want);
    close(peer);

    s = used_socket(port, listener, peer);
    close_range(unsigned(s), unsigned(s), 0);
    report("close_range", s, argv[1], want);
    close(peer);

    // closefrom closes everything from s on: the listener first moves below.
    s = used_socket(port, listener, peer);
    close(peer);
    closefrom(s);
    report("closefrom", s, argv[1], want);
    close(listener);
    return 0;
}
