// Recording and reporting (docs/recording.md): record, mark, probe, report.

#include "controller/cli/cli.h"
#include "controller/cli/commands.h"
#include "controller/cli/session.h"
#include "controller/cli/stop_signals.h"
#include "controller/record/recorder.h"
#include "controller/record/recording_db.h"
#include "controller/report/metrics.h"
#include "controller/report/report_format.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace faultline {

using cli::fail;

namespace {

void sleep_ns(int64_t ns) {
    if (ns <= 0) return;
    timespec ts{time_t(ns / 1000000000), long(ns % 1000000000)};
    nanosleep(&ts, nullptr); // a stop signal cuts it short: the loop looks
}

// The session is over when nothing attached to it lives any more and the
// run that created it has gone.
bool session_over(const Segment& seg) {
    return segment_is_stale(&seg);
}

} // namespace

// -- record -----------------------------------------------------------------------

int cmd_record(const Argv& argv) {
    cli::Args args(
        "record", "-s NAME [-o FILE.db] [--sample DUR] [--for DUR]",
        "Records a session started elsewhere (by FAULTLINE_SESSION, or a 'run -o none')\n"
        "into FILE.db (default ./faultline.db, or $FAULTLINE_DB) until the session\n"
        "ends, --for elapses, or SIGINT/SIGTERM.",
        {{"--session", 's', true, "session (default: $FAULTLINE_SESSION)"},
         {"--output", 'o', true, "the SQLite file to record into"},
         {"--sample", 0, true, "counter sampling period (default 100ms)"},
         {"--for", 0, true, "stop after this long"}});
    if (!args.parse(argv)) return cli::kOk;
    if (!args.positionals().empty()) args.usage_error("unexpected '" + args.positionals()[0] + "'");
    RecorderOptions opt;
    opt.path = recording_path(args.get("--output"), "record");
    if (opt.path == "none") args.usage_error("-o none: record needs a file");
    if (auto d = args.get("--sample"))
        opt.sample_ns = cli::parse_duration_arg(*d, "record", "--sample");
    int64_t limit = 0;
    if (auto d = args.get("--for")) limit = cli::parse_duration_arg(*d, "record", "--for");
    opt.command = "(recorded by faultline record)";
    Session session = Session::open(cli::session_name(args, "record"), "record");
    Segment& seg = session.segment();
    StopSignals stop; // SIGINT, SIGTERM, SIGHUP end the loop cleanly
    Recorder recorder(seg, opt, "record");
    int64_t start = monotonic_ns(), last_check = 0;
    while (!stop.requested()) {
        bool more = recorder.poll();
        int64_t now = monotonic_ns();
        if (limit && now - start >= limit) break;
        if (now - last_check >= 100'000'000) {
            last_check = now;
            if (session_over(seg)) break;
        }
        if (!more) sleep_ns(recorder.poll_interval_ns()); // behind: no sleep
    }
    recorder.finish();
    return cli::kOk;
}

// -- mark ------------------------------------------------------------------------------

int cmd_mark(const Argv& argv) {
    cli::Args args("mark", "-s NAME [--duration DUR] ok|fail [LABEL]",
                   "Records an outcome from a script: one operation that succeeded or failed,\n"
                   "and with --duration how long it took. The report's success rate, throughput\n"
                   "and (with durations) latency come from marks and probes when a session has\n"
                   "any. Marks wait in the session until its recorder stores them.",
                   {{"--session", 's', true, "session (default: $FAULTLINE_SESSION)"},
                    {"--duration", 'd', true, "how long the operation took (e.g. 12.5ms)"}});
    if (!args.parse(argv)) return cli::kOk;
    auto& pos = args.positionals();
    if (pos.empty()) args.usage_error("say ok or fail");
    if (pos.size() > 2) args.usage_error("unexpected '" + pos[2] + "' (quote a label with spaces)");
    bool ok = pos[0] == "ok";
    if (!ok && pos[0] != "fail") args.usage_error("'" + pos[0] + "': say ok or fail");
    std::string label = pos.size() > 1 ? pos[1] : "";
    int64_t took = -1;
    if (auto d = args.get("--duration")) took = cli::parse_duration_arg(*d, "mark", "--duration");
    Session session = Session::open(cli::session_name(args, "mark"), "mark");
    if (!segment_push_outcome(&session.segment(), ok, OutcomeKind::Mark, 0, took, label))
        fail("mark", "the session's outcome buffer is full (no recorder draining it?)",
             cli::kCheckFailed);
    return cli::kOk;
}

// -- probe ------------------------------------------------------------------------------

namespace {

// Starts `argv` in its own process group without the shim: a probe measures
// the service from outside and is never faulted itself.
pid_t start_probe(const Argv& argv) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    setpgid(0, 0);
    cli::restore_inherited_signals();
    if (const char* pre = getenv("LD_PRELOAD")) {
        std::string kept, list = pre;
        size_t start = 0;
        while (start <= list.size()) {
            size_t end = list.find_first_of(": ", start);
            if (end == std::string::npos) end = list.size();
            std::string item = list.substr(start, end - start);
            if (!item.empty() && item.find("libfaultline") == std::string::npos)
                kept += (kept.empty() ? "" : ":") + item;
            start = end + 1;
        }
        if (kept.empty())
            unsetenv("LD_PRELOAD");
        else
            setenv("LD_PRELOAD", kept.c_str(), 1);
    }
    unsetenv("FAULTLINE_RULES");
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    dprintf(2, "faultline: probe: %s: %s\n", argv[0].c_str(), strerror(errno));
    _exit(127);
}

struct ProbeResult {
    bool ok = false, timed_out = false;
    int exit_code = 0;
    int64_t duration_ns = 0;
};

// Runs one probe: waits for it (a pidfd, so the duration is exact) up to
// `timeout`, then kills its process group.
ProbeResult run_probe(const Argv& argv, int64_t timeout, const StopSignals& stop) {
    ProbeResult r;
    int64_t start = monotonic_ns();
    pid_t pid = start_probe(argv);
    if (pid < 0) return r;
    int pidfd = int(syscall(SYS_pidfd_open, pid, 0));
    int status = 0;
    // A wait that fails (ECHILD: someone else reaped it) gives no status:
    // the run failed, it never passed with a 0 read from nowhere.
    bool reaped = false;
    auto reap = [&](int flags) {
        pid_t w;
        while ((w = waitpid(pid, &status, flags)) < 0 && errno == EINTR) {
        }
        reaped = reaped || w == pid;
        return w;
    };
    for (;;) {
        int64_t left = start + timeout - monotonic_ns();
        if (left <= 0) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            r.timed_out = true;
            reap(0);
            break;
        }
        if (pidfd >= 0) {
            pollfd p{pidfd, POLLIN, 0};
            int ms = int((left + 999999) / 1000000);
            poll(&p, 1, ms);
        } else {
            sleep_ns(left < 1000000 ? left : 1000000);
        }
        pid_t w = reap(WNOHANG);
        if (w == pid || w < 0) break;
        if (stop.requested()) {
            kill(-pid, SIGTERM);
            reap(0);
            break;
        }
    }
    r.duration_ns = monotonic_ns() - start;
    if (pidfd >= 0) close(pidfd);
    if (!reaped) {
        fprintf(stderr, "faultline: probe: waiting for process %d: %s: recorded as failed\n",
                int(pid), strerror(errno));
        r.exit_code = 255;
        return r;
    }
    r.exit_code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    r.ok = !r.timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    return r;
}

} // namespace

int cmd_probe(const Argv& argv) {
    cli::Args args("probe", "-s NAME [--every DUR] [--timeout DUR] [--count N] -- CMD [ARG...]",
                   "The steady-state probe: runs CMD (without the shim) every DUR (default 1s)\n"
                   "until the session ends, --count runs, or SIGINT/SIGTERM. Each run is an\n"
                   "outcome: success when CMD exits 0 within the timeout (default: the period),\n"
                   "with its duration. The report's success rate and latency come from probes.",
                   {{"--session", 's', true, "session (default: $FAULTLINE_SESSION)"},
                    {"--every", 0, true, "period between starts (default 1s)"},
                    {"--timeout", 0, true, "a run longer than this fails (default: the period)"},
                    {"--count", 0, true, "stop after N runs"},
                    {"--verbose", 'v', false, "print each result on stderr"}});
    if (!args.parse(argv, true)) return cli::kOk;
    if (!args.positionals().empty())
        args.usage_error("unexpected '" + args.positionals()[0] + "': put the command after --");
    Argv command = args.after_dashes();
    if (command.empty()) args.usage_error("no command given after --");
    int64_t every = 1'000'000'000;
    if (auto d = args.get("--every")) every = cli::parse_duration_arg(*d, "probe", "--every");
    if (every <= 0) fail("probe", "--every must be longer than 0");
    int64_t timeout = every;
    if (auto d = args.get("--timeout")) timeout = cli::parse_duration_arg(*d, "probe", "--timeout");
    if (timeout <= 0) fail("probe", "--timeout must be longer than 0");
    uint64_t count = 0;
    if (auto c = args.get("--count")) count = cli::parse_count_arg(*c, "probe", "--count");
    bool verbose = args.has("--verbose");
    Session session = Session::open(cli::session_name(args, "probe"), "probe");
    Segment& seg = session.segment();
    StopSignals stop; // SIGINT, SIGTERM, SIGHUP end the loop cleanly
    int64_t next = monotonic_ns();
    for (uint64_t n = 0; !stop.requested() && (!count || n < count); ++n) {
        if (session_over(seg)) break;
        ProbeResult r = run_probe(command, timeout, stop);
        if (stop.requested()) break; // cut short by us: not an outcome of the service
        segment_push_outcome(&seg, r.ok, OutcomeKind::Probe, r.exit_code, r.duration_ns,
                             r.timed_out ? "timeout" : "");
        if (verbose)
            fprintf(stderr, "faultline: probe: %s in %.1f ms (exit %d%s)\n", r.ok ? "ok" : "fail",
                    double(r.duration_ns) / 1e6, r.exit_code, r.timed_out ? ", timed out" : "");
        if (count && n + 1 >= count) break;
        next += every;
        int64_t now = monotonic_ns();
        if (next < now) next = now; // a run longer than the period: start again at once
        while (!stop.requested() && monotonic_ns() < next) sleep_ns(next - monotonic_ns());
    }
    return cli::kOk;
}

} // namespace faultline
