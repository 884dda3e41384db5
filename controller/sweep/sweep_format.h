// A sweep's report (docs/sweep.md, "Report"): table, json, html.
#pragma once

#include "controller/sweep/sweep.h"

#include <string>

namespace faultline::sweep {

// false for an unknown name.
bool valid_format(const std::string& name);
std::string format_sweep(const Sweep& sweep, const std::string& format);

// One line of the profile's end: "exit 0", "killed by SIGSEGV".
std::string status_text(int wait_status);

} // namespace faultline::sweep
