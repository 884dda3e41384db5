// net.bandwidth's token bucket (TokenBucket, net_sockets.h): how many bytes
// may move now, and how long until enough may. Pure arithmetic on the rule,
// the bucket and the clock (tests/unit/test_net_rules.cpp).
#pragma once

#include "common/rule.h"
#include "shim/net/net_sockets.h"

#include <cstddef>
#include <cstdint>

namespace faultline::shim {

// burst=, else 10 ms worth of the rate (accurate within 1% over a 1 s
// transfer), at least one segment (1460 bytes).
double burst_of(const Rule& r);

// Refills the bucket up to now and returns the bytes that may move. A bucket
// last used by another rule (`key`: net_rules.h) starts afresh, full.
double refill(TokenBucket& b, const Rule& r, uint64_t key, int64_t now);

// The bytes worth waking up for: a segment's worth (or the whole request
// when smaller), never more than the burst. Waiting for single bytes would
// turn a paced transfer into a storm of tiny reads.
double quantum(const Rule& r, size_t len);

// Nanoseconds until `want` bytes may move (0: now).
int64_t wait_for_tokens(const TokenBucket& b, const Rule& r, double want);

} // namespace faultline::shim
