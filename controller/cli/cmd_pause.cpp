// faultline pause: freezes a session's processes for a while (a GC pause, a
// VM stall) with SIGSTOP, then SIGCONT (README.md, "Commands"), through the
// watchdog of pauser.h: the CLI only waits for it. Ctrl-C or SIGTERM on the
// CLI resumes them at once.

#include "controller/cli/children.h"
#include "controller/cli/cli.h"
#include "controller/cli/commands.h"
#include "controller/cli/pauser.h"
#include "controller/cli/session.h"
#include "controller/cli/stop_signals.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <sys/wait.h>
#include <unistd.h>

namespace faultline {

using cli::fail;

int cmd_pause(const Argv& argv) {
    cli::Args args("pause", "-s NAME --for DUR [--pid PID]",
                   "Freezes the session's attached processes (or one of them) for DUR with\n"
                   "SIGSTOP, then resumes them with SIGCONT: a GC pause or a VM stall as the\n"
                   "program and its peers see it. Its clients (run --client) go on, as users\n"
                   "would, unless named with --pid. A watchdog resumes them on time even if this\n"
                   "command is killed, and this command resumes them itself (exit 1) if the\n"
                   "watchdog is killed; Ctrl-C resumes them at once.",
                   {{"--session", 's', true, "session (default: $FAULTLINE_SESSION)"},
                    {"--for", 0, true, "how long (required), e.g. 500ms, 2s"},
                    {"--pid", 0, true, "only this attached process"}});
    if (!args.parse(argv)) return cli::kOk;
    if (!args.positionals().empty()) args.usage_error("unexpected '" + args.positionals()[0] + "'");
    auto dur = args.get("--for");
    if (!dur) args.usage_error("--for DUR is required");
    int64_t ns = cli::parse_duration_arg(*dur, "pause", "--for");
    if (ns <= 0) fail("pause", "--for must be longer than 0");
    Session session = Session::open(cli::session_name(args, "pause"), "pause");
    std::vector<ProcessView> procs = session.processes();
    if (auto pid = args.get("--pid")) {
        int32_t want = int32_t(cli::parse_count_arg(*pid, "pause", "--pid"));
        std::vector<ProcessView> one;
        for (auto& p : procs)
            if (p.pid == want) one.push_back(p);
        if (one.empty())
            fail("pause", "--pid " + *pid + ": not a process of session '" + session.name() + "'");
        procs = one;
    } else {
        procs = pausable(procs); // its clients are its users: a pause does not stop them
    }
    if (procs.empty()) fail("pause", "session '" + session.name() + "' has no live process");

    Pause pause = start_pause(session.segment(), procs, ns);
    pid_t dog = pause.watchdog;
    if (dog < 0) fail("pause", std::string("fork: ") + strerror(errno), cli::kCheckFailed);
    StopSignals stop;
    stop.relay_to(dog, kResumeSignal); // resumed at once: end_pause_now from the handler
    int status = 0;
    while (waitpid(dog, &status, 0) < 0 && errno == EINTR) {
    }
    stop.stop_relaying(dog);
    // A watchdog killed mid-pause (kill -9, the OOM killer) would leave the
    // processes frozen for good: resumed here, and the pause fails.
    if (resume_after_watchdog(session.segment(), pause, status))
        fail("pause",
             "the watchdog (process " + std::to_string(dog) + ") was " +
                 (WIFSIGNALED(status)
                      ? std::string("killed by signal ") + std::to_string(WTERMSIG(status))
                      : "ended with status " + std::to_string(exit_code(status))) +
                 "; " + std::to_string(procs.size()) + " process(es) resumed early",
             cli::kCheckFailed);
    return cli::kOk;
}

} // namespace faultline
