// Hook ids and their descriptions, generated from hooks.def.
#pragma once

#include "rule.h"

#include <cstdint>

namespace faultline {

enum class Hook : uint16_t {
#define FL_HOOK(id, family, name, faults) id,
#include "hooks.def"
#undef FL_HOOK
};

struct HookInfo {
    Hook hook;
    Family family;
    const char* name;
    const char* faults;
};

inline constexpr HookInfo kHooks[] = {
#define FL_HOOK(id, family, name, faults) {Hook::id, Family::family, name, faults},
#include "hooks.def"
#undef FL_HOOK
};

inline constexpr unsigned kHookCount = sizeof kHooks / sizeof kHooks[0];

// An operation is a call the program makes to get work done: one a rule can
// fail or slow (malloc, connect, sqlite3_step, xRead...), i.e. whose faults in
// hooks.def start with a kind. The rest is book-keeping (free, close,
// sqlite3_errmsg), waiting (poll, epoll_wait) or an alias counted through the
// call it makes (__recv_chk). The report's ops/s and calls-based success rate
// count operations only.
constexpr bool hook_is_operation(Hook h) {
    const char* f = kHooks[unsigned(h)].faults;
    auto starts = [f](const char* p) {
        for (unsigned i = 0; p[i]; ++i)
            if (f[i] != p[i]) return false;
        return true;
    };
    return starts("mem.") || starts("net.") || starts("db.");
}

inline constexpr const char* kFamilyNames[kFamilyCount] = {"mem", "net", "db", "vfs"};

} // namespace faultline
