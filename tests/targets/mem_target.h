// Shared bits of the memory-fault targets (tests/integration/test_mem_*.sh).
//
// Live tests arm rules while the target waits, so that nothing the process
// does at start-up reaches the rule and the counters can be compared exactly
// with what the target saw:
//   TARGET_GO=FILE    print "ready pid=N", then wait (at most 10 s) for FILE
//                     before the measured phase;
//   TARGET_DONE=FILE  after printing the results, wait (at most 10 s) for FILE
//                     so that the test can read `faultline list` meanwhile.
// Waiting polls with stat() and nanosleep(): neither allocates, so the wait
// itself never reaches a memory rule.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <sys/stat.h>
#include <unistd.h>

namespace target {

inline long long now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

inline void sleep_ms(long ms) {
    timespec ts{ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, nullptr);
}

// Waits until `path` exists; false after `seconds`.
inline bool wait_for_file(const char* path, int seconds) {
    long long deadline = now_ns() + seconds * 1000000000LL;
    struct stat st;
    while (stat(path, &st) != 0) {
        if (now_ns() > deadline) return false;
        sleep_ms(1);
    }
    return true;
}

// The TARGET_GO / TARGET_DONE handshakes; exit 4 on timeout.
inline void handshake(const char* env) {
    const char* path = getenv(env);
    if (!path || !*path) return;
    if (env[7] == 'G') { // TARGET_GO
        printf("ready pid=%d\n", int(getpid()));
        fflush(stdout);
    }
    if (!wait_for_file(path, 10)) {
        printf("timeout waiting for %s\n", path);
        fflush(stdout);
        exit(4);
    }
}
inline void wait_go() {
    handshake("TARGET_GO");
}
inline void wait_done() {
    fflush(stdout);
    handshake("TARGET_DONE");
}

// "ENOMEM" for ENOMEM, the number otherwise ("0" for none).
inline const char* errno_name(int e, char* buf, size_t cap) {
    if (e == ENOMEM) return "ENOMEM";
    if (e == EINVAL) return "EINVAL";
    if (e == EILSEQ) return "EILSEQ";
    snprintf(buf, cap, "%d", e);
    return buf;
}

} // namespace target
