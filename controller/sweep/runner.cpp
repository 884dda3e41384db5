#include "controller/sweep/runner.h"

#include "common/segment.h"
#include "common/site_table.h"
#include "controller/cli/cli.h"
#include "controller/cli/launcher.h"
#include "controller/cli/session.h"
#include "controller/sweep/site_reader.h"
#include "controller/sweep/verdict.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

namespace faultline::sweep {

namespace {

constexpr size_t kStderrKept = 4 << 20; // bytes of a run's stderr searched for a sanitizer
constexpr unsigned kTailLines = 6;

std::string read_head(const std::string& path, size_t cap) {
    std::ifstream in(path, std::ios::binary);
    std::string out(cap, '\0');
    in.read(out.data(), std::streamsize(cap));
    out.resize(size_t(in.gcount()));
    return out;
}

std::string last_lines(const std::string& text, unsigned n) {
    size_t end = text.size();
    while (end && text[end - 1] == '\n') --end;
    size_t start = end;
    for (unsigned k = 0; k < n && start; ++k) {
        size_t nl = text.rfind('\n', start - 1);
        start = nl == std::string::npos ? 0 : nl;
        if (start == 0) break;
    }
    if (start && text[start] == '\n') ++start;
    return text.substr(start, end - start);
}

uint64_t file_size(const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 ? uint64_t(st.st_size) : 0;
}

void sleep_ms(int ms) {
    timespec ts{0, ms * 1'000'000L};
    nanosleep(&ts, nullptr); // a stop signal ends it early: the loop looks again
}

// Opens `path` as fd `target` in a forked child; exits 126 when it cannot.
void redirect(const std::string& path, int flags, int target) {
    int fd = open(path.c_str(), flags | O_CLOEXEC, 0600);
    if (fd < 0 || dup2(fd, target) < 0) _exit(126);
    close(fd);
}

} // namespace

struct Runner::Active {
    size_t run = 0;
    pid_t pid = -1, probe = -1;
    bool ended = false;
    int64_t started = 0, deadline = 0; // deadline 0: none
    std::string session, base;
    std::optional<Session> seg;
    SiteTable* table = nullptr;
    RunResult result;
};

Runner::Runner(const Options& options, std::string shim, StopSignals& stop)
    : options_(options), shim_(std::move(shim)), stop_(stop), children_("sweep", &stop) {
    sigprocmask(SIG_SETMASK, nullptr, &sigmask_);
    const char* tmp = getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/faultline-sweep.XXXXXX";
    if (!mkdtemp(pattern.data()))
        cli::fail("sweep", "cannot create a scratch directory: " + std::string(strerror(errno)),
                  cli::kCheckFailed);
    scratch_ = pattern;
}

Runner::~Runner() {
    children_.stop(0);
    rmdir(scratch_.c_str());
}

bool Runner::start(Active& a, const std::string& rule, uint32_t families) {
    unsigned n = ++sessions_;
    a.session = "sweep-" + std::to_string(getpid()) + "-" + std::to_string(n);
    a.base = scratch_ + "/run-" + std::to_string(n);
    a.seg.emplace(Session::create(a.session, n, "sweep"));
    if (!rule.empty()) {
        std::vector<Rule> rules = parse_rule_texts({rule}, "sweep");
        a.seg->arm(rules, "sweep");
    } else if (!segment_observe_all(&a.seg->segment(), families)) {
        cli::fail("sweep", "cannot open the profile session's families", cli::kCheckFailed);
    }
    std::string table = a.base + ".sites";
    a.table = site_table_create(table.c_str(), rule.empty() ? families : 0);
    if (!a.table) cli::fail("sweep", table + ": " + strerror(errno), cli::kCheckFailed);
    start_child(a, options_.command, &table);
    return true;
}

void Runner::start_shell(Active& a, const std::string& line, bool crash_table) {
    unsigned n = ++sessions_;
    a.base = scratch_ + "/run-" + std::to_string(n);
    std::string table = a.base + ".sites";
    if (crash_table) {
        a.table = site_table_create(table.c_str(), 0);
        if (!a.table) cli::fail("sweep", table + ": " + strerror(errno), cli::kCheckFailed);
    }
    start_child(a, {"/bin/sh", "-c", line}, crash_table ? &table : nullptr);
}

// Forks CMD (under the shim in a.session, or as it is when a.session is
// empty) in a process group of its own, stdin from /dev/null, stdout and
// stderr to a.base's files, FAULTLINE_SWEEP naming `table` when given.
void Runner::start_child(Active& a, const std::vector<std::string>& argv,
                         const std::string* table) {
    LaunchEnv env{shim_, a.session, true, sigmask_, false, true};
    pid_t pid = fork();
    if (pid < 0) cli::fail("sweep", std::string("fork: ") + strerror(errno), cli::kCheckFailed);
    if (pid == 0) {
        setpgid(0, 0); // one group per run: a timeout stops all it started
        redirect("/dev/null", O_RDONLY, 0);
        redirect(a.base + ".out", O_WRONLY | O_CREAT | O_TRUNC, 1);
        redirect(a.base + ".err", O_WRONLY | O_CREAT | O_TRUNC, 2);
        stop_.restore();
        children_.restore_sigchld();
        if (table) setenv("FAULTLINE_SWEEP", table->c_str(), 1);
        if (a.session.empty()) {
            sigprocmask(SIG_SETMASK, &sigmask_, nullptr);
            std::vector<char*> args;
            for (auto& word : argv) args.push_back(const_cast<char*>(word.c_str()));
            args.push_back(nullptr);
            execv(args[0], args.data());
            _exit(127);
        }
        exec_target(argv, env);
    }
    setpgid(pid, pid);
    children_.add(pid, Children::Kind::Target);
    a.pid = pid;
    a.started = monotonic_ns();
}

void Runner::start_probe(Active& a) {
    pid_t pid = fork();
    if (pid < 0) cli::fail("sweep", std::string("fork: ") + strerror(errno), cli::kCheckFailed);
    if (pid == 0) {
        setpgid(0, 0);
        redirect("/dev/null", O_RDONLY, 0);
        redirect(a.base + ".probe", O_WRONLY | O_CREAT | O_TRUNC, 1);
        dup2(1, 2);
        stop_.restore();
        children_.restore_sigchld();
        execl("/bin/sh", "sh", "-c", options_.probe.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    setpgid(pid, pid);
    children_.add(pid, Children::Kind::Probe);
    a.probe = pid;
}

// Collects what the run did, then removes its session and files.
void Runner::finish(Active& a, bool killed, bool timed_out) {
    RunResult& r = a.result;
    if (!a.ended && a.pid > 0) {
        kill(-a.pid, SIGKILL);
        r.status = children_.wait(a.pid);
        a.ended = true;
        r.duration_s = double(monotonic_ns() - a.started) / 1e9;
    }
    if (a.probe > 0) {
        kill(-a.probe, SIGKILL);
        r.probe_status = children_.wait(a.probe);
        r.probe_ran = !killed;
    }
    kill(-a.pid, SIGKILL); // what it left behind in its group
    r.ran = !killed;
    r.timed_out = timed_out;
    r.stdout_bytes = file_size(a.base + ".out");
    std::string err = read_head(a.base + ".err", kStderrKept);
    r.sanitizer = sanitizer_line(err);
    r.stderr_tail = last_lines(err, kTailLines);
    if (a.seg) {
        std::vector<RuleView> rules = a.seg->rules();
        r.injected = rules.empty() ? 0 : rules.front().counters.injected;
    }
    if (a.table) r.crashes = read_crashes(*a.table, symbols_);
}

RunResult Runner::profile(Sweep& sweep, int64_t timeout_ns) {
    Active a;
    start(a, "", options_.families);
    if (timeout_ns) a.deadline = a.started + timeout_ns;
    bool timed_out = false, stopped = false;
    for (;;) {
        if (auto st = children_.poll(a.pid)) {
            a.result.status = *st;
            a.result.duration_s = double(monotonic_ns() - a.started) / 1e9;
            a.ended = true;
            break;
        }
        if (stop_.requested()) {
            stopped = true;
            break;
        }
        if (a.deadline && monotonic_ns() >= a.deadline) {
            timed_out = true;
            break;
        }
        sleep_ms(2);
    }
    finish(a, stopped, timed_out);
    sweep.sites = read_sites(*a.table, symbols_);
    sweep.dropped_sites = a.table->dropped.load();
    for (const Site& s : sweep.sites) sweep.profile_calls += s.calls;
    release(a);
    return a.result;
}

// One look at a run in flight: still going, or how it ended. A CMD that
// ended hands over to the probe, when there is one, with a timeout of its
// own; a probe still running at its deadline is killed and counts as failed.
Runner::Step Runner::step(Active& a, int64_t now, int64_t timeout_ns) {
    if (a.probe > 0) {
        auto st = children_.poll(a.probe);
        if (!st) return now >= a.deadline ? Step::Ended : Step::Running;
        a.result.probe_status = *st;
        a.result.probe_ran = true;
        a.probe = -1;
        return Step::Ended;
    }
    auto st = children_.poll(a.pid);
    if (!st) return now >= a.deadline ? Step::TimedOut : Step::Running;
    a.result.status = *st;
    a.result.duration_s = double(now - a.started) / 1e9;
    a.ended = true;
    if (options_.probe.empty()) return Step::Ended;
    kill(-a.pid, SIGKILL); // the probe checks what CMD left, not its leftovers
    start_probe(a);
    a.deadline = now + timeout_ns;
    return Step::Running;
}

void Runner::release(Active& a) {
    site_table_unmap(a.table);
    for (const char* ext : {".sites", ".out", ".err", ".probe"}) unlink((a.base + ext).c_str());
    if (a.seg) segment_unlink(a.session);
    a.seg.reset();
}

// Why the sweep stops starting runs now, or null.
const char* Runner::stop_reason(int64_t now, int64_t started_ns) const {
    if (stop_.requested()) return "signal";
    if (options_.budget_ns && now - started_ns >= options_.budget_ns) return "budget";
    return nullptr;
}

void Runner::run_all(Sweep& sweep, int64_t started_ns,
                     const std::function<void(size_t run, size_t count)>& progress) {
    std::vector<std::unique_ptr<Active>> active;
    size_t next = 0, done = 0;
    auto complete = [&](size_t i, bool killed, bool timed_out) {
        Active& a = *active[i];
        finish(a, killed, timed_out);
        size_t run = a.run;
        sweep.runs[run].result = std::move(a.result);
        release(a);
        active.erase(active.begin() + long(i));
        if (!killed) progress(run, ++done);
    };
    try {
        for (;;) {
            if (const char* stop = stop_reason(monotonic_ns(), started_ns)) {
                sweep.stopped_by = stop_.requested() ? signal_name(stop_.received()) : stop;
                while (!active.empty()) complete(active.size() - 1, true, false);
                break;
            }
            while (active.size() < std::max(1u, options_.jobs) && next < sweep.runs.size()) {
                if (options_.max_runs && next >= options_.max_runs) {
                    sweep.stopped_by = "max-runs";
                    break;
                }
                auto a = std::make_unique<Active>();
                a->run = next;
                const Run& run = sweep.runs[next++];
                if (run.shell.empty())
                    start(*a, run.rule, 0);
                else
                    start_shell(*a, run.shell, run.crash_table);
                a->deadline = a->started + sweep.timeout_ns;
                active.push_back(std::move(a));
            }
            if (active.empty()) break;
            int64_t now = monotonic_ns();
            for (size_t i = active.size(); i-- > 0;) {
                Step st = step(*active[i], now, sweep.timeout_ns);
                if (st != Step::Running) complete(i, false, st == Step::TimedOut);
            }
            sleep_ms(1);
        }
    } catch (...) {
        for (auto& a : active) {
            if (a->pid > 0) kill(-a->pid, SIGKILL);
            if (a->probe > 0) kill(-a->probe, SIGKILL);
            release(*a);
        }
        throw;
    }
}

} // namespace faultline::sweep
