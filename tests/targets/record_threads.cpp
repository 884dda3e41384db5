// record_threads N STOP: N threads (default 400) each make one allocation
// through the shim, which gives each of them a counter slot in the session's
// segment, then all wait until the file STOP exists (bounded: 30 s).
//
// Output: "ready pid=N" once every thread has its slot.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <pthread.h>
#include <unistd.h>
#include <vector>

namespace {

std::atomic<unsigned> g_started{0};
std::atomic<bool> g_stop{false};

void* worker(void*) {
    void* volatile p = malloc(64);
    free(p);
    g_started.fetch_add(1);
    timespec ts{0, 20'000'000};
    while (!g_stop.load()) nanosleep(&ts, nullptr);
    return nullptr;
}

} // namespace

int main(int argc, char** argv) {
    unsigned n = argc > 1 ? unsigned(atoi(argv[1])) : 400;
    const char* stop = argc > 2 ? argv[2] : nullptr;
    std::vector<pthread_t> threads(n);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    for (auto& t : threads)
        if (pthread_create(&t, &attr, worker, nullptr) != 0) {
            perror("pthread_create");
            return 1;
        }
    timespec ts{0, 10'000'000};
    while (g_started.load() < n) nanosleep(&ts, nullptr);
    printf("ready pid=%d\n", int(getpid()));
    fflush(stdout);
    for (int i = 0; i < 3000 && !(stop && access(stop, F_OK) == 0); ++i) nanosleep(&ts, nullptr);
    g_stop.store(true);
    for (auto& t : threads) pthread_join(t, nullptr);
    return 0;
}
