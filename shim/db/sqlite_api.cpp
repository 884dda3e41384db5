#include "shim/db/sqlite_api.h"

#include "shim/core/thread_state.h"

#include <atomic>
#include <dlfcn.h>

namespace faultline::shim {

namespace {

SqliteApi g_api;
std::atomic<bool> g_resolved{false};

// dlsym(RTLD_NEXT), else the library already loaded privately (RTLD_LOCAL),
// reached through its own handle: opened at most once per resolution (each
// dlopen reads ld.so.cache).
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

const SqliteApi& sqlite_api() {
    if (__builtin_expect(g_resolved.load(std::memory_order_acquire), 1)) return g_api;
    // dlsym/dlopen allocate: those calls are the shim's, not the host's.
    HookScope scope(tls);
    SqliteApi api;
    Resolver resolve;
#define FL_RESOLVE(field, type, name) api.field = reinterpret_cast<type>(resolve(name));
    FL_SQLITE_API(FL_RESOLVE)
#undef FL_RESOLVE
    g_api = api;
    // Only a complete set is final: a library loaded later completes it.
    if (api.step && api.open_v2 && api.errstr && api.vfs_find)
        g_resolved.store(true, std::memory_order_release);
    return g_api;
}

} // namespace faultline::shim
