// A client's exchanges (`faultline run --client`, role = "client"): the
// requests a client process sends on its TCP connections and the responses
// it gets, each pushed into the session's exchange ring as it ends, for the
// recorder (docs/metrics.md "Exchanges"). A client is never faulted: its
// hooks call the originals and only watch what they return.
//
// An exchange is the bytes sent on a connection, then the bytes received
// until the next send or the end of the connection. It starts at the
// request's first byte and ends at the response's last; it fails when the
// connect fails, the connection is reset or times out, or it ends before any
// response, and an HTTP/1.x response with a 5xx status fails it. One
// exchange at a time per connection: a pipelining client's batch is one.
#pragma once

#include "shim/net/net_sockets.h"

#include <cstdint>
#include <sys/socket.h>
#include <sys/types.h>

namespace faultline::shim {

// connect() to `addr` returned `rc` (errno `err`), called at `start_ns`: the
// socket is a client connection from now on (or a failed exchange). Called
// again on a connect in progress, it says how that one went.
//
// A failed connect is held back, not failed at once: when the same process
// connects to the same port at another address within kFallbackNs (::1
// refused, then 127.0.0.1, as curl and Python's create_connection fall back
// through a name's addresses) and that one succeeds, the request has not
// failed, and the failure is dropped; otherwise (a retry at the same
// address, another port, the process exits) it is pushed.
void exchange_connect(SocketState& s, const sockaddr* addr, int rc, int err, int64_t start_ns);
constexpr int64_t kFallbackNs = 2'000'000'000;
// getsockopt(SO_ERROR) said `so_error` of a connect still in progress.
void exchange_connect_result(SocketState& s, int so_error);
// A send of the client's returned `n` (errno `err`); it began at `start_ns`.
void exchange_sent(SocketState& s, ssize_t n, int err, int64_t start_ns);
// A receive returned `n` (errno `err`); its first bytes are at `data`, at
// most `cap` of them (null: they went elsewhere, a splice, and no HTTP status
// is read).
void exchange_received(SocketState& s, ssize_t n, int err, const void* data, size_t cap);
// The socket is closed (or its fd reused): an exchange in flight ends.
void exchange_closed(SocketState& s);
// The process exits: a response it got on a connection it did not close is
// its exchange's end (a load generator that leaves its sockets to exit
// still had its last answers); a request still unanswered, or a connect in
// progress, was abandoned with the process, and is no exchange (a load
// generator stopping at its time limit leaves some in flight, which it does
// not count either).
void exchanges_at_exit();

} // namespace faultline::shim
