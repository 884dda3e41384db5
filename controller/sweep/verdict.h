// What a run's end means (docs/sweep.md, "Outcomes"), and the findings: the
// runs that crashed, hung, tripped a sanitizer or failed the probe, grouped
// by failure site (the first frame of the program, past the C and C++
// runtimes' wrappers such as strdup and operator new, that led to the failing
// call) and crash site (the crashing stack's first frame of the
// program). Pure: unit-tested.
#pragma once

#include "controller/sweep/sweep.h"

#include <string>
#include <vector>

namespace faultline::sweep {

// In this order: not run; unreached (the rule never injected: nothing this
// run did is the site's doing); hung; sanitizer; crashed (a signal ended
// CMD, or any process of the run); probe-failed; handled.
Outcome classify(const RunResult& r);

// The sanitizer report in a run's stderr: its first line, or "".
std::string sanitizer_line(const std::string& stderr_text);

// The findings of `sweep` (its runs classified), most frequent first; each
// reproduced by its first run's reproducer.
std::vector<Finding> find(const Sweep& sweep);

// The first frame of `stack` outside the C and C++ runtimes (its first
// frame when all are theirs): where the program is in it.
std::string program_frame(const std::vector<std::string>& stack);

// "SIGSEGV", or "signal N".
std::string signal_name(int sig);

// The signal that ended the run: the first crash the shim recorded, else
// the one that killed CMD; 0 for none.
int run_signal(const RunResult& r);

} // namespace faultline::sweep
