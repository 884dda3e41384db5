#include "shim/net/socket_holds.h"

#include <cstring>

namespace faultline::shim {

std::atomic<int64_t> g_holds_until{0};

void hold_until(std::atomic<int64_t>& field, int64_t until) {
    field.store(until, std::memory_order_release);
    int64_t cur = g_holds_until.load(std::memory_order_relaxed);
    while (cur < until && !g_holds_until.compare_exchange_weak(cur, until)) {
    }
}

void set_hang(SocketState& s, int64_t until) {
    int64_t before = s.hang_until.exchange(until, std::memory_order_acq_rel);
    if (before == 0) g_hangs.fetch_add(1, std::memory_order_relaxed);
    hold_until(s.hang_until, until);
}

bool lift_hang(SocketState& s) {
    if (s.hang_until.exchange(0, std::memory_order_acq_rel) == 0) return false;
    g_hangs.fetch_sub(1, std::memory_order_relaxed);
    return true;
}

bool owe_edge(SocketState& s) {
    if (s.owes_edge.exchange(1, std::memory_order_acq_rel)) return false;
    g_edges_owed.fetch_add(1, std::memory_order_relaxed);
    return true;
}

bool take_owed_edge(SocketState& s) {
    if (!s.owes_edge.load(std::memory_order_relaxed)) return false; // the common case: no RMW
    if (!s.owes_edge.exchange(0, std::memory_order_acq_rel)) return false;
    g_edges_owed.fetch_sub(1, std::memory_order_relaxed);
    return true;
}

void hold_connect(SocketState& s, const sockaddr* addr, socklen_t len) {
    memcpy(&s.pending_connect, addr,
           len < sizeof s.pending_connect ? len : sizeof s.pending_connect);
    if (!s.pending_len) g_pending_connects.fetch_add(1, std::memory_order_relaxed);
    s.pending_len = len;
}

void drop_pending_connect(SocketState& s) {
    if (!s.pending_len) return;
    s.pending_len = 0;
    g_pending_connects.fetch_sub(1, std::memory_order_relaxed);
}

} // namespace faultline::shim
