// Live-arming latency: `faultline enable` returning -> first injection in a
// target with busy threads.
//
// usage: enable_latency FAULTLINE BUSY_MALLOC SESSION REPS [THREADS]
//
// Runs `FAULTLINE run -s SESSION -- BUSY_MALLOC FILE THREADS` in the
// background (THREADS threads in malloc(64)+free loops), then REPS times:
//   epoch++; t_start = now; fork+exec `FAULTLINE enable -s SESSION mem.fail`;
//   waitpid; t_return = now; wait for the target's threads to see a NULL;
//   fork+exec `FAULTLINE disable -s SESSION --all`; waitpid.
// The first injection is the earliest CLOCK_MONOTONIC any target thread
// recorded after a NULL of this epoch. CLOCK_MONOTONIC is system-wide, so the
// driver's and the target's clocks compare. The driver itself runs without
// the shim.
//
// Output (key=value lines, read by bench/run):
//   rep=K inj_minus_return_us=X inj_minus_start_us=Y enable_us=Z threads_hit=N
//   and a final `ok=1` (or `error=...` and exit status 1).

#include "busy_shared.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

pid_t spawn(const std::vector<std::string>& args, bool quiet_stdout) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = fork();
    if (pid == 0) {
        if (quiet_stdout) {
            int devnull = open("/dev/null", O_WRONLY);
            if (devnull >= 0) dup2(devnull, 1);
        }
        execv(argv[0], argv.data());
        _exit(127);
    }
    return pid;
}

// Waits for `pid` at most `timeout_ms`; -1 on timeout.
int wait_status(pid_t pid, int timeout_ms) {
    int status = 0;
    int64_t deadline = busy_now_ns() + int64_t(timeout_ms) * 1000000;
    for (;;) {
        pid_t r = waitpid(pid, &status, timeout_ms < 0 ? 0 : WNOHANG);
        if (r == pid) return status;
        if (r < 0 && errno != EINTR) return -1;
        if (timeout_ms >= 0 && busy_now_ns() > deadline) return -1;
        if (r == 0) usleep(200);
    }
}

bool ok_exit(int status) {
    return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void sleep_us(long us) {
    timespec ts{us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, nullptr);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s FAULTLINE BUSY_MALLOC SESSION REPS [THREADS]\n", argv[0]);
        return 2;
    }
    std::string faultline = argv[1], busy = argv[2], session = argv[3];
    int reps = atoi(argv[4]);
    unsigned threads = argc > 5 ? unsigned(atoi(argv[5])) : 8;
    if (reps <= 0 || threads == 0 || threads > kBusyMaxThreads) {
        fprintf(stderr, "enable_latency: bad REPS or THREADS\n");
        return 2;
    }
    setvbuf(stdout, nullptr, _IOLBF, 0);

    char path[] = "/dev/shm/flbench-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || ftruncate(fd, sizeof(BusyShared)) != 0) {
        perror("enable_latency: shared file");
        return 1;
    }
    void* m = mmap(nullptr, sizeof(BusyShared), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        perror("enable_latency: mmap");
        unlink(path);
        return 1;
    }
    auto* s = new (m) BusyShared(); // the file is zero-filled: this is what it holds

    pid_t target =
        spawn({faultline, "run", "-s", session, "--", busy, path, std::to_string(threads)}, false);
    int rc = 0;
    auto fail = [&](const char* why) {
        printf("error=%s\n", why);
        rc = 1;
    };

    // Ready: every thread started and iterating (bounded: 10 s).
    for (int i = 0; i < 10000; ++i) {
        bool all = s->started.load() == threads;
        for (unsigned t = 0; all && t < threads; ++t) all = s->threads[t].loops.load() > 0;
        if (all) break;
        sleep_us(1000);
    }
    if (s->started.load() != threads) fail("target threads did not start");
    uint64_t early_nulls = 0;
    for (unsigned t = 0; t < threads; ++t) early_nulls += s->threads[t].nulls.load();
    if (!rc && early_nulls) fail("target saw NULL before any rule was armed");

    std::vector<double> from_return, from_start, enable_us;
    for (int rep = 1; rep <= reps && !rc; ++rep) {
        uint64_t epoch = uint64_t(rep);
        s->epoch.store(epoch, std::memory_order_release);
        int64_t t_start = busy_now_ns();
        pid_t en = spawn({faultline, "enable", "-s", session, "mem.fail"}, true);
        int st = wait_status(en, -1);
        int64_t t_return = busy_now_ns();
        if (!ok_exit(st)) {
            fail("faultline enable failed");
            break;
        }
        // Wait for the threads' records (bounded: 2 s for the first, then
        // 200 ms for the others; a thread may sit preempted with its NULL).
        int64_t first = 0;
        unsigned hit = 0;
        int64_t deadline = busy_now_ns() + 2000000000;
        int64_t all_deadline = 0;
        for (;;) {
            hit = 0;
            first = 0;
            for (unsigned t = 0; t < threads; ++t) {
                if (s->threads[t].epoch.load(std::memory_order_acquire) != epoch) continue;
                int64_t v = s->threads[t].first_null_ns.load(std::memory_order_relaxed);
                if (!first || v < first) first = v;
                ++hit;
            }
            int64_t now = busy_now_ns();
            if (hit == threads) break;
            if (hit && !all_deadline) all_deadline = now + 200000000;
            if (all_deadline && now > all_deadline) break;
            if (!hit && now > deadline) break;
            sleep_us(50);
        }
        pid_t dis = spawn({faultline, "disable", "-s", session, "--all"}, true);
        if (!ok_exit(wait_status(dis, -1))) fail("faultline disable failed");
        if (!hit) {
            fail("no injection within 2 s of enable");
            break;
        }
        double r_us = double(first - t_return) / 1000.0;
        double s_us = double(first - t_start) / 1000.0;
        double e_us = double(t_return - t_start) / 1000.0;
        from_return.push_back(r_us);
        from_start.push_back(s_us);
        enable_us.push_back(e_us);
        printf("rep=%d inj_minus_return_us=%.1f inj_minus_start_us=%.1f enable_us=%.1f "
               "threads_hit=%u\n",
               rep, r_us, s_us, e_us, hit);
        sleep_us(20000); // let the target run unfaulted between repetitions
    }

    s->stop.store(1);
    int st = wait_status(target, 5000);
    if (st == -1) {
        kill(target, SIGKILL);
        wait_status(target, -1);
        fail("target did not stop");
    } else if (!ok_exit(st) && !rc) {
        fail("faultline run / target exited with an error");
    }
    unlink(path);
    if (!rc && !from_return.empty()) {
        printf("summary inj_minus_return_us median=%.1f max=%.1f min=%.1f\n", median(from_return),
               *std::max_element(from_return.begin(), from_return.end()),
               *std::min_element(from_return.begin(), from_return.end()));
        printf("summary inj_minus_start_us median=%.1f max=%.1f min=%.1f\n", median(from_start),
               *std::max_element(from_start.begin(), from_start.end()),
               *std::min_element(from_start.begin(), from_start.end()));
        printf("ok=1\n");
    }
    return rc;
}
