// A failure site: a hooked function and the calling stack that reached it,
// each frame a return address relative to its object (the object's file name
// and the distance from where it is loaded), so that the same call in the
// same program is the same site from run to run despite ASLR. `faultline
// sweep` profiles the sites a program reaches and fails each in its own run;
// a rule's `site=` key fails one (docs/sweep.md).
#pragma once

#include <cstdint>

namespace faultline {

// Frames of the calling stack (below the shim) that make a site: deep enough
// to tell the callers of a wrapper apart, shallow enough that a loop reaching
// one call through many paths stays one site.
constexpr unsigned kSiteDepth = 8;

struct SiteFrame {
    uint64_t object; // object_hash() of the object's file name, 0: no object (JIT code)
    uint64_t offset; // return address minus the object's load address
};

// FNV-1a of an object's file name (its base name: /usr/lib and /lib are one).
inline uint64_t object_hash(const char* name) {
    uint64_t h = 0xcbf29ce484222325ull;
    const char* base = name;
    for (const char* p = name; *p; ++p)
        if (*p == '/') base = p + 1;
    for (const char* p = base; *p; ++p) h = (h ^ uint8_t(*p)) * 0x100000001b3ull;
    return h;
}

inline uint64_t site_mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h * 0xbf58476d1ce4e5b9ull;
}

// The site of `symbol` (the hooked function's name, as in hooks.def) called
// through `frames`. Never 0 (0 means "no site").
inline uint64_t site_hash(const char* symbol, const SiteFrame* frames, unsigned n) {
    uint64_t h = object_hash(symbol);
    for (unsigned i = 0; i < n; ++i) h = site_mix(site_mix(h, frames[i].object), frames[i].offset);
    return h ? h : 1;
}

} // namespace faultline
