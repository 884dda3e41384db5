// faultline experiment FILE.toml: starts (or joins) the target, records,
// runs the steady-state probe, walks the phases arming and disarming their
// rules (ramping p where asked), then prints the report and exits 0 when
// every tolerance held, 1 when one deviated, 2 on bad input or an
// inconclusive run (docs/experiments.md).

#include "controller/cli/cli.h"
#include "controller/cli/commands.h"
#include "controller/cli/launcher.h"
#include "controller/cli/pauser.h"
#include "controller/cli/supervisor.h"
#include "controller/experiment/experiment.h"
#include "controller/record/recorder.h"
#include "controller/record/recording_db.h"
#include "controller/report/report_format.h"

#include <climits>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <unistd.h>

namespace faultline {

using cli::fail;

namespace {

std::string self_path() {
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return "faultline";
    buf[n] = 0;
    return buf;
}

std::string ns_text(int64_t ns) {
    return std::to_string(ns) + "ns";
}

// Where the experiment's programs and probe write: FILE.log next to the
// recording FILE.db (or the recording's path + ".log"), appended to, one
// header line per experiment. Stdout is the report's alone.
std::string log_path(const std::string& recording) {
    std::string base = recording;
    if (base.size() > 3 && base.compare(base.size() - 3, 3, ".db") == 0)
        base.resize(base.size() - 3);
    return base + ".log";
}

int open_log(const std::string& path, const std::string& header) {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) fail("experiment", path + ": " + strerror(errno));
    std::string line = "== " + header + "\n";
    if (write(fd, line.data(), line.size()) < 0) {
        // Nothing to do: the programs' own writes will fail the same way.
    }
    return fd;
}

int start_probe(const Experiment& x, const std::string& session, int log_fd) {
    std::vector<std::string> argv = {self_path(), "probe",   "-s",
                                     session,     "--every", ns_text(x.steady.every_ns)};
    if (x.steady.timeout_ns) {
        argv.push_back("--timeout");
        argv.push_back(ns_text(x.steady.timeout_ns));
    }
    argv.push_back("--");
    argv.insert(argv.end(), x.steady.probe.begin(), x.steady.probe.end());
    int pid = fork();
    if (pid != 0) return pid;
    cli::restore_inherited_signals();
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
}

void say(const char* fmt, const std::string& a, const std::string& b = "") {
    fprintf(stderr, fmt, a.c_str(), b.c_str());
}

// The file's processes, under the shim (or only in the session: shim =
// false), targets or clients (role = "client": never faulted, their
// exchanges the operations). Their output goes to the log: stdout is the
// report's.
void start_processes(Supervisor& sup, const Experiment& x, const std::string& session, int log_fd) {
    if (x.processes.empty()) return;
    std::string shim = find_shim("experiment");
    for (auto& p : x.processes) {
        std::string program = resolve_program(p.command[0], "experiment");
        if (p.shim)
            for (auto& w : check_target(program, "experiment"))
                fprintf(stderr, "faultline: experiment: warning: %s\n", w.c_str());
        sigset_t none;
        sigemptyset(&none);
        LaunchEnv env{shim, session, p.inherit, none, true, p.shim, log_fd};
        env.client = p.client;
        sup.launch(p.command, env);
    }
}

// The phases, each armed at its start and disarmed at its end (a ramp: one
// step of p after the other), until the last ends or a stop signal comes.
// True when the targets exited first.
bool run_phases(Supervisor& sup, const Experiment& x, bool quiet) {
    bool has_targets = !x.processes.empty();
    bool armed_before = false; // the phase before armed rules: this one continues its window
    for (const Phase& ph : x.phases) {
        if (sup.stop_signal()) return false;
        if (!quiet)
            say("faultline: phase %s (%s)\n", ph.name,
                ph.rules.empty()
                    ? std::string("no rules")
                    : std::string(ph.rules[0].text) + (ph.rules.size() > 1 ? " ..." : ""));
        int64_t start = monotonic_ns();
        // A GC pause or a VM stall: the session's processes stopped for
        // pause_ns from the phase's start (the probe, outside, goes on).
        Pause pause;
        if (ph.pause_ns)
            pause = start_pause(sup.session().segment(), pausable(sup.session().processes()),
                                ph.pause_ns, phase_rule_name(ph.name));
        pid_t pauser = pause.watchdog;
        sup.adopt(pauser, Children::Kind::Watchdog);
        // A watchdog that ended before its time: killed, or done. Killed, the
        // processes it froze are resumed here at once.
        auto watchdog_ended = [&](std::optional<int> status) {
            if (!status) return;
            pauser = -1;
            if (resume_after_watchdog(sup.session().segment(), pause, *status))
                fprintf(stderr,
                        "faultline: experiment: phase %s: the pause's watchdog was killed; "
                        "its processes were resumed\n",
                        ph.name.c_str());
        };
        unsigned steps = ph.ramp ? ph.ramp->steps : 1;
        bool ended = false;
        for (unsigned k = 0; k < steps && !sup.stop_signal() && !ended; ++k) {
            std::vector<Rule> rules = ph.rules;
            if (ph.ramp) {
                double p = ph.ramp->from + (ph.ramp->to - ph.ramp->from) * k / (steps - 1);
                for (Rule& r : rules) r = with_probability(r, p);
            }
            std::vector<uint32_t> ids = sup.arm(rules);
            // A ramp's next step, or the phase right after one with rules:
            // one window with what came before (a live disable A; enable B
            // is two).
            if (k > 0 || armed_before) sup.continue_window(ids);
            int64_t step_end = start + ph.duration_ns * int64_t(k + 1) / int64_t(steps);
            while (!sup.stop_signal() && monotonic_ns() < step_end) {
                bool more = sup.poll();
                if (pauser > 0) watchdog_ended(sup.children().poll(pauser));
                if (has_targets && !sup.children().targets_running()) {
                    ended = true;
                    break;
                }
                if (more) continue; // behind: no sleep
                int64_t left = step_end - monotonic_ns();
                int64_t nap = sup.poll_interval_ns();
                timespec ts{0, long(left < nap ? (left > 0 ? left : 0) : nap)};
                nanosleep(&ts, nullptr);
            }
            sup.disarm(ids);
        }
        armed_before = !ph.rules.empty();
        if (pauser > 0) {
            end_pause_now(pauser); // the phase was cut short
            watchdog_ended(sup.children().wait(pauser));
        }
        if (ended) return true;
    }
    return false;
}

// Prints the report of the recording; the exit code of its verdicts (an
// interrupted run is inconclusive).
int report(const Experiment& x, const std::string& path, const std::string& session,
           ReportFormat format, bool interrupted, bool target_died) {
    Timeline t = load_timeline(path, session, "experiment");
    MetricOptions opt;
    opt.recovery_window_s = x.steady.recovery_window_s;
    Report r = compute_report(t, x.steady.tolerances, opt);
    fputs(format_report(r, format).c_str(), stdout);
    bool deviated = false, inconclusive = interrupted;
    for (auto& w : r.windows) {
        deviated = deviated || w.verdict == "deviated";
        inconclusive = inconclusive || w.verdict == "inconclusive";
    }
    // A target that died (a signal, a non-zero exit) fails the experiment,
    // whatever its tolerances.
    if (deviated || target_died) return cli::kCheckFailed;
    if (inconclusive) return cli::kUsage;
    return cli::kOk;
}

} // namespace

int cmd_experiment(const Argv& argv) {
    cli::Args args("experiment", "FILE.toml [-o FILE.db] [--seed N] [-s NAME] [--quiet]",
                   "Runs the experiment FILE.toml (docs/experiments.md): starts its target under\n"
                   "the shim (or joins its session), records, runs the steady-state probe, walks\n"
                   "the phases arming their rules, then prints the report. Exit: 0 every\n"
                   "tolerance held, 1 one deviated, 2 bad input or an inconclusive run.",
                   {{"--output", 'o', true,
                     "record into FILE.db (default: the file's output,\n"
                     "else ./faultline.db or $FAULTLINE_DB)"},
                    {"--seed", 0, true, "seed for every random decision (overrides the file)"},
                    {"--session", 's', true, "session name (default exp-<pid>)"},
                    {"--format", 'f', true, "report format: table (default), json, csv, svg, html"},
                    {"--quiet", 'q', false, "no progress on stderr"}});
    if (!args.parse(argv)) return cli::kOk;
    if (args.positionals().size() != 1) args.usage_error("give one experiment file");
    ReportFormat format = ReportFormat::Table;
    if (auto f = args.get("--format"); f && !parse_report_format(*f, format))
        args.usage_error("--format '" + *f + "': use table, json, csv, svg or html");
    Experiment x = load_experiment(args.positionals()[0], "experiment");
    bool quiet = args.has("--quiet");

    uint64_t seed = x.seed.value_or(0);
    if (auto s = args.get("--seed"))
        seed = cli::parse_count_arg(*s, "experiment", "--seed");
    else if (!x.seed)
        seed = cli::random_seed();
    auto given = args.get("--output");
    if (!given && !x.output.empty()) given = x.output;
    std::string path = recording_path(given, "experiment");
    if (path == "none") fail("experiment", "-o none: an experiment needs its recording to report");

    // The session: ours, or the file's live one. From here on every way out
    // goes through the supervisor's teardown: rules disarmed, what was
    // started stopped, the recording finished, a session of ours removed.
    // Ctrl-C or SIGTERM end the experiment early; it still reports.
    bool created = x.session.empty();
    std::string name =
        args.get("--session").value_or(created ? "exp-" + std::to_string(getpid()) : x.session);
    Supervisor sup("experiment", Supervisor::Signals::Stop);
    if (created) {
        if (!valid_session_name(name)) fail("experiment", "session name '" + name + "': invalid");
        sup.create(name, seed);
        sup.stop_attached_at_end();
    } else {
        sup.join(name);
    }
    Segment& seg = sup.session().segment();

    RecorderOptions rec;
    rec.path = path;
    rec.command = "experiment " + x.path;
    sup.record(rec);
    if (!quiet)
        fprintf(stderr, "faultline: experiment %s: session %s, seed %llu, recording into %s\n",
                x.name.empty() ? x.path.c_str() : x.name.c_str(), name.c_str(),
                (unsigned long long)seg.seed, path.c_str());

    std::string log = log_path(path);
    int log_fd = open_log(log, "experiment " + x.path + ", session " + name);
    fprintf(stderr, "faultline: experiment: the output of its programs and probe goes to %s\n",
            log.c_str());
    sup.arm(x.rules);
    start_processes(sup, x, name, log_fd);
    if (!x.steady.probe.empty()) sup.adopt(start_probe(x, name, log_fd), Children::Kind::Probe);

    bool ended_early = false;
    try {
        ended_early = run_phases(sup, x, quiet);
    } catch (const cli::Failure& f) {
        // A rule that cannot be armed (a joined session's slots full) ends
        // the run: bad input.
        throw cli::Failure{f.what, f.why, cli::kUsage};
    }
    if (ended_early && !quiet)
        fprintf(stderr, "faultline: experiment: the target exited before the last phase ended\n");
    if (sup.stop_signal() && !quiet) fprintf(stderr, "faultline: experiment: interrupted\n");
    sup.finish();

    if (sup.target_failed())
        fprintf(stderr, "faultline: experiment: a target died (see the report's exits)\n");
    return report(x, path, name, format, sup.stop_signal() != 0, sup.target_failed());
}

} // namespace faultline
