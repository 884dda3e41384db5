# Socket data through glibc's fortified entry points, and fd numbers that
# stop being sockets (docs/pitfalls.md item 12).
#
# A C program built with -O2 -D_FORTIFY_SOURCE=2, whose buffer lengths the
# compiler cannot see, so that recv, recvfrom, read and poll compile to
# __recv_chk, __recvfrom_chk, __read_chk and __poll_chk (checked with nm).
# Over loopback TCP it reads 1000 bytes with each; then it reads a file
# through the number of a socket that a file was dup2'ed over, and through
# the number of a closed socket that open() reused.
#  - no shim: every read intact, poll sees the byte that is there;
#  - net.slice max=10: each fortified read returns at most 10 bytes (100
#    calls), the data intact: the fortified entry points are hooked;
#  - net.corrupt: each fortified read's data is corrupted, but the file read
#    through a former socket's number never is (close and dup2 make the shim
#    forget the fd was a socket);
#  - net.partition start=200ms: __poll_chk hides the readability of the byte
#    that arrived before the partition began (poll times out, 0).
# (Not covered: fds closed behind libc's back, fclose of an fdopen'ed
# socket or close_range: item 22, open work.)

src=$TEST_TMP/fd_paths.c
prog=$TEST_TMP/fd_paths
cat >"$src" <<'C'
/* Reads through glibc's fortified entry points (built with
   _FORTIFY_SOURCE=2 and a length the compiler cannot see: __recv_chk,
   __recvfrom_chk, __read_chk, __poll_chk), then reads a file through fd
   numbers that were sockets (dup2 over one; close, then open). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int pair(int* client) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (bind(l, (struct sockaddr*)&a, sizeof a) || listen(l, 1) ||
        getsockname(l, (struct sockaddr*)&a, &al))
        exit(9);
    *client = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(*client, (struct sockaddr*)&a, sizeof a)) exit(9);
    int s = accept(l, NULL, NULL);
    close(l);
    return s;
}

/* Sends 1000 bytes of 'x', reads them back with `how`, prints
   "HOW calls=N bytes=N max=N intact=0|1". */
static void exchange(const char* how, size_t len) {
    int c, s = pair(&c);
    char out[1000], buf[1000];
    memset(out, 'x', sizeof out);
    for (size_t sent = 0; sent < sizeof out;) {
        ssize_t n = write(s, out + sent, sizeof out - sent);
        if (n <= 0) exit(9);
        sent += (size_t)n;
    }
    close(s);
    size_t got = 0, calls = 0, max = 0;
    int intact = 1;
    for (;;) {
        ssize_t n;
        if (!strcmp(how, "recv")) n = recv(c, buf, len, 0);
        else if (!strcmp(how, "recvfrom")) n = recvfrom(c, buf, len, 0, NULL, NULL);
        else n = read(c, buf, len);
        if (n <= 0) break;
        ++calls;
        got += (size_t)n;
        if ((size_t)n > max) max = (size_t)n;
        for (ssize_t i = 0; i < n; ++i) intact = intact && buf[i] == 'x';
    }
    printf("%s calls=%zu bytes=%zu max=%zu intact=%d\n", how, calls, got, max, intact);
    close(c);
}

/* poll through __poll_chk: is data that is there reported within 300 ms? */
static void poll_ready(nfds_t nfds) {
    int c, s = pair(&c);
    if (write(s, "x", 1) != 1) exit(9);
    usleep(400 * 1000); /* past a rule's start=200ms */
    struct pollfd p[4] = {{c, POLLIN, 0}};
    int r = poll(p, nfds, 300);
    printf("poll ready=%d\n", r);
    close(s);
    close(c);
}

/* A file read through the number of a socket that was dup2'ed over, or
   closed and reused by open(): it is a file now, never faulted. */
static void file_on_old_socket(const char* path, int reuse) {
    int c, s = pair(&c);
    if (write(s, "x", 1) != 1) exit(9);
    if (reuse) {
        /* open() takes the lowest free number: fill the holes below c's */
        int held[16], nheld = 0, f;
        close(c);
        while ((f = open(path, O_RDONLY)) != c && f >= 0 && nheld < 16) held[nheld++] = f;
        while (nheld) close(held[--nheld]);
        if (f != c) exit(9);
    } else {
        int f = open(path, O_RDONLY);
        dup2(f, c);
        close(f);
    }
    char buf[4096];
    ssize_t n = read(c, buf, sizeof buf), i;
    int intact = n > 0;
    for (i = 0; i < n; ++i) intact = intact && buf[i] == 'y';
    printf("%s bytes=%zd intact=%d\n", reuse ? "reused" : "dup2", n, intact);
    close(c);
    close(s);
}

/* fd_paths LEN NFDS FILE [poll]: LEN and NFDS unknown at compile time,
   so that the fortified variants are called. With "poll", only the poll. */
int main(int argc, char** argv) {
    if (argc < 4) return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    size_t len = (size_t)atoi(argv[1]);
    if (argc > 4) {
        poll_ready((nfds_t)atoi(argv[2]));
        return 0;
    }
    exchange("recv", len);
    exchange("recvfrom", len);
    exchange("read", len);
    poll_ready((nfds_t)atoi(argv[2]));
    file_on_old_socket(argv[3], 0);
    file_on_old_socket(argv[3], 1);
    return 0;
}
C
cc -O2 -D_FORTIFY_SOURCE=2 -Wall -o "$prog" "$src"
check "the program compiles" test -x "$prog"
imports=$(nm -D "$prog" | grep -oE '__(recv|recvfrom|read|poll)_chk' | sort -u | tr '\n' ' ')
expect_eq "it calls the fortified entry points" "__poll_chk __read_chk __recv_chk __recvfrom_chk " "$imports"
head -c 3000 /dev/zero | tr '\0' y >"$TEST_TMP/y.txt"
run_prog() { timeout 20 "$@" "$prog" 1000 1 "$TEST_TMP/y.txt"; }

# has_line REGEX TEXT: a whole line of TEXT matches REGEX (extended).
has_line() { grep -qxE -- "$1" <<<"$2"; }

out=$(run_prog env)
for how in recv recvfrom read; do
    check "no shim: $how reads the 1000 bytes intact" \
        has_line "$how calls=[0-9]+ bytes=1000 max=[0-9]+ intact=1" "$out"
done
check "no shim: poll sees the byte" has_line "poll ready=1" "$out"
check "no shim: the file read through a dup2'ed number" has_line "dup2 bytes=3000 intact=1" "$out"
check "no shim: the file read through a reused number" has_line "reused bytes=3000 intact=1" "$out"

out=$(run_prog "$FAULTLINE" run -o none -r 'net.slice max=10' --)
for how in recv recvfrom read; do
    check "net.slice max=10: $how (__${how}_chk) returns 10 bytes at a time, intact" \
        has_line "$how calls=100 bytes=1000 max=10 intact=1" "$out"
done

out=$(run_prog "$FAULTLINE" run -o none -r 'net.corrupt' --)
for how in recv recvfrom read; do
    check "net.corrupt: $how (__${how}_chk) sees corrupted data" \
        has_line "$how calls=[0-9]+ bytes=1000 max=[0-9]+ intact=0" "$out"
done
check "net.corrupt: a file dup2'ed over a socket's number is read intact" \
    has_line "dup2 bytes=3000 intact=1" "$out"
check "net.corrupt: a file opened on a closed socket's number is read intact" \
    has_line "reused bytes=3000 intact=1" "$out"

out=$(timeout 20 "$FAULTLINE" run -o none -r 'net.partition start=200ms' -- "$prog" 1000 1 "$TEST_TMP/y.txt" poll)
expect_eq "net.partition: __poll_chk hides the byte that is there" "poll ready=0" "$out"
