// The faultline version: one place, the VERSION file at the top of the tree,
// which the Makefile passes to version.cpp alone (-DFAULTLINE_VERSION).
// Printed by `faultline --version` and `faultline version`, shown in
// `status --json` and stored with every recorded session (docs/recording.md).
#pragma once

namespace faultline {

const char* faultline_version();

} // namespace faultline
