// faultline run: create or join a session, arm rules, start the target under
// the shim, wait, disarm, exit with the target's status (README.md,
// "Commands").

#include "controller/cli/cli.h"
#include "controller/cli/commands.h"
#include "controller/cli/launcher.h"
#include "controller/cli/session.h"
#include "controller/experiment/experiment.h"
#include "controller/record/recorder.h"

#include <cerrno>
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

volatile sig_atomic_t g_child = 0;

void forward_signal(int sig) {
    if (g_child > 0) kill(g_child, sig);
}

std::string command_line(const Argv& command) {
    std::string s;
    for (auto& a : command) s += (s.empty() ? "" : " ") + a;
    return s;
}

// Waits for `pid`, letting the recorder drain and sample meanwhile. A
// status that cannot be had is a failure, never a success (docs/pitfalls.md
// item 24: a lost status read as 0 turns a failed test green).
int wait_recording(int pid, Recorder* recorder) {
    int status = 0;
    for (;;) {
        int r = waitpid(pid, &status, recorder ? WNOHANG : 0);
        if (r == pid) return status;
        if (r < 0 && errno != EINTR) {
            fprintf(stderr, "faultline: run: waitpid: %s: the command's exit status is lost\n",
                    strerror(errno));
            return W_EXITCODE(cli::kCheckFailed, 0);
        }
        if (recorder && r == 0) {
            if (recorder->poll()) continue; // behind: no sleep
            timespec ts{0, recorder->poll_interval_ns()};
            nanosleep(&ts, nullptr);
        }
    }
}

} // namespace

int cmd_run(const Argv& argv) {
    cli::Args args(
        "run",
        "[-s NAME] [-r RULE]... [-c FILE.toml] [-o FILE.db|none] [--seed N] [--no-inherit] "
        "-- CMD "
        "[ARG...]",
        "Starts CMD under the shim in session NAME (default fl-<pid>), arms the rules,\n"
        "records the session into FILE.db (default ./faultline.db, or $FAULTLINE_DB)\n"
        "while CMD runs, and exits with CMD's status (128+N when killed by signal N).\n"
        "A live session NAME is joined: its rules stay, yours are added, and the run\n"
        "that created it records.",
        {{"--session", 's', true, "session name (joined when it is live)"},
         {"--rule", 'r', true, "arm RULE (repeatable; 'A; B' holds several)"},
         {"--config", 'c', true, "rules from a TOML file: its top-level 'rules' array"},
         {"--output", 'o', true, "record into FILE.db; 'none' records nothing"},
         {"--sample", 0, true, "counter sampling period (default 100ms)"},
         {"--seed", 0, true, "seed for every random decision (printed with -v)"},
         {"--no-inherit", 0, false, "children and exec'd programs run without the shim"},
         {"--verbose", 'v', false, "print the session, seed and rule ids on stderr"}});
    if (!args.parse(argv, true)) return cli::kOk;
    if (!args.positionals().empty())
        args.usage_error("unexpected '" + args.positionals()[0] + "': put the command after --");
    Argv command = args.after_dashes();
    if (command.empty()) args.usage_error("no command given after --");
    std::vector<Rule> rules;
    if (auto file = args.get("--config")) rules = load_rules_file(*file, "run");
    for (Rule& r : parse_rule_texts(args.all("--rule"), "run")) rules.push_back(r);
    if (rules.size() > kMaxRules) fail("run", "too many rules (63 at most)");
    std::string name = args.get("--session").value_or("fl-" + std::to_string(getpid()));
    if (!valid_session_name(name))
        fail("run", "session name '" + name + "': use letters, digits, '_', '-' and '.'");
    uint64_t seed = args.has("--seed") ? cli::parse_count_arg(*args.get("--seed"), "run", "--seed")
                                       : cli::random_seed();
    bool verbose = args.has("--verbose");
    RecorderOptions rec;
    rec.path = recording_path(args.get("--output"));
    rec.command = command_line(command);
    if (auto d = args.get("--sample"))
        rec.sample_ns = cli::parse_duration_arg(*d, "run", "--sample");

    std::string shim = find_shim("run");
    std::string program = resolve_program(command[0], "run");
    for (auto& w : check_target(program, "run"))
        fprintf(stderr, "faultline: run: warning: %s\n", w.c_str());

    // Create, or join a live session, or replace a stale one.
    bool created = true;
    std::optional<Session> session;
    SegmentError err;
    if (Segment* existing = segment_open(name, err)) {
        bool stale = segment_is_stale(existing);
        segment_unmap(existing);
        if (stale) {
            segment_unlink(name);
        } else {
            session.emplace(Session::open(name, "run"));
            created = false;
            if (args.has("--seed") && session->segment().seed != seed)
                fprintf(stderr,
                        "faultline: run: warning: joined session '%s' keeps its seed %llu\n",
                        name.c_str(), (unsigned long long)session->segment().seed);
        }
    } else if (err != SegmentError::NotFound) {
        fail("run", "session '" + name + "': " + segment_error_text(err));
    }
    if (!session) session.emplace(Session::create(name, seed, "run"));
    Segment& seg = session->segment();
    if (created) seg.controller_pid.store(int32_t(getpid()));

    std::vector<uint32_t> ids;
    try {
        ids = session->arm(rules, "run");
    } catch (...) {
        if (created) segment_unlink(name);
        throw;
    }
    // The run that created the session records it, from before the target
    // starts: the baseline is part of the recording.
    std::unique_ptr<Recorder> recorder;
    if (created && rec.path != "none") {
        try {
            recorder = std::make_unique<Recorder>(seg, rec, "run");
        } catch (...) {
            segment_unlink(name);
            throw;
        }
    } else if (!created && args.has("--output") && rec.path != "none") {
        fprintf(stderr,
                "faultline: run: warning: session '%s' is recorded by the run that "
                "created it; -o ignored\n",
                name.c_str());
    }
    if (verbose) {
        fprintf(stderr, "faultline: session %s (%s), seed %llu\n", name.c_str(),
                created ? "created" : "joined", (unsigned long long)seg.seed);
        if (recorder) fprintf(stderr, "faultline: recording into %s\n", rec.path.c_str());
        for (size_t i = 0; i < ids.size(); ++i)
            fprintf(stderr, "faultline: rule %u %s: %s\n", ids[i], rules[i].name, rules[i].text);
    }

    // Ctrl-C reaches the whole foreground group: the target gets it itself,
    // with the dispositions we were given (the child's are set before ours
    // change: signals stay blocked across the fork, restored in the child).
    sigset_t block, saved;
    sigemptyset(&block);
    for (int sig : {SIGINT, SIGQUIT, SIGTERM, SIGHUP}) sigaddset(&block, sig);
    sigprocmask(SIG_BLOCK, &block, &saved);
    LaunchEnv env{shim, name, !args.has("--no-inherit"), saved};
    int pid = launch(command, env);
    int fork_errno = errno;
    g_child = pid;
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    struct sigaction sa = {};
    sa.sa_handler = forward_signal;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGHUP, &sa, nullptr);
    sigprocmask(SIG_SETMASK, &saved, nullptr);
    if (pid < 0) fail("run", std::string("fork: ") + strerror(fork_errno), cli::kCheckFailed);
    int status = wait_recording(pid, recorder.get());

    // Disarm: everything when the session is ours, our rules when joined.
    if (created) {
        segment_disarm_all(&seg);
        if (recorder) recorder->finish(); // after disarming: retirements recorded
        seg.controller_pid.store(0);
        if (segment_live_processes(&seg) == 0) segment_unlink(name);
    } else {
        for (uint32_t id : ids) segment_disarm(&seg, std::to_string(id));
    }
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

} // namespace faultline
