// The real SQLite functions (core/originals.h): dlsym(RTLD_NEXT), and where
// that finds nothing (python3's _sqlite3 loads libsqlite3 RTLD_LOCAL: its
// symbols are not in the global scope) from the already loaded library
// through its own handle, dlopen(RTLD_NOLOAD) (docs/pitfalls.md, item 10).

#include "shim/core/originals.h"
#include "shim/core/thread_state.h"

#include <atomic>
#include <dlfcn.h>

namespace faultline::shim {

namespace {

// Opens the private library at most once per resolution: each dlopen reads
// ld.so.cache.
class Resolver {
  public:
    ~Resolver() {
        if (lib_) dlclose(lib_); // drops NOLOAD's reference; the library stays loaded
    }
    void* operator()(const char* name) {
        if (void* f = dlsym(RTLD_NEXT, name)) return f;
        if (!tried_) {
            lib_ = dlopen("libsqlite3.so.0", RTLD_NOLOAD | RTLD_LAZY);
            tried_ = true;
        }
        return lib_ ? dlsym(lib_, name) : nullptr;
    }

  private:
    void* lib_ = nullptr;
    bool tried_ = false;
};

} // namespace

DbOriginals g_db_originals;
std::atomic<bool> g_db_resolved{false};

const DbOriginals& resolve_db_originals() {
    HookScope scope(tls); // dlsym/dlopen allocate: those calls are the shim's
    DbOriginals o;
    Resolver resolve;
#define FL_RESOLVE(symbol) o.symbol = reinterpret_cast<decltype(o.symbol)>(resolve(#symbol));
#define FL_HOOK(family, id, symbol, role, failure, faults)                                         \
    FL_IF_Db_##family(FL_WITH_ORIGINAL_##role(FL_RESOLVE, symbol))
#include "common/hooks.def"
#undef FL_HOOK
    FL_DB_HELPERS(FL_RESOLVE)
#undef FL_RESOLVE
    g_db_originals = o;
    // Only a complete set is final: a library loaded later completes it.
    if (o.sqlite3_step && o.sqlite3_open_v2 && o.sqlite3_errstr && o.sqlite3_vfs_find)
        g_db_resolved.store(true, std::memory_order_release);
    return g_db_originals;
}

} // namespace faultline::shim
