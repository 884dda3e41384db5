// faultline sweep: every unhandled error path of a program, found and
// reproduced (docs/sweep.md). Profile, plan, run, classify, report.

#include "controller/cli/cli.h"
#include "controller/cli/commands.h"
#include "controller/cli/launcher.h"
#include "controller/cli/stop_signals.h"
#include "controller/record/recorder.h"
#include "controller/sweep/plan.h"
#include "controller/sweep/runner.h"
#include "controller/sweep/sweep_format.h"
#include "controller/sweep/sweep_store.h"
#include "controller/sweep/verdict.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace faultline {

using cli::fail;

namespace {

using namespace sweep;

constexpr int64_t kMinTimeoutNs = 2'000'000'000;

uint32_t parse_families(const std::string& text) {
    uint32_t out = 0;
    size_t at = 0;
    while (at <= text.size()) {
        size_t comma = text.find(',', at);
        std::string name = text.substr(at, comma == std::string::npos ? comma : comma - at);
        if (name == "mem")
            out |= 1u << unsigned(Family::Mem);
        else if (name == "net")
            out |= 1u << unsigned(Family::Net);
        else if (name == "db")
            out |= 1u << unsigned(Family::Db) | 1u << unsigned(Family::Vfs);
        else
            fail("sweep", "-f: unknown family '" + name + "' (mem, net, db)");
        if (comma == std::string::npos) break;
        at = comma + 1;
    }
    return out;
}

// false when --help was printed; bad options throw cli::Failure.
bool parse_options(const Argv& argv, Options& o) {
    cli::Args args(
        "sweep",
        "[-f mem,net,db] [--mode once|persistent] [-j N] [--timeout DUR] [--budget DUR] "
        "[--max-runs N] [--probe CMD] [-o FILE.db|none] [--format table|json|html] -- CMD "
        "[ARG...]",
        "Runs CMD once without faults to find every failure site it reaches (a hooked\n"
        "function and the stack that called it), then once per site with that site\n"
        "failed, and reports the runs that crashed, hung, tripped a sanitizer or failed\n"
        "the probe, each with a `faultline run` line that reproduces it. Exit 0 when\n"
        "nothing was found, 1 when something was, 2 on bad input.",
        {{"--families", 'f', true, "families to sweep: mem, net, db (default all)"},
         {"--mode", 0, true, "once: fail the site's first call (default); persistent: every call"},
         {"--jobs", 'j', true, "runs at once (default: the CPU count)"},
         {"--timeout", 0, true, "per run (default 10x the profile's duration, at least 2s)"},
         {"--budget", 0, true, "stop starting runs after this long; report what was done"},
         {"--max-runs", 0, true, "at most N runs"},
         {"--probe", 0, true, "sh -c CMD after each run; failing marks the run probe-failed"},
         {"--output", 'o', true, "record the sweep into FILE.db (default ./faultline.db); none"},
         {"--format", 0, true, "table (default), json or html"},
         {"--verbose", 'v', false, "print every run's outcome on stderr"}});
    if (!args.parse(argv, true)) return false;
    if (!args.positionals().empty())
        args.usage_error("unexpected '" + args.positionals()[0] + "': put the command after --");
    o.command = args.after_dashes();
    if (o.command.empty()) args.usage_error("no command given after --");
    o.families = parse_families(args.get("--families").value_or("mem,net,db"));
    std::string mode = args.get("--mode").value_or("once");
    if (mode != "once" && mode != "persistent")
        fail("sweep", "--mode: '" + mode + "': once or persistent");
    o.mode = mode == "once" ? Mode::Once : Mode::Persistent;
    unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
    o.jobs = args.has("--jobs") ? unsigned(cli::parse_count_arg(*args.get("--jobs"), "sweep", "-j"))
                                : cpus;
    if (o.jobs < 1 || o.jobs > 256) fail("sweep", "-j: 1 to 256 runs at once");
    if (auto t = args.get("--timeout"))
        o.timeout_ns = cli::parse_duration_arg(*t, "sweep", "--timeout");
    if (args.has("--timeout") && o.timeout_ns <= 0)
        fail("sweep", "--timeout: must be longer than 0");
    if (auto b = args.get("--budget"))
        o.budget_ns = cli::parse_duration_arg(*b, "sweep", "--budget");
    if (args.has("--budget") && o.budget_ns <= 0) fail("sweep", "--budget: must be longer than 0");
    if (auto m = args.get("--max-runs"))
        o.max_runs = cli::parse_count_arg(*m, "sweep", "--max-runs");
    if (args.has("--max-runs") && o.max_runs == 0) fail("sweep", "--max-runs: at least 1");
    o.probe = args.get("--probe").value_or("");
    if (args.has("--probe") && o.probe.empty()) fail("sweep", "--probe: empty command");
    o.output = recording_path(args.get("--output"), "sweep");
    o.format = args.get("--format").value_or("table");
    if (!valid_format(o.format)) fail("sweep", "--format: '" + o.format + "': table, json or html");
    o.verbose = args.has("--verbose");
    return true;
}

std::string duration_text(double s) {
    char b[32];
    if (s < 90)
        snprintf(b, sizeof b, "%.0f s", s);
    else
        snprintf(b, sizeof b, "%.0f min", s / 60);
    return b;
}

// Progress on stderr: rewritten in place on a terminal, a line every 10 s
// otherwise.
class Progress {
  public:
    explicit Progress(const Sweep& s) : sweep_(s), tty_(isatty(2)) {}

    void update(size_t done, int64_t started_ns, bool last = false) {
        int64_t now = monotonic_ns();
        if (!last && now - shown_ns_ < (tty_ ? 250'000'000 : 10'000'000'000)) return;
        shown_ns_ = now;
        size_t total = sweep_.runs.size();
        if (sweep_.options.max_runs) total = std::min<size_t>(total, sweep_.options.max_runs);
        size_t found = 0;
        for (const Run& r : sweep_.runs)
            found += r.result.ran && r.outcome != sweep::Outcome::Handled &&
                     r.outcome != sweep::Outcome::Unreached;
        double elapsed = double(now - started_ns) / 1e9;
        double left = done ? elapsed / double(done) * double(total - done) : 0;
        fprintf(stderr, "%sfaultline: sweep: %zu/%zu runs, %zu found, %s left%s", tty_ ? "\r" : "",
                done, total, found, done ? duration_text(left).c_str() : "?",
                tty_ && !last ? "   " : "\n");
        if (tty_ && last) fflush(stderr);
    }

  private:
    const Sweep& sweep_;
    bool tty_;
    int64_t shown_ns_ = 0;
};

// Did the reproducer's run end as the finding says? Its status is faultline
// run's: 128+N when its target died of signal N; timeout(1)'s 124 for a hang.
bool ends_as(const Finding& f, const RunResult& r) {
    int st = r.status;
    switch (f.outcome) {
    case sweep::Outcome::Hung:
        return r.timed_out || (WIFEXITED(st) && WEXITSTATUS(st) == 124);
    case sweep::Outcome::Crashed:
        if (WIFEXITED(st) && WEXITSTATUS(st) == 128 + f.signal) return true;
        if (WIFSIGNALED(st) && WTERMSIG(st) == f.signal) return true;
        for (const Crash& c : r.crashes)
            if (c.signal == f.signal) return true;
        return false;
    case sweep::Outcome::Sanitizer:
        return !r.sanitizer.empty();
    case sweep::Outcome::ProbeFailed:
        return r.probe_ran && !(WIFEXITED(r.probe_status) && WEXITSTATUS(r.probe_status) == 0);
    default:
        return false;
    }
}

// Runs each finding's reproducer as printed, by sh, in the same directory,
// stdin from /dev/null: what a user who copies it will see. Only a crash no
// exit status shows (a child's) is watched through a site table.
void check_findings(Sweep& s, Runner& runner) {
    if (s.findings.empty()) return;
    fprintf(stderr, "faultline: sweep: running the %zu reproducers\n", s.findings.size());
    Sweep again;
    again.options = s.options;
    again.options.max_runs = 0;
    again.options.budget_ns = 0;
    again.sites = s.sites;
    again.timeout_ns = s.timeout_ns + 10'000'000'000; // timeout(1) -k 5 and faultline's own
    for (const Finding& f : s.findings) {
        const Run& first = s.runs[f.runs.front()];
        Run r;
        r.site = first.site;
        r.rule = first.rule;
        r.shell = f.reproduce;
        r.crash_table = f.outcome == sweep::Outcome::Crashed && !WIFSIGNALED(first.result.status);
        again.runs.push_back(std::move(r));
    }
    runner.run_all(again, monotonic_ns(), [](size_t, size_t) {});
    for (size_t i = 0; i < s.findings.size(); ++i) {
        Finding& f = s.findings[i];
        const RunResult& r = again.runs[i].result;
        if (!r.ran) continue; // stopped meanwhile
        f.checked = true;
        f.reproduced = ends_as(f, r);
        f.again = r.timed_out ? "still running after " +
                                    std::to_string(again.timeout_ns / 1'000'000'000) + " s"
                              : status_text(r.status);
        for (const Crash& c : r.crashes)
            if (!WIFSIGNALED(r.status))
                f.again += ", " + c.comm + " (pid " + std::to_string(c.pid) + ") killed by " +
                           signal_name(c.signal);
    }
}

} // namespace

int cmd_sweep(const Argv& argv) {
    Sweep s;
    if (!parse_options(argv, s.options)) return cli::kOk;
    const Options& o = s.options;
    std::string shim = find_shim("sweep");
    std::string program = resolve_program(o.command[0], "sweep");
    for (auto& w : check_target(program, "sweep"))
        fprintf(stderr, "faultline: sweep: warning: %s\n", w.c_str());

    StopSignals stop;
    Runner runner(o, shim, stop);
    int64_t started = monotonic_ns();
    fprintf(stderr, "faultline: sweep: profiling %s\n", o.command[0].c_str());
    s.profile = runner.profile(s, o.timeout_ns ? o.timeout_ns : o.budget_ns);
    if (stop.requested()) fail("sweep", "stopped while profiling: nothing to report", 130);
    if (s.profile.timed_out)
        fail("sweep", "the profile run did not end within the timeout: sweep needs a program "
                      "that ends by itself (for a server, sweep a client script against it)");
    if (WIFSIGNALED(s.profile.status) || !s.profile.crashes.empty())
        fail("sweep", "'" + o.command[0] + "' dies without any fault (" +
                          status_text(s.profile.status) + "): nothing to compare with");
    if (!WIFEXITED(s.profile.status) || WEXITSTATUS(s.profile.status) != 0)
        fprintf(stderr, "faultline: sweep: note: without faults '%s' ends with %s\n",
                o.command[0].c_str(), status_text(s.profile.status).c_str());

    s.timeout_ns = o.timeout_ns ? o.timeout_ns
                                : std::max(kMinTimeoutNs, int64_t(s.profile.duration_s * 10 * 1e9));
    for (size_t i = 0; i < s.sites.size(); ++i) {
        std::string rule = failing_rule(s.sites[i], o.mode);
        if (rule.empty()) {
            s.skipped.push_back(i);
            continue;
        }
        Run r;
        r.site = i;
        r.rule = rule;
        s.runs.push_back(std::move(r));
    }
    fprintf(stderr, "faultline: sweep: %zu sites, %zu runs, -j %u, timeout %.1f s per run\n",
            s.sites.size(), s.runs.size(), o.jobs, double(s.timeout_ns) / 1e9);

    Progress progress(s);
    runner.run_all(s, started, [&](size_t run, size_t done) {
        Run& r = s.runs[run];
        r.outcome = classify(r.result);
        if (o.verbose)
            fprintf(stderr, "faultline: sweep: %s: %s\n", r.rule.c_str(), outcome_name(r.outcome));
        progress.update(done, started);
    });
    size_t done = 0;
    for (const Run& r : s.runs) done += r.result.ran;
    progress.update(done, started, true);
    s.interrupted = !s.stopped_by.empty();
    s.elapsed_s = double(monotonic_ns() - started) / 1e9;
    s.faultline = self_command();
    s.findings = find(s);
    if (!s.interrupted) check_findings(s, runner);

    if (o.output != "none") store_sweep(s, o.output);
    fputs(format_sweep(s, o.format).c_str(), stdout);
    fflush(stdout);
    if (!s.findings.empty()) return cli::kCheckFailed;
    // Stopped by a signal with nothing found: not a clean bill of health.
    return stop.requested() ? 128 + stop.received() : cli::kOk;
}

} // namespace faultline
