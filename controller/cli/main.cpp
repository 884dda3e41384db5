// faultline: the controller CLI. Dispatches to one function per command.

#include "controller/cli/cli.h"
#include "controller/cli/commands.h"

#include <cstdio>
#include <cstring>
#include <exception>

// The shim finds this symbol in the executable and stays dormant: the
// controller is never faulted, even under a faulted script (README.md, "Commands").
extern "C" {
__attribute__((visibility("default"), used)) int faultline_cli_marker = 1;
}

namespace {

struct Command {
    const char* name;
    int (*run)(const faultline::Argv&);
    const char* summary;
};

constexpr Command kCommands[] = {
    {"run", faultline::cmd_run, "start a program under the shim, with rules"},
    {"enable", faultline::cmd_enable, "arm rules in a live session"},
    {"disable", faultline::cmd_disable, "disarm rules by id or name, or --all"},
    {"list", faultline::cmd_list, "a session's rules with seen/matched/injected"},
    {"status", faultline::cmd_status, "a session's processes and per-function counters"},
    {"sessions", faultline::cmd_sessions, "live and stale sessions"},
    {"gc", faultline::cmd_gc, "remove stale sessions"},
    {"hooks", faultline::cmd_hooks, "every intercepted function, by family"},
    {"record", faultline::cmd_record, "record a session started elsewhere into SQLite"},
    {"mark", faultline::cmd_mark, "record an outcome (ok|fail) from a script"},
    {"probe", faultline::cmd_probe, "run a steady-state probe command on a period"},
    {"report", faultline::cmd_report, "success rate, recovery, throughput, latency per window"},
    {"top", faultline::cmd_top, "a live view of a session's calls, errors and rules"},
    {"pause", faultline::cmd_pause, "freeze a session's processes for a while (GC/VM stall)"},
    {"experiment", faultline::cmd_experiment, "run an experiment file: phases, probe, report"},
    {"sweep", faultline::cmd_sweep,
     "find every unhandled error path of a program, with reproducers"},
    {"version", faultline::cmd_version, "print faultline's version (also --version)"},
};

void usage(FILE* out) {
    fprintf(out, "usage: faultline COMMAND [OPTIONS]\n\n"
                 "Chaos testing for unmodified Linux programs: faults injected through a\n"
                 "preloaded shim, armed and disarmed live.\n\ncommands:\n");
    for (auto& c : kCommands) fprintf(out, "  %-10s %s\n", c.name, c.summary);
    fprintf(out, "\n'faultline COMMAND --help' for a command's options; docs/rules.md for the rule "
                 "language.\nExit codes: 0 success, 1 a failed check, 2 bad usage or input.\n");
}

} // namespace

int main(int argc, char** argv) {
    // Before anything forks: a target's status must never be lost to an
    // inherited SIGCHLD disposition (docs/pitfalls.md item 24).
    faultline::cli::reset_inherited_signals();
    if (argc < 2) {
        usage(stderr);
        return faultline::cli::kUsage;
    }
    std::string name = argv[1];
    if (name == "--help" || name == "-h" || name == "help") {
        usage(stdout);
        return faultline::cli::kOk;
    }
    if (name == "--version") name = "version";
    faultline::Argv rest(argv + 2, argv + argc);
    for (auto& c : kCommands) {
        if (name != c.name) continue;
        try {
            return c.run(rest);
        } catch (const faultline::cli::Failure& f) {
            fprintf(stderr, "faultline: %s: %s\n", f.what.c_str(), f.why.c_str());
            return f.code;
        } catch (const std::exception& e) {
            fprintf(stderr, "faultline: %s: %s\n", c.name, e.what());
            return faultline::cli::kCheckFailed;
        }
    }
    fprintf(stderr, "faultline: %s: unknown command (see faultline --help)\n", name.c_str());
    return faultline::cli::kUsage;
}
