#include "shim/net/bandwidth.h"

namespace faultline::shim {

double burst_of(const Rule& r) {
    if (r.burst) return double(r.burst);
    double b = r.rate / 100; // 10 ms worth: accurate within 1% over a 1 s transfer
    return b < 1460 ? 1460 : b;
}

double refill(TokenBucket& b, const Rule& r, uint64_t key, int64_t now) {
    double burst = burst_of(r);
    if (b.rule != key) {
        b.rule = key;
        b.tokens = burst;
        b.last_ns = now;
    } else if (now > b.last_ns) {
        b.tokens += r.rate * double(now - b.last_ns) / 1e9;
        if (b.tokens > burst) b.tokens = burst;
        b.last_ns = now;
    }
    return b.tokens;
}

double quantum(const Rule& r, size_t len) {
    double q = burst_of(r) < 1460 ? burst_of(r) : 1460;
    return len && double(len) < q ? double(len) : q;
}

int64_t wait_for_tokens(const TokenBucket& b, const Rule& r, double want) {
    return b.tokens >= want ? 0 : int64_t((want - b.tokens) / r.rate * 1e9) + 1;
}

} // namespace faultline::shim
