// The fault state a rule leaves on a socket, and the process-wide counts
// that keep the hooks on their slow path while any of it exists, even after
// the rule that made it is gone (net_faults.h: net_residue):
//   holds         a delay or a lost segment's retransmission on a
//                 non-blocking socket: no data or room until a time
//   hangs         net.timeout: no data until the timeout, then the
//                 connection is dead (g_hangs)
//   owed edges    an EAGAIN the shim made up while the kernel was ready: an
//                 edge-triggered epoll registration is owed a new edge
//                 (g_edges_owed, net_wait.cpp)
//   held connects a non-blocking connect under a partition, made for real
//                 when it lifts (g_pending_connects)
// Each count moves on one atomic transition of the socket's field, so that
// threads racing on one socket count it once.
#pragma once

#include "shim/net/net_sockets.h"

#include <atomic>
#include <cstdint>

namespace faultline::shim {

// The latest end of any hold set in this process (CLOCK_MONOTONIC).
extern std::atomic<int64_t> g_holds_until;

// Sets a hold (delay_until or hang_until) and raises g_holds_until to it.
void hold_until(std::atomic<int64_t>& field, int64_t until);

// A net.timeout hang until `until`, counted in g_hangs once per socket.
void set_hang(SocketState& s, int64_t until);
// Lifts the hang (its rule disarmed); true if there was one.
bool lift_hang(SocketState& s);

// Marks the socket owed an edge; true when it was not already.
bool owe_edge(SocketState& s);
// Takes the socket's owed edge; true when it had one.
bool take_owed_edge(SocketState& s);

// Holds a non-blocking connect to `addr` back; counted once per socket.
void hold_connect(SocketState& s, const sockaddr* addr, socklen_t len);
// Forgets the held connect (made for real, or timed out).
void drop_pending_connect(SocketState& s);

} // namespace faultline::shim
