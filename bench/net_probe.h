// What the network benchmarks ask of themselves to prove a variant is what
// it claims (bench/run reads their output): which object a libc symbol
// resolves to (the shim or libc), and how long a UDP connect() to a host
// takes (a net.delay rule naming that host shows up there, and only there).
#pragma once

#include <arpa/inet.h>
#include <cstdint>
#include <ctime>
#include <dlfcn.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace bench {

inline int64_t monotonic_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// The object `name` resolves to, as the program's own calls reach it.
inline const char* origin(const char* name) {
    Dl_info info;
    void* sym = dlsym(RTLD_DEFAULT, name);
    if (sym && dladdr(sym, &info) && info.dli_fname) return info.dli_fname;
    return "?";
}

// Milliseconds a UDP connect() to host:9 takes; -1 for a bad address.
inline double probe_ms(const char* host) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(9);
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) return -1;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int64_t t0 = monotonic_ns();
    connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a); // the result does not matter
    int64_t t1 = monotonic_ns();
    close(fd);
    return double(t1 - t0) / 1e6;
}

} // namespace bench
