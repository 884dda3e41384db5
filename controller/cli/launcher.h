// Starting a target under the shim: finding the shim, checking that the
// target can be interposed at all, and exec'ing it with the environment set.
#pragma once

#include <csignal>
#include <string>
#include <vector>

namespace faultline {

// Absolute path of libfaultline.so: $FAULTLINE_SHIM, else next to the
// faultline binary, else ../lib/faultline/. Throws cli::Failure if none.
std::string find_shim(const char* command);

// Resolves CMD through PATH; throws (exit 127) when it does not exist.
std::string resolve_program(const std::string& program, const char* command);

// Refuses targets the shim cannot reach (static binaries, Go: docs/pitfalls.md item 17)
// and returns warnings for symbols the executable itself defines, which win
// over the preload (docs/pitfalls.md item 18).
std::vector<std::string> check_target(const std::string& path, const char* command);

struct LaunchEnv {
    std::string shim; // absolute path
    std::string session;
    bool inherit = true;           // children and exec'd programs join the session
    sigset_t sigmask;              // the signal mask the target starts with
    bool stdout_to_stderr = false; // keep stdout for the caller's own output (a report)
    bool preload = true; // false: in the session (FAULTLINE_SESSION) but not under the shim
    int output_fd = -1;  // >= 0: stdout and stderr go there (an experiment's log)
    // A client of the session (FAULTLINE_CLIENT=1, inherited): no rule acts
    // in it or its children; its exchanges are the session's operations.
    bool client = false;
};

// In a forked child: sets the signal mask, LD_PRELOAD, FAULTLINE_SESSION
// (and FAULTLINE_NO_INHERIT), execs; exits 127 or 126 when the exec fails.
// The supervisor forks (supervisor.h).
[[noreturn]] void exec_target(const std::vector<std::string>& argv, const LaunchEnv& env);

} // namespace faultline
