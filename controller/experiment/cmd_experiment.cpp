// faultline experiment FILE.toml: starts (or joins) the target, records,
// runs the steady-state probe, walks the phases arming and disarming their
// rules (ramping p where asked), then prints the report and exits 0 when
// every tolerance held, 1 when one deviated, 2 on bad input or an
// inconclusive run (docs/experiments.md).

#include "controller/cli/cli.h"
#include "controller/cli/commands.h"
#include "controller/cli/launcher.h"
#include "controller/cli/pauser.h"
#include "controller/cli/session.h"
#include "controller/experiment/experiment.h"
#include "controller/record/recorder.h"
#include "controller/record/recording_db.h"
#include "controller/report/report_format.h"

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <sys/wait.h>
#include <unistd.h>

namespace faultline {

using cli::fail;

namespace {

volatile sig_atomic_t g_abort = 0;

void on_abort(int) {
    g_abort = 1;
}

// The processes the experiment started, and the probe.
class Children {
  public:
    void add(int pid) { pids_.push_back(pid); }
    void set_probe(int pid) { probe_ = pid; }

    // True while at least one target process runs (reaps the others).
    bool any_alive() {
        bool alive = false;
        for (int& pid : pids_) {
            if (pid <= 0) continue;
            int status;
            if (waitpid(pid, &status, WNOHANG) == pid)
                pid = -1;
            else
                alive = true;
        }
        return alive || pids_.empty();
    }

    // SIGTERM, then SIGKILL after `grace`: nothing outlives the experiment.
    void stop(int64_t grace_ns) {
        if (probe_ > 0) kill(probe_, SIGTERM);
        for (int pid : pids_)
            if (pid > 0) kill(pid, SIGTERM);
        int64_t until = monotonic_ns() + grace_ns;
        for (int& pid : pids_) {
            while (pid > 0) {
                int status;
                if (waitpid(pid, &status, WNOHANG) == pid) {
                    pid = -1;
                } else if (monotonic_ns() >= until) {
                    kill(pid, SIGKILL);
                    waitpid(pid, &status, 0);
                    pid = -1;
                } else {
                    timespec ts{0, 10'000'000};
                    nanosleep(&ts, nullptr);
                }
            }
        }
        if (probe_ > 0) {
            int status;
            waitpid(probe_, &status, 0);
            probe_ = -1;
        }
    }

  private:
    std::vector<int> pids_;
    int probe_ = -1;
};

// Whatever is still attached to a session the experiment created (a
// daemon, or a script's children orphaned when a fault killed the script):
// SIGTERM, then SIGKILL after `grace`. Nothing outlives the experiment.
void stop_attached(Session& s, int64_t grace_ns) {
    auto procs = s.processes();
    if (procs.empty()) return;
    for (auto& p : procs) kill(p.pid, SIGTERM);
    int64_t until = monotonic_ns() + grace_ns;
    while (monotonic_ns() < until && !s.processes().empty()) {
        timespec ts{0, 20'000'000};
        nanosleep(&ts, nullptr);
    }
    for (auto& p : s.processes()) kill(p.pid, SIGKILL);
}

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

int start_probe(const Experiment& x, const std::string& session) {
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
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
}

void say(const char* fmt, const std::string& a, const std::string& b = "") {
    fprintf(stderr, fmt, a.c_str(), b.c_str());
}

// Arms `rules`; returns their ids (all or nothing: throws on failure).
std::vector<uint32_t> arm(Session& s, std::vector<Rule> rules) {
    if (rules.empty()) return {};
    return s.arm(rules, "experiment");
}

void disarm(Session& s, const std::vector<uint32_t>& ids) {
    for (uint32_t id : ids) segment_disarm(&s.segment(), std::to_string(id));
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
    std::string path = recording_path(given);
    if (path == "none") fail("experiment", "-o none: an experiment needs its recording to report");

    // The session: ours, or the file's live one.
    bool created = x.session.empty();
    std::string name =
        args.get("--session").value_or(created ? "exp-" + std::to_string(getpid()) : x.session);
    std::optional<Session> session;
    if (created) {
        if (!valid_session_name(name)) fail("experiment", "session name '" + name + "': invalid");
        session.emplace(Session::create(name, seed, "experiment"));
        session->segment().controller_pid.store(int32_t(getpid()));
    } else {
        session.emplace(Session::open(name, "experiment"));
    }
    Segment& seg = session->segment();
    auto cleanup_created = [&] {
        if (created) {
            segment_disarm_all(&seg);
            seg.controller_pid.store(0);
            if (segment_live_processes(&seg) == 0) segment_unlink(name);
        }
    };

    RecorderOptions rec;
    rec.path = path;
    rec.command = "experiment " + x.path;
    std::unique_ptr<Recorder> recorder;
    try {
        recorder = std::make_unique<Recorder>(seg, rec, "experiment");
    } catch (...) {
        cleanup_created();
        throw;
    }
    if (!quiet)
        fprintf(stderr, "faultline: experiment %s: session %s, seed %llu, recording into %s\n",
                x.name.empty() ? x.path.c_str() : x.name.c_str(), name.c_str(),
                (unsigned long long)seg.seed, path.c_str());

    // Ctrl-C or SIGTERM end the experiment early; it still stops everything
    // it started, disarms, records and reports.
    struct sigaction sa = {};
    sa.sa_handler = on_abort;
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);

    Children children;
    std::vector<uint32_t> whole;
    try {
        whole = arm(*session, x.rules);
        if (!x.processes.empty()) {
            std::string shim = find_shim("experiment");
            for (auto& p : x.processes) {
                std::string program = resolve_program(p.command[0], "experiment");
                if (p.shim)
                    for (auto& w : check_target(program, "experiment"))
                        fprintf(stderr, "faultline: experiment: warning: %s\n", w.c_str());
                sigset_t none;
                sigemptyset(&none);
                // Their output goes to stderr: stdout is the report's.
                LaunchEnv env{shim, name, p.inherit, none, true, p.shim};
                int pid = launch(p.command, env);
                if (pid < 0) fail("experiment", std::string("fork: ") + strerror(errno), 1);
                children.add(pid);
            }
        }
    } catch (...) {
        children.stop(2'000'000'000);
        recorder->finish();
        cleanup_created();
        throw;
    }
    if (!x.steady.probe.empty()) children.set_probe(start_probe(x, name));

    // The phases, each armed at its start and disarmed at its end. A rule
    // that cannot be armed (a joined session's slots full) ends the run, and
    // what was started is still stopped and the session left clean.
    bool ended_early = false;
    try {
        for (const Phase& ph : x.phases) {
            if (g_abort || ended_early) break;
            if (!quiet)
                say("faultline: phase %s (%s)\n", ph.name,
                    ph.rules.empty()
                        ? std::string("no rules")
                        : std::string(ph.rules[0].text) + (ph.rules.size() > 1 ? " ..." : ""));
            int64_t start = monotonic_ns();
            // A GC pause or a VM stall: the session's processes stopped for
            // pause_ns from the phase's start (the probe, outside, goes on).
            pid_t pauser = ph.pause_ns ? start_pause(seg, session->processes(), ph.pause_ns,
                                                     phase_rule_name(ph.name))
                                       : -1;
            unsigned steps = ph.ramp ? ph.ramp->steps : 1;
            for (unsigned k = 0; k < steps && !g_abort && !ended_early; ++k) {
                std::vector<Rule> rules = ph.rules;
                if (ph.ramp) {
                    double p = ph.ramp->from + (ph.ramp->to - ph.ramp->from) * k / (steps - 1);
                    for (Rule& r : rules) r = with_probability(r, p);
                }
                std::vector<uint32_t> ids = arm(*session, rules);
                int64_t step_end = start + ph.duration_ns * int64_t(k + 1) / int64_t(steps);
                while (!g_abort && monotonic_ns() < step_end) {
                    bool more = recorder->poll();
                    if (!children.any_alive()) {
                        ended_early = true;
                        break;
                    }
                    if (more) continue; // behind: no sleep
                    int64_t left = step_end - monotonic_ns();
                    int64_t nap = recorder->poll_interval_ns();
                    timespec ts{0, long(left < nap ? (left > 0 ? left : 0) : nap)};
                    nanosleep(&ts, nullptr);
                }
                disarm(*session, ids);
            }
            if (pauser > 0) {
                end_pause_now(pauser); // the phase was cut short
                waitpid(pauser, nullptr, 0);
            }
        }
    } catch (const cli::Failure& f) {
        disarm(*session, whole);
        children.stop(2'000'000'000);
        recorder->poll();
        recorder->finish();
        cleanup_created();
        throw cli::Failure{f.what, f.why, cli::kUsage};
    }
    if (ended_early && !quiet)
        fprintf(stderr, "faultline: experiment: the target exited before the last phase ended\n");
    if (g_abort && !quiet) fprintf(stderr, "faultline: experiment: interrupted\n");

    disarm(*session, whole);
    children.stop(2'000'000'000);
    if (created) stop_attached(*session, 2'000'000'000);
    recorder->poll();
    recorder->finish();
    cleanup_created();

    Timeline t = load_timeline(path, name, "experiment");
    MetricOptions opt;
    opt.recovery_window_s = x.steady.recovery_window_s;
    Report r = compute_report(t, x.steady.tolerances, opt);
    fputs(format_report(r, format).c_str(), stdout);
    bool deviated = false, inconclusive = g_abort != 0;
    for (auto& w : r.windows) {
        deviated = deviated || w.verdict == "deviated";
        inconclusive = inconclusive || w.verdict == "inconclusive";
    }
    if (deviated) return cli::kCheckFailed;
    if (inconclusive) return cli::kUsage;
    return cli::kOk;
}

} // namespace faultline
