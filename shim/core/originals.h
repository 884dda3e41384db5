// The real functions behind the hooks: one table per family, generated from
// common/hooks.def, each field typed from the function's own declaration in
// libc's or SQLite's headers (decltype(&::recv)), so that no signature is
// typed twice. Each family resolves its table its own way:
//   mem  mem/mem_hooks.cpp: dlsym may allocate, served by the bootstrap arena
//   net  net/net_originals.cpp: dlsym(RTLD_NEXT)
//   db   db/db_originals.cpp: dlsym(RTLD_NEXT), else the libsqlite3 that
//        python3's _sqlite3 loaded RTLD_LOCAL (dlopen RTLD_NOLOAD)
// A field may be null (libc or SQLite without the symbol, SQLite not loaded):
// never call one unchecked.
#pragma once

#include "common/hooks.h"

#include <atomic>

#include <cstdlib>
#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <poll.h>
#include <sqlite3.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

// To walk one family's originals, define FL_HOOK as
//   FL_IF_<Family>_##family(FL_WITH_ORIGINAL_##role(X, symbol))
// and include common/hooks.def: X(symbol) expands for each hook of that
// family that has an original (a _FORTIFY_SOURCE alias has none: it calls
// the plain hook).
#define FL_WITH_ORIGINAL_Operation(X, symbol) X(symbol)
#define FL_WITH_ORIGINAL_Wait(X, symbol) X(symbol)
#define FL_WITH_ORIGINAL_Bookkeeping(X, symbol) X(symbol)
#define FL_WITH_ORIGINAL_Batch(X, symbol) X(symbol)
#define FL_WITH_ORIGINAL_Fortify(X, symbol)
#define FL_ORIGINAL_FIELD(symbol) decltype(&::symbol) symbol;
#define FL_IF_Mem_Mem(x) x
#define FL_IF_Mem_Net(x)
#define FL_IF_Mem_Db(x)
#define FL_IF_Mem_Vfs(x)
#define FL_IF_Net_Mem(x)
#define FL_IF_Net_Net(x) x
#define FL_IF_Net_Db(x)
#define FL_IF_Net_Vfs(x)
#define FL_IF_Db_Mem(x)
#define FL_IF_Db_Net(x)
#define FL_IF_Db_Db(x) x
#define FL_IF_Db_Vfs(x)
#define FL_IF_Vfs_Mem(x)
#define FL_IF_Vfs_Net(x)
#define FL_IF_Vfs_Db(x)
#define FL_IF_Vfs_Vfs(x)

namespace faultline::shim {

struct MemOriginals {
#define FL_HOOK(family, id, symbol, role, failure, faults)                                         \
    FL_IF_Mem_##family(FL_WITH_ORIGINAL_##role(FL_ORIGINAL_FIELD, symbol))
#include "common/hooks.def"
#undef FL_HOOK
};

struct NetOriginals {
#define FL_HOOK(family, id, symbol, role, failure, faults)                                         \
    FL_IF_Net_##family(FL_WITH_ORIGINAL_##role(FL_ORIGINAL_FIELD, symbol))
#include "common/hooks.def"
#undef FL_HOOK
};

// The hooked SQLite functions, and those the shim calls without hooking them.
#define FL_DB_HELPERS(X)                                                                           \
    X(sqlite3_errstr)                                                                              \
    X(sqlite3_sql)                                                                                 \
    X(sqlite3_db_handle)                                                                           \
    X(sqlite3_stmt_busy)                                                                           \
    X(sqlite3_db_filename)                                                                         \
    X(sqlite3_mprintf)                                                                             \
    X(sqlite3_vfs_find)                                                                            \
    X(sqlite3_vfs_register)

struct DbOriginals {
#define FL_HOOK(family, id, symbol, role, failure, faults)                                         \
    FL_IF_Db_##family(FL_WITH_ORIGINAL_##role(FL_ORIGINAL_FIELD, symbol))
#include "common/hooks.def"
#undef FL_HOOK
    FL_DB_HELPERS(FL_ORIGINAL_FIELD)
};

// Resolved on first use: never null afterwards unless the symbol is missing.
// The check is inline (one acquire load): every network call asks.
extern NetOriginals g_net_originals;
extern std::atomic<bool> g_net_resolved;
const NetOriginals& resolve_net_originals();
inline const NetOriginals& net_originals() {
    if (__builtin_expect(g_net_resolved.load(std::memory_order_acquire), 1)) return g_net_originals;
    return resolve_net_originals();
}

// Stays incomplete, and is resolved again, until libsqlite3 is loaded.
extern DbOriginals g_db_originals;
extern std::atomic<bool> g_db_resolved;
const DbOriginals& resolve_db_originals();
inline const DbOriginals& db_originals() {
    if (__builtin_expect(g_db_resolved.load(std::memory_order_acquire), 1)) return g_db_originals;
    return resolve_db_originals();
}

} // namespace faultline::shim
