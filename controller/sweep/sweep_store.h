// A finished sweep in the recording file (docs/recording.md, "Sweeps"): the
// sweep, its sites, its runs and its findings, in tables beside the
// sessions'. The file is opened as a recording first, so that a foreign or
// newer file is refused the same way.
#pragma once

#include "controller/sweep/sweep.h"

#include <string>

namespace faultline::sweep {

// Throws cli::Failure naming "sweep" when the file cannot take it.
void store_sweep(const Sweep& sweep, const std::string& path);

} // namespace faultline::sweep
