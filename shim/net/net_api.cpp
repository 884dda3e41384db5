#include "shim/net/net_api.h"

#include "shim/core/thread_state.h"

#include <atomic>
#include <dlfcn.h>

namespace faultline::shim {

namespace {
NetApi g_api;
std::atomic<bool> g_resolved{false};
} // namespace

const NetApi& net_api() {
    if (__builtin_expect(g_resolved.load(std::memory_order_acquire), 1)) return g_api;
    HookScope scope(tls); // dlsym's allocations are the shim's
    NetApi api;
#define FL_RESOLVE(name, type) api.name = reinterpret_cast<Fn<type>>(dlsym(RTLD_NEXT, #name));
    FL_NET_API(FL_RESOLVE)
#undef FL_RESOLVE
    g_api = api;
    g_resolved.store(true, std::memory_order_release);
    return g_api;
}

} // namespace faultline::shim
