// faultline sweep inside the target: the failure site (common/site.h) of the
// call being made, the profile of a sweep's first run, and the record of a
// fatal signal in its fault runs (common/site_table.h). `site=` rules need
// nothing else; the profile and crash records need FAULTLINE_SWEEP's table.
#pragma once

#include "common/hooks.h"

#include <cstdint>

namespace faultline::shim {

// The site of the current call of `hook`: its calling stack below the shim,
// kSiteDepth frames (CallContext::site). Cached per stack: a loop pays one
// walk of its stack per call, no symbol lookup. 0 without libunwind.
uint64_t call_site(Hook hook);

// At load, when FAULTLINE_SWEEP names a table: maps it, profiles the
// families it asks for, and records fatal signals before they go on.
void sweep_attach(const char* table_path);

} // namespace faultline::shim
