// The real libc network functions (core/originals.h). Each has a single
// symbol version in glibc (tests/integration/test_symbols.sh), so
// dlsym(RTLD_NEXT) finds the one programs link against.

#include "shim/core/originals.h"
#include "shim/core/thread_state.h"

#include <atomic>
#include <dlfcn.h>

namespace faultline::shim {

NetOriginals g_net_originals;
std::atomic<bool> g_net_resolved{false};

const NetOriginals& resolve_net_originals() {
    HookScope scope(tls); // dlsym's allocations are the shim's
    NetOriginals o;
#define FL_RESOLVE(symbol)                                                                         \
    o.symbol = reinterpret_cast<decltype(o.symbol)>(dlsym(RTLD_NEXT, #symbol));
#define FL_HOOK(family, id, symbol, role, failure, faults)                                         \
    FL_IF_Net_##family(FL_WITH_ORIGINAL_##role(FL_RESOLVE, symbol))
#include "common/hooks.def"
#undef FL_HOOK
#undef FL_RESOLVE
    g_net_originals = o;
    g_net_resolved.store(true, std::memory_order_release);
    return g_net_originals;
}

} // namespace faultline::shim
