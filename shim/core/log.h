// Diagnostics from inside a host process: one raw write(2) to stderr, never
// stdio or malloc (jemalloc's rule), safe in signal handlers.
#pragma once

namespace faultline::shim {

// Writes "faultline: shim: <a><b><c>\n" to fd 2 in one write. Quiet when
// FAULTLINE_QUIET=1.
void warn(const char* a, const char* b = "", const char* c = "");

} // namespace faultline::shim
