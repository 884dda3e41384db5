// Hook ids, roles and descriptions, generated from hooks.def.
#pragma once

#include "rule.h"

#include <cstdint>

namespace faultline {

enum class Hook : uint16_t {
#define FL_HOOK(family, id, symbol, role, failure, faults) id,
#include "hooks.def"
#undef FL_HOOK
};

// What a hooked function is to the program (hooks.def explains each).
enum class HookRole : uint8_t { Operation, Wait, Bookkeeping, Batch, Fortify };

inline constexpr const char* kRoleNames[] = {"operation", "wait", "bookkeeping", "batch",
                                             "fortify"};

struct HookInfo {
    Hook hook;
    Family family;
    HookRole role;
    const char* name;
    const char* failure; // how a rule fails it; "-": never failed
    const char* faults;  // the kinds that act on it
};

inline constexpr HookInfo kHooks[] = {
#define FL_HOOK(family, id, symbol, role, failure, faults)                                         \
    {Hook::id, Family::family, HookRole::role, #symbol, failure, faults},
#include "hooks.def"
#undef FL_HOOK
};

inline constexpr unsigned kHookCount = sizeof kHooks / sizeof kHooks[0];

// An operation is a call the program makes to get work done: one a rule can
// fail or slow (malloc, connect, sqlite3_step, xRead...). The rest is
// book-keeping (free, close, sqlite3_errmsg), waiting (poll, epoll_wait) or
// an alias counted through the call it makes (__recv_chk, sendmmsg). The
// report's ops/s and calls-based success rate count operations only.
constexpr bool hook_is_operation(Hook h) {
    return kHooks[unsigned(h)].role == HookRole::Operation;
}

inline constexpr const char* kFamilyNames[kFamilyCount] = {"mem", "net", "db", "vfs"};

} // namespace faultline
