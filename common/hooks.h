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

inline constexpr const char* kFamilyNames[kFamilyCount] = {"mem", "net", "db", "vfs"};

} // namespace faultline
