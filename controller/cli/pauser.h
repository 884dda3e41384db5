// Freezing a session's processes for a while (faultline pause, an
// experiment phase's `pause`): SIGSTOP, wait, SIGCONT, done by a watchdog
// process in its own session so that the processes are resumed on time even
// if the caller is killed. The watchdog reports the pause to the recorder
// through the segment's outcome ring; the report shows it as a window.
#pragma once

#include "controller/cli/session.h"

#include <csignal>
#include <string>
#include <sys/types.h>
#include <vector>

namespace faultline {

// Starts the watchdog; returns its pid (the caller reaps it), or -1.
// `name` names the pause's window in the report.
pid_t start_pause(Segment& seg, const std::vector<ProcessView>& procs, int64_t duration_ns,
                  const std::string& name = "pause");

// Asks a watchdog to resume the processes now: sends it kResumeSignal.
void end_pause_now(pid_t watchdog);
constexpr int kResumeSignal = SIGUSR1;

} // namespace faultline
