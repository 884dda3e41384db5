// Readiness under faults: poll, ppoll, select, pselect and epoll must not
// report an fd whose data or writability a fault holds back (net.timeout,
// net.partition, net.bandwidth, a held connect), and must report it once the
// fault lets it through, within the caller's own timeout, without spinning.
//
// poll/select: the held events are masked out of a copy of the request and
// the wait is cut at the next time a hold may end; then again.
// epoll: a held fd is taken out of the epoll set (EPOLL_CTL_DEL) and put back
// with its own events and data (EPOLL_CTL_ADD) when the hold ends; ADD makes
// the kernel look at its readiness afresh, so edge-triggered and one-shot
// registrations get their event then. epoll_ctl is mirrored to know both.

#include "shim/core/originals.h"
#include "shim/core/runtime.h"
#include "shim/core/thread_state.h"
#include "shim/net/epoll_registry.h"
#include "shim/net/net_faults.h"
#include "shim/net/socket_holds.h"

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>

namespace faultline::shim {
namespace {

constexpr int64_t kForever = INT64_MAX;
constexpr nfds_t kMaxPoll = 1024; // larger sets are passed through unmasked

// No fault can hold an fd back (net_faults.h): the original. A connect held
// back keeps waits on their slow path, so that it is made (and its socket's
// readiness hidden) before the kernel is asked, disarmed or not.
inline bool quiet() {
    return !waits_faulted();
}

int64_t deadline_after(int64_t timeout_ns) {
    return timeout_ns < 0 ? kForever : monotonic_ns() + timeout_ns;
}

// Which of `events` a fault holds back for fd now; `next` gets the earliest
// time a hold may end.
short held_events(int fd, short events, int64_t now, int64_t& next) {
    // poll and select report levels: nothing is owed to an fd asked here.
    if (SocketState* t = sockets_table(); t && fd < kMaxTrackedFd) take_owed_edge(t[fd]);
    short held = 0;
    if (events & (POLLIN | POLLRDNORM | POLLPRI)) {
        if (int64_t t = net_hold_until(fd, true, now)) {
            held |= short(events & (POLLIN | POLLRDNORM | POLLPRI));
            next = t < next ? t : next;
        }
    }
    if (events & (POLLOUT | POLLWRNORM)) {
        if (int64_t t = net_hold_until(fd, false, now)) {
            held |= short(events & (POLLOUT | POLLWRNORM));
            next = t < next ? t : next;
        }
    }
    return held;
}

// poll with faults: `deadline` CLOCK_MONOTONIC or kForever.
int poll_held(pollfd* fds, nfds_t n, int64_t deadline, const sigset_t* sigmask) {
    auto real = net_originals().ppoll;
    pollfd copy[kMaxPoll];
    short hidden[kMaxPoll];
    bool timed_out[kMaxPoll];
    while (true) {
        int64_t now = monotonic_ns(), next = kForever;
        bool any = false;
        for (nfds_t i = 0; i < n; ++i) {
            copy[i] = fds[i];
            // A hang that ran out: ready with an error, whatever the kernel says.
            timed_out[i] = fds[i].fd >= 0 && net_timed_out(fds[i].fd, now);
            if (timed_out[i]) {
                copy[i].fd = -1;
                any = true;
                next = now;
                hidden[i] = 0;
                continue;
            }
            hidden[i] = fds[i].fd >= 0 ? held_events(fds[i].fd, fds[i].events, now, next) : 0;
            if (hidden[i]) {
                any = true;
                copy[i].events = short(copy[i].events & ~hidden[i]);
                // Nothing left to ask: ignore the fd, or the kernel would
                // still report HUP/ERR for it.
                if (!(copy[i].events & (POLLIN | POLLRDNORM | POLLPRI | POLLOUT | POLLWRNORM)))
                    copy[i].fd = -1;
            }
        }
        // A hang that runs out in the meantime must be reported then.
        if (g_hangs.load(std::memory_order_relaxed) && next > now + 20'000'000)
            next = now + 20'000'000;
        int64_t until = next < deadline ? next : deadline;
        timespec wait{0, 0}, *wait_ptr = nullptr;
        if (until != kForever) {
            int64_t ns = until > now ? until - now : 0;
            wait = {time_t(ns / 1000000000), long(ns % 1000000000)};
            wait_ptr = &wait;
        }
        int r = real(any ? copy : fds, n, wait_ptr, sigmask);
        if (r < 0) return r;
        if (!any) { // nothing masked: the kernel's answer, unless only our cap ran out
            if (r > 0 || monotonic_ns() >= deadline) return r;
            continue;
        }
        int ready = 0;
        for (nfds_t i = 0; i < n; ++i) {
            fds[i].revents = copy[i].fd < 0 && fds[i].fd >= 0 ? 0 : copy[i].revents;
            if (timed_out[i])
                fds[i].revents =
                    short(POLLERR | (fds[i].events & (POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM)));
            ready += fds[i].revents != 0;
        }
        if (ready || monotonic_ns() >= deadline) return ready;
    }
}

int64_t timeout_ms_ns(int ms) {
    return ms < 0 ? -1 : int64_t(ms) * 1000000;
}
int64_t timespec_ns(const timespec* t) {
    return t ? int64_t(t->tv_sec) * 1000000000 + t->tv_nsec : -1;
}

int select_held(int nfds, fd_set* r, fd_set* w, fd_set* e, int64_t timeout_ns,
                const sigset_t* sigmask) {
    pollfd fds[kMaxPoll];
    nfds_t n = 0;
    for (int fd = 0; fd < nfds && fd < FD_SETSIZE; ++fd) {
        short ev = 0;
        if (r && FD_ISSET(fd, r)) ev |= POLLIN;
        if (w && FD_ISSET(fd, w)) ev |= POLLOUT;
        if (e && FD_ISSET(fd, e)) ev |= POLLPRI;
        if (ev) fds[n++] = {fd, ev, 0};
    }
    int rc = poll_held(fds, n, deadline_after(timeout_ns), sigmask);
    if (rc < 0) return rc;
    if (r) FD_ZERO(r);
    if (w) FD_ZERO(w);
    if (e) FD_ZERO(e);
    int count = 0;
    for (nfds_t i = 0; i < n; ++i) {
        short rev = fds[i].revents;
        // select reports errors and hang-ups as readable/writable, as Linux does.
        if (r && (fds[i].events & POLLIN) && (rev & (POLLIN | POLLHUP | POLLERR))) {
            FD_SET(fds[i].fd, r);
            ++count;
        }
        if (w && (fds[i].events & POLLOUT) && (rev & (POLLOUT | POLLERR))) {
            FD_SET(fds[i].fd, w);
            ++count;
        }
        if (e && (fds[i].events & POLLPRI) && (rev & POLLPRI)) {
            FD_SET(fds[i].fd, e);
            ++count;
        }
    }
    return count;
}

bool any_held_in_sets(int nfds, fd_set* r, fd_set* w) {
    int64_t now = monotonic_ns();
    for (int fd = 0; fd < nfds && fd < FD_SETSIZE; ++fd) {
        if (r && FD_ISSET(fd, r) && net_hold_until(fd, true, now)) return true;
        if (w && FD_ISSET(fd, w) && net_hold_until(fd, false, now)) return true;
    }
    return false;
}

// -- epoll --------------------------------------------------------------------------

// Bumped whenever an fd number is closed (close, dup2/dup3 onto it): a
// registration made before names another file and must never be put back.
std::atomic<uint32_t> g_fd_gen[kMaxTrackedFd];
// The highest fd or epfd ever registered, -1 none: closing fds above it
// bumps no generation (close_range(3, ~0) in every subprocess child would
// otherwise write all 65536 of them, a copy-on-write of 256 KiB).
std::atomic<int> g_top_registered{-1};

void note_registered(int fd) {
    int top = g_top_registered.load(std::memory_order_relaxed);
    while (fd > top && !g_top_registered.compare_exchange_weak(top, fd)) {
    }
}
uint32_t fd_gen(int fd) {
    return fd >= 0 && fd < kMaxTrackedFd ? g_fd_gen[fd].load(std::memory_order_acquire) : 0;
}

EpollRegistry g_registry;
std::atomic<int> g_held_count{0};

// The fd or the epoll fd was closed since the registration: drop it.
bool drop_if_stale(Registration& r) {
    if (r.fd_gen.load(std::memory_order_relaxed) == fd_gen(r.fd()) &&
        r.ep_gen.load(std::memory_order_relaxed) == fd_gen(r.epfd()))
        return false;
    if (g_registry.drop(r)) g_held_count.fetch_sub(1, std::memory_order_relaxed);
    return true;
}

// The shim's own epoll_ctl: its ENOENT/EEXIST are not the caller's errno.
void own_epoll_ctl(int epfd, int op, int fd, epoll_event* ev) {
    int saved = errno;
    net_originals().epoll_ctl(epfd, op, fd, ev);
    errno = saved;
}

// Puts back every held fd of `epfd` whose hold has ended; returns the
// earliest time a remaining hold may end.
int64_t release_held(int epfd, int64_t now) {
    int64_t next = kForever;
    if (g_held_count.load(std::memory_order_relaxed) == 0) return next;
    g_registry.for_each([&](Registration& r) {
        if (!r.held.load(std::memory_order_acquire) || r.epfd() != epfd) return;
        if (drop_if_stale(r)) return;
        int fd = r.fd();
        uint32_t events = r.events.load(std::memory_order_relaxed);
        int64_t t = 0;
        if (events & (EPOLLIN | EPOLLPRI | EPOLLRDNORM)) t = net_hold_until(fd, true, now);
        if (events & (EPOLLOUT | EPOLLWRNORM)) {
            int64_t w = net_hold_until(fd, false, now);
            t = w > t ? w : t;
        }
        if (t) {
            next = t < next ? t : next;
            return;
        }
        bool expected = true;
        if (!r.held.compare_exchange_strong(expected, false)) return;
        g_held_count.fetch_sub(1, std::memory_order_relaxed);
        epoll_event ev{};
        ev.events = events;
        ev.data.u64 = r.data.load(std::memory_order_acquire);
        own_epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
    });
    return next;
}

// Sockets the shim answered EAGAIN for while the kernel was ready: the
// kernel will not give an edge-triggered (or spent one-shot) registration
// another edge for data it already announced. Take such an fd out now; it is
// put back (ADD: the kernel looks at its readiness afresh) when its hold ends.
void settle_owed_edges(int epfd) {
    if (g_edges_owed.load(std::memory_order_relaxed) == 0) return;
    SocketState* sockets = sockets_table();
    if (!sockets) return;
    g_registry.for_each([&](Registration& r) {
        if (r.epfd() != epfd || r.held.load(std::memory_order_acquire)) return;
        if (drop_if_stale(r)) return;
        int fd = r.fd();
        if (fd < 0 || fd >= kMaxTrackedFd || !take_owed_edge(sockets[fd])) return;
        // level-triggered: reported anyway
        if (!(r.events.load(std::memory_order_relaxed) & (EPOLLET | EPOLLONESHOT))) return;
        if (!r.held.exchange(true)) g_held_count.fetch_add(1, std::memory_order_relaxed);
        own_epoll_ctl(epfd, EPOLL_CTL_DEL, fd, nullptr);
    });
}

// Registrations of epfd whose connection a net.timeout hang has timed out:
// reported ready with an error (the kernel has nothing to say about them).
int timed_out_events(int epfd, epoll_event* events, int max, int64_t now) {
    if (g_hangs.load(std::memory_order_relaxed) == 0) return 0;
    int n = 0;
    g_registry.for_each([&](Registration& r) {
        if (n == max || r.epfd() != epfd || r.held.load(std::memory_order_acquire)) return;
        if (!net_timed_out(r.fd(), now)) return;
        uint32_t asked = r.events.load(std::memory_order_relaxed);
        events[n].events = EPOLLERR | (asked & (EPOLLIN | EPOLLRDNORM | EPOLLOUT | EPOLLWRNORM));
        events[n].data.u64 = r.data.load(std::memory_order_acquire);
        ++n;
    });
    return n;
}

// epoll_pwait2 (glibc 2.35, Linux 5.11) waits to the nanosecond: a timeout
// rounded up to the millisecond makes every wake-up of a paced transfer late
// (at 100 KB/s that cost 3-4% of the rate). Older kernels: milliseconds.
std::atomic<bool> g_no_pwait2{false};

int wait_precisely(int epfd, epoll_event* events, int max, int64_t until, int64_t now,
                   const sigset_t* sigmask) {
    auto& api = net_originals();
    int64_t left = until == kForever ? -1 : (until > now ? until - now : 0);
    if (api.epoll_pwait2 && !g_no_pwait2.load(std::memory_order_relaxed)) {
        timespec ts{time_t(left / 1000000000), long(left % 1000000000)};
        int saved = errno;
        int n = api.epoll_pwait2(epfd, events, max, left < 0 ? nullptr : &ts, sigmask);
        if (n >= 0 || errno != ENOSYS) return n;
        g_no_pwait2.store(true, std::memory_order_relaxed);
        errno = saved;
    }
    int64_t ms = left < 0 ? -1 : (left + 999999) / 1000000;
    return api.epoll_pwait(epfd, events, max, ms > INT_MAX ? INT_MAX : int(ms), sigmask);
}

int epoll_held(int epfd, epoll_event* events, int max, int64_t timeout_ns,
               const sigset_t* sigmask) {
    int64_t deadline = deadline_after(timeout_ns);
    while (true) {
        int64_t now = monotonic_ns();
        if (g_pending_connects.load(std::memory_order_relaxed)) // make those no longer held
            g_registry.for_each([&](Registration& r) {
                if (r.epfd() == epfd) net_hold_until(r.fd(), false, now);
            });
        settle_owed_edges(epfd);
        if (int n = timed_out_events(epfd, events, max, now)) return n;
        int64_t next = release_held(epfd, now);
        // Another thread's shim-made EAGAIN owes this set an edge, and no
        // event will wake us for it: look again every 20 ms while armed.
        if ((rule_mask(Family::Net) || g_hangs.load(std::memory_order_relaxed)) &&
            next > now + 20'000'000)
            next = now + 20'000'000;
        int64_t until = next < deadline ? next : deadline;
        int n = wait_precisely(epfd, events, max, until, now, sigmask);
        if (n <= 0) {
            if (n < 0 || monotonic_ns() >= deadline) return n;
            continue;
        }
        int kept = 0;
        now = monotonic_ns();
        for (int i = 0; i < n; ++i) {
            Registration* r = g_registry.find_by_data(epfd, events[i].data.u64);
            if (r && drop_if_stale(*r)) r = nullptr;
            bool hold = false;
            if (r) {
                int fd = r->fd();
                uint32_t asked = r->events.load(std::memory_order_relaxed);
                uint32_t ev = events[i].events;
                bool rd = (ev & (EPOLLIN | EPOLLRDNORM | EPOLLPRI | EPOLLHUP | EPOLLERR)) &&
                          (asked & (EPOLLIN | EPOLLRDNORM | EPOLLPRI)) &&
                          net_hold_until(fd, true, now);
                bool wr = (ev & (EPOLLOUT | EPOLLWRNORM | EPOLLHUP | EPOLLERR)) &&
                          (asked & (EPOLLOUT | EPOLLWRNORM)) && net_hold_until(fd, false, now);
                hold = rd || wr;
                if (hold && !r->held.exchange(true)) {
                    g_held_count.fetch_add(1, std::memory_order_relaxed);
                    own_epoll_ctl(epfd, EPOLL_CTL_DEL, fd, nullptr);
                }
            }
            if (!hold) events[kept++] = events[i];
        }
        if (kept || monotonic_ns() >= deadline) return kept;
    }
}

} // namespace

bool epoll_tracks_fds() {
    return g_top_registered.load(std::memory_order_relaxed) >= 0;
}

// close() of a held fd: the kernel drops it from epoll sets; so do we.
void epoll_forget_fd(int fd) {
    if (fd >= 0) epoll_forget_range(unsigned(fd), unsigned(fd));
}

void epoll_forget_range(unsigned first, unsigned last) {
    int top = g_top_registered.load(std::memory_order_acquire);
    if (top < 0 || first > unsigned(top)) return;
    if (last > unsigned(top)) last = unsigned(top);
    if (last >= unsigned(kMaxTrackedFd))
        last = unsigned(kMaxTrackedFd) - 1; // fds past the table have none
    for (unsigned fd = first; fd <= last; ++fd)
        g_fd_gen[fd].fetch_add(1, std::memory_order_acq_rel);
    if (g_held_count.load(std::memory_order_relaxed) == 0) return;
    g_registry.for_each([&](Registration& r) {
        unsigned fd = unsigned(r.fd());
        if (fd >= first && fd <= last && r.held.exchange(false))
            g_held_count.fetch_sub(1, std::memory_order_relaxed);
    });
}

} // namespace faultline::shim

using namespace faultline;
using namespace faultline::shim;

#define FL_EXPORT extern "C" __attribute__((visibility("default")))

FL_EXPORT int poll(pollfd* fds, nfds_t n, int timeout) {
    if (quiet() || n > kMaxPoll || tls.depth) return net_originals().poll(fds, n, timeout);
    return poll_held(fds, n, deadline_after(timeout_ms_ns(timeout)), nullptr);
}

FL_EXPORT int ppoll(pollfd* fds, nfds_t n, const timespec* timeout, const sigset_t* sigmask) {
    if (quiet() || n > kMaxPoll || tls.depth)
        return net_originals().ppoll(fds, n, timeout, sigmask);
    return poll_held(fds, n, deadline_after(timespec_ns(timeout)), sigmask);
}

extern "C" void __chk_fail(void) __attribute__((noreturn));

FL_EXPORT int __poll_chk(pollfd* fds, nfds_t n, int timeout, size_t fdslen) {
    if (fdslen / sizeof(*fds) < n) __chk_fail();
    return poll(fds, n, timeout);
}

FL_EXPORT int __ppoll_chk(pollfd* fds, nfds_t n, const timespec* timeout, const sigset_t* sigmask,
                          size_t fdslen) {
    if (fdslen / sizeof(*fds) < n) __chk_fail();
    return ppoll(fds, n, timeout, sigmask);
}

FL_EXPORT int select(int nfds, fd_set* r, fd_set* w, fd_set* e, timeval* timeout) {
    auto real = net_originals().select;
    if (quiet() || tls.depth || !any_held_in_sets(nfds, r, w)) return real(nfds, r, w, e, timeout);
    int64_t ns = timeout ? int64_t(timeout->tv_sec) * 1000000000 + timeout->tv_usec * 1000 : -1;
    int64_t start = monotonic_ns();
    int rc = select_held(nfds, r, w, e, ns, nullptr);
    if (timeout) { // Linux tells the time left
        int64_t left = ns - (monotonic_ns() - start);
        if (left < 0) left = 0;
        timeout->tv_sec = time_t(left / 1000000000);
        timeout->tv_usec = suseconds_t(left % 1000000000 / 1000);
    }
    return rc;
}

FL_EXPORT int pselect(int nfds, fd_set* r, fd_set* w, fd_set* e, const timespec* timeout,
                      const sigset_t* sigmask) {
    auto real = net_originals().pselect;
    if (quiet() || tls.depth || !any_held_in_sets(nfds, r, w))
        return real(nfds, r, w, e, timeout, sigmask);
    return select_held(nfds, r, w, e, timespec_ns(timeout), sigmask);
}

FL_EXPORT int epoll_ctl(int epfd, int op, int fd, epoll_event* event) {
    auto real = net_originals().epoll_ctl;
    if (!g_segment) return real(epfd, op, fd, event);
    Registration* r = op == EPOLL_CTL_ADD || op == EPOLL_CTL_MOD ? g_registry.claim(epfd, fd)
                                                                 : g_registry.find(epfd, fd);
    if (r && r->held.load(std::memory_order_acquire)) {
        // The fd is out of the kernel's set while held: the caller's view of
        // it changes here, the kernel's when it is put back.
        if (op == EPOLL_CTL_MOD && event) {
            g_registry.set(*r, event->events, event->data.u64);
            return 0;
        }
        if (op == EPOLL_CTL_DEL) {
            if (g_registry.drop(*r)) g_held_count.fetch_sub(1, std::memory_order_relaxed);
            return 0;
        }
    }
    bool fresh = r && r->events.load(std::memory_order_relaxed) == 0;
    int rc = real(epfd, op, fd, event);
    if (rc == 0 && r && event && op != EPOLL_CTL_DEL) {
        g_registry.set(*r, event->events, event->data.u64);
        note_registered(fd > epfd ? fd : epfd); // before the generations are read
        r->fd_gen.store(fd_gen(fd), std::memory_order_relaxed);
        r->ep_gen.store(fd_gen(epfd), std::memory_order_relaxed);
    } else if (rc == 0 && op == EPOLL_CTL_DEL && r) {
        g_registry.drop(*r);
    } else if (rc != 0 && r && op == EPOLL_CTL_ADD && fresh) {
        g_registry.drop(*r); // made for a call the kernel refused
    }
    return rc;
}

// Fast path unless a rule is armed or an fd is still out of its set (it goes
// back at the next wait after the rule is disarmed).
inline bool epoll_quiet() {
    return quiet() && g_held_count.load(std::memory_order_relaxed) == 0 &&
           g_edges_owed.load(std::memory_order_relaxed) == 0;
}

FL_EXPORT int epoll_wait(int epfd, epoll_event* events, int max, int timeout) {
    if (epoll_quiet() || tls.depth) return net_originals().epoll_wait(epfd, events, max, timeout);
    return epoll_held(epfd, events, max, timeout_ms_ns(timeout), nullptr);
}

FL_EXPORT int epoll_pwait2(int epfd, epoll_event* events, int max, const timespec* timeout,
                           const sigset_t* sigmask) {
    if (epoll_quiet() || tls.depth)
        return net_originals().epoll_pwait2(epfd, events, max, timeout, sigmask);
    return epoll_held(epfd, events, max, timespec_ns(timeout), sigmask);
}

FL_EXPORT int epoll_pwait(int epfd, epoll_event* events, int max, int timeout,
                          const sigset_t* sigmask) {
    if (epoll_quiet() || tls.depth)
        return net_originals().epoll_pwait(epfd, events, max, timeout, sigmask);
    return epoll_held(epfd, events, max, timeout_ms_ns(timeout), sigmask);
}
