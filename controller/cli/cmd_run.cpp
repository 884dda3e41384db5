// faultline run: create or join a session, arm rules, start the target under
// the shim, wait, disarm, exit with the target's status (README.md,
// "Commands").

#include "controller/cli/cli.h"
#include "controller/cli/commands.h"
#include "controller/cli/launcher.h"
#include "controller/cli/supervisor.h"
#include "controller/experiment/experiment.h"
#include "controller/record/recorder.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace faultline {

using cli::fail;

namespace {

std::string command_line(const Argv& command) {
    std::string s;
    for (auto& a : command) s += (s.empty() ? "" : " ") + a;
    return s;
}

// What `run` was asked to do: its command line, parsed and checked.
struct RunOptions {
    Argv command;
    std::vector<Rule> rules;
    std::string session;
    uint64_t seed = 0;
    bool seed_given = false;   // --seed: a joined session's own seed is kept, with a warning
    bool output_given = false; // -o: ignored, with a warning, when the session is joined
    bool inherit = true;
    bool client = false; // --client: joins a live session as its load, never faulted
    bool verbose = false;
    RecorderOptions rec;
};

// false when --help was printed; bad options and rules throw cli::Failure.
bool parse_run_options(const Argv& argv, RunOptions& o) {
    cli::Args args(
        "run",
        "[-s NAME] [-r RULE]... [-c FILE.toml] [-o FILE.db|none] [--seed N] [--no-inherit] "
        "[--client] -- CMD [ARG...]",
        "Starts CMD under the shim in session NAME (default fl-<pid>), arms the rules,\n"
        "records the session into FILE.db (default ./faultline.db, or $FAULTLINE_DB)\n"
        "while CMD runs, and exits with CMD's status (128+N when killed by signal N).\n"
        "A live session NAME is joined: its rules stay, yours are added, and the run\n"
        "that created it records.\n"
        "--client starts CMD in the live session NAME as a client: never faulted,\n"
        "observed; its network exchanges (a request and its response) become the\n"
        "session's operations, so that a load generator (ab, wrk, redis-benchmark,\n"
        "a curl loop) is both the load and the measure. It records the session\n"
        "when nobody does.",
        {{"--session", 's', true, "session name (joined when it is live)"},
         {"--rule", 'r', true, "arm RULE (repeatable; 'A; B' holds several)"},
         {"--config", 'c', true, "rules from a TOML file: its top-level 'rules' array"},
         {"--output", 'o', true, "record into FILE.db; 'none' records nothing"},
         {"--sample", 0, true, "counter sampling period (default 100ms)"},
         {"--seed", 0, true, "seed for every random decision (printed with -v)"},
         {"--no-inherit", 0, false, "children and exec'd programs run without the shim"},
         {"--client", 0, false, "CMD is a client of the live session NAME (never faulted)"},
         {"--verbose", 'v', false, "print the session, seed and rule ids on stderr"}});
    if (!args.parse(argv, true)) return false;
    if (!args.positionals().empty())
        args.usage_error("unexpected '" + args.positionals()[0] + "': put the command after --");
    o.command = args.after_dashes();
    if (o.command.empty()) args.usage_error("no command given after --");
    if (auto file = args.get("--config")) o.rules = load_rules_file(*file, "run");
    for (Rule& r : parse_rule_texts(args.all("--rule"), "run")) o.rules.push_back(r);
    if (o.rules.size() > kMaxRules) fail("run", "too many rules (63 at most)");
    o.client = args.has("--client");
    if (o.client && !o.rules.empty())
        fail("run", "--client: a client is never faulted; arm rules in the session "
                    "(faultline enable -s NAME RULE, or the target's run)");
    const char* env_session = getenv("FAULTLINE_SESSION");
    if (o.client && !args.has("--session") && !(env_session && *env_session))
        args.usage_error("--client: name the live session to join (-s NAME)");
    if (auto s = args.get("--session"))
        o.session = *s;
    else
        o.session = o.client ? std::string(env_session) : "fl-" + std::to_string(getpid());
    if (!valid_session_name(o.session))
        fail("run", "session name '" + o.session + "': use letters, digits, '_', '-' and '.'");
    o.seed_given = args.has("--seed");
    o.seed = o.seed_given ? cli::parse_count_arg(*args.get("--seed"), "run", "--seed")
                          : cli::random_seed();
    o.verbose = args.has("--verbose");
    o.rec.path = recording_path(args.get("--output"), "run");
    o.rec.command = command_line(o.command);
    if (auto d = args.get("--sample"))
        o.rec.sample_ns = cli::parse_duration_arg(*d, "run", "--sample");
    o.output_given = args.has("--output");
    o.inherit = !args.has("--no-inherit");
    return true;
}

// A live process records the session (a client run records it otherwise).
bool recorded_by_someone(const Segment& seg) {
    int32_t pid = seg.recorder_pid.load(std::memory_order_relaxed);
    return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

} // namespace

int cmd_run(const Argv& argv) {
    RunOptions o;
    if (!parse_run_options(argv, o)) return cli::kOk;
    std::string shim = find_shim("run");
    std::string program = resolve_program(o.command[0], "run");
    for (auto& w : check_target(program, "run"))
        fprintf(stderr, "faultline: run: warning: %s\n", w.c_str());

    // From here on every way out goes through the supervisor's teardown.
    // SIGTERM and SIGHUP are passed on to the target, and so are SIGINT and
    // SIGQUIT sent to us alone; the terminal's Ctrl-C reaches the target
    // itself. The target's end decides ours.
    Supervisor sup("run", Supervisor::Signals::Relay);
    bool created = false;
    if (o.client)
        sup.join(o.session);
    else
        created = sup.join_or_create(o.session, o.seed);
    Segment& seg = sup.session().segment();
    if (!created && o.seed_given && seg.seed != o.seed)
        fprintf(stderr, "faultline: run: warning: joined session '%s' keeps its seed %llu\n",
                o.session.c_str(), (unsigned long long)seg.seed);
    std::vector<uint32_t> ids = sup.arm(o.rules);
    // The run that created the session records it, from before the target
    // starts: the baseline is part of the recording.
    if ((created || (o.client && !recorded_by_someone(seg))) && o.rec.path != "none") {
        sup.record(o.rec);
    } else if (!created && o.output_given && o.rec.path != "none") {
        fprintf(stderr,
                "faultline: run: warning: session '%s' is recorded by the run that "
                "created it; -o ignored\n",
                o.session.c_str());
    }
    if (o.verbose) {
        fprintf(stderr, "faultline: session %s (%s), seed %llu\n", o.session.c_str(),
                created ? "created" : "joined", (unsigned long long)seg.seed);
        if (sup.recording()) fprintf(stderr, "faultline: recording into %s\n", o.rec.path.c_str());
        for (size_t i = 0; i < ids.size(); ++i)
            fprintf(stderr, "faultline: rule %u %s: %s\n", ids[i], o.rules[i].name,
                    o.rules[i].text);
    }

    // The target starts with the signal mask and dispositions we were given.
    LaunchEnv env{shim, o.session, o.inherit, {}};
    env.client = o.client;
    sigprocmask(SIG_BLOCK, nullptr, &env.sigmask);
    int pid = sup.launch(o.command, env);
    int code = pid > 0 ? sup.wait(pid) : 128 + sup.stop_signal(); // stopped before it started
    sup.finish(); // disarm: everything when the session is ours, our rules when joined
    return code;
}

} // namespace faultline
