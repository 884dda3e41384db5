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

// A pause under way: its watchdog and what it froze.
struct Pause {
    pid_t watchdog = -1;
    std::vector<ProcessView> procs;
    int64_t start_ns = 0;
    std::string name;
};

// The processes a pause stops: `procs` but the session's clients (run
// --client, role = "client", and their children; their segment slots say
// so): they stand for the service's users, whom its pause does not stop.
std::vector<ProcessView> pausable(std::vector<ProcessView> procs);

// Starts the watchdog (watchdog -1 when fork failed; the caller reaps it).
// `name` names the pause's window in the report.
Pause start_pause(Segment& seg, const std::vector<ProcessView>& procs, int64_t duration_ns,
                  const std::string& name = "pause");

// Asks a watchdog to resume the processes now: sends it kResumeSignal.
void end_pause_now(pid_t watchdog);
constexpr int kResumeSignal = SIGUSR1;

// After the watchdog ended with `wait_status`: when it did not finish its
// job (killed: SIGKILL, the OOM killer), the caller resumes the processes
// itself with SIGCONT and records the pause, as long as it lasted, in the
// watchdog's stead. True in that case (the caller says so).
bool resume_after_watchdog(Segment& seg, const Pause& pause, int wait_status);

} // namespace faultline
