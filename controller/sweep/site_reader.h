// Reading back a run's site table (common/site_table.h): the sites its
// profile reached and the fatal signals its processes died of, symbolized
// from the objects' own symbol tables.
#pragma once

#include "common/site_table.h"
#include "controller/record/symbolizer.h"
#include "controller/sweep/sweep.h"

#include <vector>

namespace faultline::sweep {

// In order of first reach.
std::vector<Site> read_sites(const SiteTable& table, Symbolizer& symbols);

// In the order they happened; the signal trampoline's frame left out.
std::vector<Crash> read_crashes(const SiteTable& table, Symbolizer& symbols);

} // namespace faultline::sweep
