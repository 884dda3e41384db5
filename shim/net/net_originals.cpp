// The real libc network functions (core/originals.h). Each has a single
// symbol version in glibc (tests/integration/test_symbols.sh), so
// dlsym(RTLD_NEXT) finds the one programs link against.

#include "shim/core/originals.h"
#include "shim/core/thread_state.h"

#include <atomic>
#include <dlfcn.h>

namespace faultline::shim {

namespace {
NetOriginals g_net;
std::atomic<bool> g_resolved{false};
} // namespace

const NetOriginals& net_originals() {
    if (__builtin_expect(g_resolved.load(std::memory_order_acquire), 1)) return g_net;
    HookScope scope(tls); // dlsym's allocations are the shim's
    NetOriginals o;
#define FL_RESOLVE(symbol)                                                                         \
    o.symbol = reinterpret_cast<decltype(o.symbol)>(dlsym(RTLD_NEXT, #symbol));
#define FL_HOOK(family, id, symbol, role, failure, faults)                                         \
    FL_IF_Net_##family(FL_WITH_ORIGINAL_##role(FL_RESOLVE, symbol))
#include "common/hooks.def"
#undef FL_HOOK
#undef FL_RESOLVE
    g_net = o;
    g_resolved.store(true, std::memory_order_release);
    return g_net;
}

} // namespace faultline::shim
