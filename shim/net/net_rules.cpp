#include "shim/net/net_rules.h"

#include <cstring>

namespace faultline::shim {

const Rule* live_rule(const Segment* seg, uint64_t key, int64_t now) {
    if (!seg || !key) return nullptr;
    const RuleSlot& s = seg->rules[key >> 48];
    uint64_t word = s.state.load(std::memory_order_acquire);
    if (state_of(word) != RuleState::Armed || (word >> 8) != (key & ((uint64_t(1) << 48) - 1)))
        return nullptr;
    const Rule& r = s.rule;
    if (now < s.armed_ns + r.start_ns) return nullptr;
    if (r.for_ns && now >= s.armed_ns + r.start_ns + r.for_ns) return nullptr;
    return &r;
}

bool peer_matches(const Rule& r, const SocketState& s) {
    if (!r.has_peer) return true;
    if (!s.peer_known) return false;
    if (r.peer.port && r.peer.port != s.peer_port) return false;
    if (r.peer.family == 0) return true;
    if (r.peer.family != s.family) return false;
    unsigned bits = r.peer.prefix;
    for (unsigned i = 0; bits; ++i) {
        unsigned take = bits < 8 ? bits : 8;
        uint8_t m = uint8_t(0xff << (8 - take));
        if ((r.peer.addr[i] & m) != (s.peer[i] & m)) return false;
        bits -= take;
    }
    return true;
}

bool fits_socket(const Rule& r, const SocketState& s) {
    auto type = SocketType(s.type.load(std::memory_order_acquire));
    if (r.proto == Proto::Tcp && type != SocketType::Tcp) return false;
    if (r.proto == Proto::Udp && type != SocketType::Udp) return false;
    if (r.lport && r.lport != s.local_port) return false;
    return peer_matches(r, s);
}

bool is_tcp(const SocketState& s) {
    return SocketType(s.type.load(std::memory_order_acquire)) == SocketType::Tcp;
}

// Does kind `r` act on operation `op` of this socket for `len` bytes?
bool kind_applies(const Rule& r, uint32_t op, const SocketState& s, size_t len) {
    switch (r.kind) {
    case Kind::NetDelay:
        // Without on=, a delay is one more round trip per exchange: on
        // connect and accept, and on the first recv after a send.
        if (r.ops) return op != kOnDns;
        return op == kOnConnect || op == kOnAccept || (op == kOnRecv && s.turn);
    case Kind::NetTimeout:
        return op == kOnConnect || op == kOnRecv;
    case Kind::NetLoss:
        return op == kOnSend || op == kOnRecv || (op == kOnConnect && is_tcp(s));
    case Kind::NetBandwidth:
        return (op == kOnSend && r.dir != Direction::Recv) ||
               (op == kOnRecv && r.dir != Direction::Send);
    case Kind::NetReset:
        return is_tcp(s) && (op == kOnSend || op == kOnRecv) &&
               s.moved.load(std::memory_order_relaxed) + len >= r.amount;
    case Kind::NetRefuse:
        return op == kOnConnect;
    case Kind::NetPartition:
        return op == kOnConnect || op == kOnSend || op == kOnRecv;
    case Kind::NetSlice: // a stream only: a datagram is sent and received whole
        return is_tcp(s) && (op == kOnSend || op == kOnRecv) && len > r.max_size;
    case Kind::NetCorrupt:
        return op == kOnRecv;
    default:
        return false;
    }
}

bool acts_on_receive(const Rule& r) {
    if (!(kind_operations(r.kind) & kOnRecv)) return false;
    if (r.ops && !(r.ops & kOnRecv)) return false;
    return !(r.kind == Kind::NetBandwidth && r.dir == Direction::Send);
}

bool loopback_peer(const SocketState& s) {
    if (!s.peer_known) return false;
    if (s.family == 4) return s.peer[0] == 127;
    static const uint8_t kOne[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return s.family == 6 && memcmp(s.peer, kOne, 16) == 0;
}

bool hang_held(const Segment* seg, uint64_t key, int64_t now) {
    if (live_rule(seg, key, now)) return true;
    if (!seg || !key) return false;
    const RuleSlot& rs = seg->rules[key >> 48];
    uint64_t word = rs.state.load(std::memory_order_acquire);
    return state_of(word) == RuleState::Retired &&
           (word >> 8) == (key & ((uint64_t(1) << 48) - 1)) && rs.rule.times &&
           rs.taken.load(std::memory_order_relaxed) >= rs.rule.times;
}

bool partition_active(const Segment* seg, uint64_t mask, const SocketState& s, uint32_t op,
                      int64_t now) {
    for (mask &= kRuleBits; seg && mask; mask &= mask - 1) {
        unsigned i = unsigned(__builtin_ctzll(mask));
        uint64_t key = rule_key(i, seg->rules[i].state.load());
        const Rule* r = live_rule(seg, key, now);
        if (r && r->kind == Kind::NetPartition && (!r->ops || (r->ops & op)) &&
            fits_socket(*r, s) && (r->per != Per::Connection || conn_recall(s, key) == 1))
            return true;
    }
    return false;
}

} // namespace faultline::shim
