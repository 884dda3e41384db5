// Which network rules act on a socket: pure functions of the segment's rule
// table, the socket's state (net_sockets.h), the operation and the clock.
// No hooks, no globals: unit tests drive them (tests/unit/test_net_rules.cpp).
#pragma once

#include "common/segment.h"
#include "shim/net/net_sockets.h"

#include <cstddef>
#include <cstdint>

namespace faultline::shim {

// A rule as a socket remembers it (a hang, a bandwidth bucket): its slot and
// the generation it was armed with, so that a slot re-armed with another
// rule is never taken for it. slot << 48 | generation.
inline uint64_t rule_key(unsigned slot, uint64_t state_word) {
    return uint64_t(slot) << 48 | (state_word >> 8);
}

// The rule `key` names, while it is still armed and active (start=, for=);
// else null.
const Rule* live_rule(const Segment* seg, uint64_t key, int64_t now);

// A net.timeout hang's rule still holds it: armed, or retired by its own
// times= budget (the injection that started the hang spent it; only a
// disarm lifts a hang).
bool hang_held(const Segment* seg, uint64_t key, int64_t now);

bool is_tcp(const SocketState& s);
// peer=, in prefix and port; an unknown peer matches only a rule without one.
bool peer_matches(const Rule& r, const SocketState& s);
// proto=, lport= and peer=.
bool fits_socket(const Rule& r, const SocketState& s);
// Does the kind of `r` act on operation `op` (kOnConnect...) of this socket
// for `len` bytes? (Its filters are fits_socket's; on= is the caller's.)
bool kind_applies(const Rule& r, uint32_t op, const SocketState& s, size_t len);

// Both ends in the session (docs/rules.md): a rule that acts on receives
// judges the data where it is received, so a send whose receiver is in the
// session is not judged by it.
bool acts_on_receive(const Rule& r);
// The socket's peer is on this host's loopback (127.0.0.0/8, ::1).
bool loopback_peer(const SocketState& s);

// Any armed, active net.partition of `mask` covering this socket for `op`?
// Asked by blocked calls and by poll/select/epoll: no counters.
bool partition_active(const Segment* seg, uint64_t mask, const SocketState& s, uint32_t op,
                      int64_t now);

} // namespace faultline::shim
