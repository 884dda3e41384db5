// The SQLite C API: db.error and db.delay on open, prepare, step and exec.
//
// Faults happen at the outermost call only: SQLite calls its own API through
// the PLT (sqlite3_exec prepares and steps), and those inner calls pass
// straight through (tls.db_depth). An injected code is what the application
// sees everywhere: the return value, and sqlite3_errcode, _extended_errcode
// and _errmsg of that connection, until its next real call (docs/pitfalls.md, item 13).

#include "shim/core/call_timer.h"
#include "shim/core/caller.h"
#include "shim/core/delay.h"
#include "shim/core/gate.h"
#include "shim/core/originals.h"
#include "shim/core/runtime.h"
#include "shim/core/sites.h"
#include "shim/core/thread_state.h"
#include "shim/core/trigger.h"
#include "shim/db/db_vfs.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace faultline::shim {

namespace {

// -- injected codes, per connection and per statement ------------------------------

// A fixed table of (handle, code): SQLite reports a failure through the
// return value, then through errcode()/errmsg() of the connection, and for a
// failed step through reset()/finalize() of the statement.
class InjectedCodes {
  public:
    void remember(const void* handle, int rc, uint64_t state = 0) {
        if (!handle) return;
        for (auto& e : entries_)
            if (e.handle.load(std::memory_order_acquire) == handle) {
                e.state.store(state, std::memory_order_relaxed);
                e.rc.store(rc, std::memory_order_release);
                return;
            }
        for (auto& e : entries_) {
            const void* expected = nullptr;
            if (e.handle.load(std::memory_order_relaxed) != nullptr) continue;
            e.state.store(state, std::memory_order_relaxed);
            e.rc.store(rc, std::memory_order_relaxed);
            if (e.handle.compare_exchange_strong(expected, handle, std::memory_order_acq_rel)) {
                held_.fetch_add(1, std::memory_order_relaxed);
                return;
            }
        }
        // Full: the return value still carries the code; the later
        // questions about this handle get SQLite's own answers.
    }

    bool find(const void* handle, int& rc, uint64_t* state = nullptr) const {
        if (held_.load(std::memory_order_relaxed) == 0 || !handle) return false;
        for (auto& e : entries_)
            if (e.handle.load(std::memory_order_acquire) == handle) {
                rc = e.rc.load(std::memory_order_acquire);
                if (state) *state = e.state.load(std::memory_order_relaxed);
                return true;
            }
        return false;
    }

    // Forgets `handle`; returns its code through `rc` if it had one.
    bool take(const void* handle, int& rc) {
        if (held_.load(std::memory_order_relaxed) == 0 || !handle) return false;
        for (auto& e : entries_) {
            const void* expected = handle;
            int code = e.rc.load(std::memory_order_acquire);
            if (e.handle.compare_exchange_strong(expected, nullptr, std::memory_order_acq_rel)) {
                held_.fetch_sub(1, std::memory_order_relaxed);
                rc = code;
                return true;
            }
        }
        return false;
    }

    void forget(const void* handle) {
        int rc;
        take(handle, rc);
    }

    bool empty() const { return held_.load(std::memory_order_relaxed) == 0; }

  private:
    struct Entry {
        std::atomic<const void*> handle;
        std::atomic<int> rc;
        std::atomic<uint64_t> state; // connections: SQLite's own error state then
    };
    Entry entries_[256];
    std::atomic<int> held_{0};
};

InjectedCodes g_connections; // sqlite3*: until the connection's next real call
InjectedCodes g_statements;  // sqlite3_stmt*: a failed step, until reset/finalize

// SQLite's own error state of a connection (extended code and message) as
// one number. An injected code stands only while that state is the one it
// was injected over: once it changes, a call the shim does not hook
// (sqlite3_blob_open, sqlite3_bind_*, backup, checkpoint...) has reported an
// error of its own, and SQLite's answer is the true one.
uint64_t real_state(sqlite3* db) {
    auto& api = db_originals();
    uint64_t h = 1469598103934665603ull;
    if (api.sqlite3_extended_errcode) h ^= uint32_t(api.sqlite3_extended_errcode(db));
    const char* m = api.sqlite3_errmsg ? api.sqlite3_errmsg(db) : nullptr;
    for (; m && *m; ++m) h = (h ^ uint8_t(*m)) * 1099511628211ull;
    return h;
}

void remember(sqlite3* db, int rc) {
    if (db) g_connections.remember(db, rc, real_state(db));
}
void forget(sqlite3* db) {
    g_connections.forget(db);
}
bool injected_code(sqlite3* db, int& rc) {
    uint64_t state;
    if (!g_connections.find(db, rc, &state)) return false;
    if (real_state(db) == state) return true;
    g_connections.forget(db);
    return false;
}
// A real reset/finalize after an injected step sets SQLite's state itself:
// the injected code stands over that new state.
void restate(sqlite3* db) {
    int rc;
    if (db && g_connections.find(db, rc)) g_connections.remember(db, rc, real_state(db));
}

// -- decisions -------------------------------------------------------------------

// Inline: every hooked SQLite call asks it first.
__attribute__((always_inline)) inline bool quiet() {
    return gate(Family::Db) == Path::Original && g_connections.empty() && g_statements.empty();
}

struct DbCall {
    Hook hook;
    uint32_t op;          // DbOp
    sqlite3* db;          // may be null (open)
    const char* sql;      // statement text, when known
    int sql_len;          // its length in bytes; < 0: up to its NUL
    const char* filename; // open's argument; else asked of the connection
    // A step of an execution already under way (sqlite3_stmt_busy: stepped
    // since prepare or reset, not run to its end): per=statement rules
    // decided at its first step and let it through.
    bool continuing = false;
};

// UTF-16 text as ASCII, for globs: the 16 variants are matched like the rest.
// `bytes` < 0: up to the NUL (prepare16's nByte, open16's NUL-terminated name).
const char* narrow(const void* text, char* buf, size_t cap, int bytes = -1) {
    if (!text) return nullptr;
    auto* w = static_cast<const char16_t*>(text);
    size_t max = bytes < 0 ? cap - 1 : std::min(cap - 1, size_t(bytes) / 2);
    size_t i = 0;
    for (; i < max && w[i]; ++i) buf[i] = w[i] < 128 ? char(w[i]) : '?';
    buf[i] = 0;
    return buf;
}

// The statement is the first `len` bytes of the caller's text (prepare's
// nByte): what follows is not part of it and need not be NUL-terminated.
bool sql_matches(const char* pattern, const char* sql, int len) {
    if (!sql) return false;
    std::string_view text(sql, len < 0 ? strlen(sql) : strnlen(sql, size_t(len)));
    while (!text.empty() &&
           (text[0] == ' ' || text[0] == '\t' || text[0] == '\n' || text[0] == '\r'))
        text.remove_prefix(1);
    return glob_match(pattern, text, true);
}

// Returns the code to inject, 0 for none (after sleeping for db.delay).
int db_decide(const DbCall& call, uint64_t mask) {
    ThreadState& ts = tls;
    Segment* seg = g_segment;
    if (ts.depth || !seg) return 0;
    HookScope scope(ts);
    int saved_errno = errno;
    prepare_thread(ts);
    unsigned h = unsigned(call.hook);
    count_call(*seg, ts, call.hook);
    const char* file = call.filename;
    bool file_asked = call.filename != nullptr;
    auto matches = [&](const Rule& r, unsigned) {
        if (r.kind != Kind::DbError && r.kind != Kind::DbDelay) return false;
        if (r.ops && !(r.ops & call.op)) return false;
        if (r.per == Per::Statement && call.continuing) return false;
        if (r.sql[0] && !sql_matches(r.sql, call.sql, call.sql_len)) return false;
        if (r.file[0]) {
            if (!file_asked) {
                auto& api = db_originals();
                file = call.db && api.sqlite3_db_filename ? api.sqlite3_db_filename(call.db, "main")
                                                          : nullptr;
                file_asked = true;
            }
            if (!file || !glob_match(r.file, file)) return false;
        }
        return true;
    };
    CallContext ctx{ts, g_comm, monotonic_ns, caller_matches, call_site, call.hook};
    Injection inj;
    int rc = 0;
    if (pick_rule(*seg, mask, ctx, matches, inj)) {
        note_injection(*seg, ts, call.hook, inj.slot, effect_value(*inj.rule));
        if (inj.rule->kind == Kind::DbDelay) {
            inject_delay(*inj.rule, ts);
        } else {
            rc = inj.rule->code;
            seg->hooks[h].errors.fetch_add(1, std::memory_order_relaxed);
        }
    }
    errno = saved_errno;
    return rc;
}

// The real call of a quiet hook: still one level deep, so that a rule armed
// while it runs (a long sqlite3_exec) does not fault SQLite's inner calls.
template <class Real> int passthrough(Real&& real) {
    ThreadState& ts = tls;
    ++ts.db_depth;
    int rc = real();
    --ts.db_depth;
    return rc;
}

bool is_error(int rc) {
    return rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE;
}

// The outermost real call: faults decided, the connection's injected code
// forgotten, SQLite's own nested calls passed through.
template <class Real> int outer_call(const DbCall& call, Real&& real, int& injected) {
    uint64_t mask = armed_mask(Family::Db);
    CallTimer timer(mask);
    // A recorder alone (core/gate.h's observe path): nothing to decide, the
    // timer counts the call.
    bool observe = path_of(mask) == Path::Observe;
    injected = path_of(mask) == Path::Rules ? db_decide(call, mask) : 0;
    if (injected) {
        remember(call.db, injected);
        timer.done(call.hook);
        return injected;
    }
    forget(call.db);
    ThreadState& ts = tls;
    ++ts.db_depth;
    int rc = real();
    --ts.db_depth;
    if (mask && is_error(rc) && g_segment)
        g_segment->hooks[unsigned(call.hook)].errors.fetch_add(1, std::memory_order_relaxed);
    timer.done(call.hook, 0, observe);
    return rc;
}

template <class Open>
int open_hook(Hook hook, const char* filename, sqlite3** db, Open&& real_open) {
    vfs_install();
    ThreadState& ts = tls;
    if (ts.db_depth) return real_open();
    if (quiet()) return passthrough(real_open);
    ++ts.db_depth;
    int real = real_open();
    --ts.db_depth;
    uint64_t mask = armed_mask(Family::Db);
    if (!mask) return real;
    // Decided after the real open so that file= sees the path SQLite resolved
    // (as for the connection's later calls and its files), not the argument:
    // a relative name or a file: URI is matched like the rest.
    sqlite3* conn = db ? *db : nullptr;
    auto& api = db_originals();
    const char* path = real == SQLITE_OK && conn && api.sqlite3_db_filename
                           ? api.sqlite3_db_filename(conn, "main")
                           : nullptr;
    int rc = db_decide({hook, kOnOpen, conn, nullptr, -1, path && *path ? path : filename}, mask);
    // SQLite hands back a connection even on failure: so does an injected
    // failure, so that errmsg() and close() work as on a real one.
    if (rc && real == SQLITE_OK && conn) {
        remember(conn, rc);
        return rc;
    }
    return real;
}

// `text` is the caller's statement (UTF-8 or UTF-16): an injected failure
// leaves *stmt null and the tail at the start, as a failed prepare does.
template <class Prepare, class Stmt, class TailOut, class Text>
int prepare_hook(Hook hook, sqlite3* db, const char* sql, int sql_len, Stmt** stmt,
                 TailOut tail_out, Text text, Prepare&& real) {
    if (tls.db_depth) return real();
    if (quiet()) return passthrough(real);
    int injected = 0;
    int rc = outer_call({hook, kOnPrepare, db, sql, sql_len, nullptr}, real, injected);
    if (injected) {
        if (stmt) *stmt = nullptr;
        if (tail_out) *tail_out = text;
    }
    return rc;
}

} // namespace

} // namespace faultline::shim

using namespace faultline;
using namespace faultline::shim;

#define FL_EXPORT extern "C" __attribute__((visibility("default")))

FL_EXPORT int sqlite3_open(const char* filename, sqlite3** db) {
    auto& api = db_originals();
    if (!api.sqlite3_open) return SQLITE_MISUSE;
    return open_hook(Hook::DbOpen, filename, db, [&] { return api.sqlite3_open(filename, db); });
}

FL_EXPORT int sqlite3_open_v2(const char* filename, sqlite3** db, int flags, const char* vfs) {
    auto& api = db_originals();
    if (!api.sqlite3_open_v2) return SQLITE_MISUSE;
    return open_hook(Hook::DbOpenV2, filename, db,
                     [&] { return api.sqlite3_open_v2(filename, db, flags, vfs); });
}

FL_EXPORT int sqlite3_open16(const void* filename, sqlite3** db) {
    auto& api = db_originals();
    if (!api.sqlite3_open16) return SQLITE_MISUSE;
    char buf[512];
    return open_hook(Hook::DbOpen16, narrow(filename, buf, sizeof buf), db,
                     [&] { return api.sqlite3_open16(filename, db); });
}

#define FL_PREPARE_HOOK(fn, hook)                                                                  \
    FL_EXPORT int fn(sqlite3* db, const char* sql, int n, sqlite3_stmt** stmt,                     \
                     const char** tail) {                                                          \
        auto& api = db_originals();                                                                \
        if (!api.fn) return SQLITE_MISUSE;                                                         \
        return prepare_hook(hook, db, sql, n, stmt, tail, sql,                                     \
                            [&] { return api.fn(db, sql, n, stmt, tail); });                       \
    }
FL_PREPARE_HOOK(sqlite3_prepare, Hook::DbPrepare)
FL_PREPARE_HOOK(sqlite3_prepare_v2, Hook::DbPrepareV2)
#undef FL_PREPARE_HOOK

FL_EXPORT int sqlite3_prepare_v3(sqlite3* db, const char* sql, int n, unsigned flags,
                                 sqlite3_stmt** stmt, const char** tail) {
    auto& api = db_originals();
    if (!api.sqlite3_prepare_v3) return SQLITE_MISUSE;
    return prepare_hook(Hook::DbPrepareV3, db, sql, n, stmt, tail, sql,
                        [&] { return api.sqlite3_prepare_v3(db, sql, n, flags, stmt, tail); });
}

#define FL_PREPARE16_HOOK(fn, hook)                                                                \
    FL_EXPORT int fn(sqlite3* db, const void* sql, int n, sqlite3_stmt** stmt,                     \
                     const void** tail) {                                                          \
        auto& api = db_originals();                                                                \
        if (!api.fn) return SQLITE_MISUSE;                                                         \
        char buf[512];                                                                             \
        return prepare_hook(hook, db, narrow(sql, buf, sizeof buf, n), -1, stmt, tail, sql,        \
                            [&] { return api.fn(db, sql, n, stmt, tail); });                       \
    }
FL_PREPARE16_HOOK(sqlite3_prepare16, Hook::DbPrepare16)
FL_PREPARE16_HOOK(sqlite3_prepare16_v2, Hook::DbPrepare16V2)
#undef FL_PREPARE16_HOOK

FL_EXPORT int sqlite3_prepare16_v3(sqlite3* db, const void* sql, int n, unsigned flags,
                                   sqlite3_stmt** stmt, const void** tail) {
    auto& api = db_originals();
    if (!api.sqlite3_prepare16_v3) return SQLITE_MISUSE;
    char buf[512];
    return prepare_hook(Hook::DbPrepare16V3, db, narrow(sql, buf, sizeof buf, n), -1, stmt, tail,
                        sql,
                        [&] { return api.sqlite3_prepare16_v3(db, sql, n, flags, stmt, tail); });
}

FL_EXPORT int sqlite3_step(sqlite3_stmt* stmt) {
    auto& api = db_originals();
    if (!api.sqlite3_step) return SQLITE_MISUSE;
    if (tls.db_depth) return api.sqlite3_step(stmt);
    if (quiet()) return passthrough([&] { return api.sqlite3_step(stmt); });
    sqlite3* db = api.sqlite3_db_handle ? api.sqlite3_db_handle(stmt) : nullptr;
    const char* sql = api.sqlite3_sql && rule_mask(Family::Db) ? api.sqlite3_sql(stmt) : nullptr;
    bool continuing = api.sqlite3_stmt_busy && rule_mask(Family::Db) && api.sqlite3_stmt_busy(stmt);
    int injected = 0;
    int rc = outer_call(
        {Hook::DbStep, kOnStep, db, sql, -1, nullptr, continuing},
        [&] { return api.sqlite3_step(stmt); }, injected);
    if (injected)
        g_statements.remember(stmt, injected);
    else
        g_statements.forget(stmt);
    return rc;
}

// After a failed step SQLite's reset and finalize return that step's code:
// the sqlite3 shell reports only finalize's.
FL_EXPORT int sqlite3_reset(sqlite3_stmt* stmt) {
    auto& api = db_originals();
    if (!api.sqlite3_reset) return SQLITE_MISUSE;
    int injected;
    if (g_statements.empty() || tls.db_depth || !g_statements.take(stmt, injected))
        return api.sqlite3_reset(stmt);
    sqlite3* db = api.sqlite3_db_handle ? api.sqlite3_db_handle(stmt) : nullptr;
    api.sqlite3_reset(stmt);
    restate(db);
    return injected;
}

FL_EXPORT int sqlite3_finalize(sqlite3_stmt* stmt) {
    auto& api = db_originals();
    if (!api.sqlite3_finalize) return SQLITE_MISUSE;
    int injected;
    if (g_statements.empty() || tls.db_depth || !g_statements.take(stmt, injected))
        return api.sqlite3_finalize(stmt);
    sqlite3* db = api.sqlite3_db_handle ? api.sqlite3_db_handle(stmt) : nullptr;
    api.sqlite3_finalize(stmt);
    restate(db);
    return injected;
}

FL_EXPORT int sqlite3_exec(sqlite3* db, const char* sql,
                           int (*callback)(void*, int, char**, char**), void* arg, char** errmsg) {
    auto& api = db_originals();
    if (!api.sqlite3_exec) return SQLITE_MISUSE;
    if (tls.db_depth) return api.sqlite3_exec(db, sql, callback, arg, errmsg);
    if (quiet())
        return passthrough([&] { return api.sqlite3_exec(db, sql, callback, arg, errmsg); });
    int injected = 0;
    int rc = outer_call(
        {Hook::DbExec, kOnExec, db, sql, -1, nullptr},
        [&] { return api.sqlite3_exec(db, sql, callback, arg, errmsg); }, injected);
    if (injected && errmsg)
        *errmsg = api.sqlite3_mprintf && api.sqlite3_errstr
                      ? api.sqlite3_mprintf("%s", api.sqlite3_errstr(injected))
                      : nullptr;
    return rc;
}

FL_EXPORT int sqlite3_errcode(sqlite3* db) {
    auto& api = db_originals();
    int rc;
    if (injected_code(db, rc)) return rc & 0xff;
    return api.sqlite3_errcode ? api.sqlite3_errcode(db) : SQLITE_MISUSE;
}

FL_EXPORT int sqlite3_extended_errcode(sqlite3* db) {
    auto& api = db_originals();
    int rc;
    if (injected_code(db, rc)) return rc;
    return api.sqlite3_extended_errcode ? api.sqlite3_extended_errcode(db) : SQLITE_MISUSE;
}

FL_EXPORT const char* sqlite3_errmsg(sqlite3* db) {
    auto& api = db_originals();
    int rc;
    if (injected_code(db, rc) && api.sqlite3_errstr) return api.sqlite3_errstr(rc);
    return api.sqlite3_errmsg ? api.sqlite3_errmsg(db) : "out of memory";
}

FL_EXPORT const void* sqlite3_errmsg16(sqlite3* db) {
    auto& api = db_originals();
    int rc;
    if (injected_code(db, rc) && api.sqlite3_errstr) {
        // errstr's English text, widened into this thread's buffer.
        static __thread char16_t wide[128] __attribute__((tls_model("initial-exec")));
        const char* s = api.sqlite3_errstr(rc);
        size_t i = 0;
        for (; s[i] && i + 1 < sizeof wide / sizeof *wide; ++i) wide[i] = char16_t(s[i]);
        wide[i] = 0;
        return wide;
    }
    return api.sqlite3_errmsg16 ? api.sqlite3_errmsg16(db) : nullptr;
}

FL_EXPORT int sqlite3_close(sqlite3* db) {
    auto& api = db_originals();
    forget(db);
    return api.sqlite3_close ? api.sqlite3_close(db) : SQLITE_MISUSE;
}

FL_EXPORT int sqlite3_close_v2(sqlite3* db) {
    auto& api = db_originals();
    forget(db);
    return api.sqlite3_close_v2 ? api.sqlite3_close_v2(db) : SQLITE_MISUSE;
}
