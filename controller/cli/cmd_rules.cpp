// faultline enable / disable / list: live control of a session's rules.

#include "controller/cli/cli.h"
#include "controller/cli/commands.h"
#include "controller/cli/session.h"

#include <cstdio>

namespace faultline {

using cli::fail;

int cmd_enable(const Argv& argv) {
    cli::Args args("enable", "-s NAME RULE...",
                   "Arms rules in a live session, all or nothing, and prints their ids.\n"
                   "The target's next intercepted call sees them.",
                   {{"--session", 's', true, "session (default: $FAULTLINE_SESSION)"},
                    {"--json", 0, false, "print [{\"id\":N,\"name\":...}]"}});
    if (!args.parse(argv)) return cli::kOk;
    if (args.positionals().empty()) args.usage_error("no rule given");
    std::vector<Rule> rules = parse_rule_texts(args.positionals(), "enable");
    Session session = Session::open(cli::session_name(args, "enable"), "enable");
    std::vector<uint32_t> ids = session.arm(rules, "enable");
    if (args.has("--json")) {
        printf("[");
        for (size_t i = 0; i < ids.size(); ++i)
            printf("%s{\"id\":%u,\"name\":%s}", i ? "," : "", ids[i],
                   cli::json_string(rules[i].name).c_str());
        printf("]\n");
    } else {
        for (uint32_t id : ids) printf("%u\n", id);
    }
    return cli::kOk;
}

int cmd_disable(const Argv& argv) {
    cli::Args args("disable", "-s NAME ID|NAME...|--all",
                   "Disarms rules by id or name, or every rule of the session with --all.\n"
                   "Works on a session whose controller has died.",
                   {{"--session", 's', true, "session (default: $FAULTLINE_SESSION)"},
                    {"--all", 'a', false, "disarm every rule"}});
    if (!args.parse(argv)) return cli::kOk;
    bool all = args.has("--all");
    if (all == !args.positionals().empty())
        args.usage_error(all ? "give ids/names or --all, not both"
                             : "give rule ids or names, or --all");
    Session session = Session::open(cli::session_name(args, "disable"), "disable");
    if (all) {
        segment_disarm_all(&session.segment());
        return cli::kOk;
    }
    int rc = cli::kOk;
    auto known = session.rules();
    for (auto& target : args.positionals()) {
        if (segment_disarm(&session.segment(), target) > 0) continue;
        bool retired = false;
        for (auto& r : known)
            retired = retired || std::to_string(r.id) == target || r.name == target;
        // Disarming a rule that already retired (times=, for=) is not an error.
        if (!retired) {
            fprintf(stderr, "faultline: disable: %s: no such rule in session '%s'\n",
                    target.c_str(), session.name().c_str());
            rc = cli::kUsage;
        }
    }
    return rc;
}

int cmd_list(const Argv& argv) {
    cli::Args args("list", "-s NAME [--json]",
                   "Lists the session's rules: id, name, state, seen, matched, injected.\n"
                   "seen: calls that reached the rule; matched: that passed its filters;\n"
                   "injected: that were faulted.",
                   {{"--session", 's', true, "session (default: $FAULTLINE_SESSION)"},
                    {"--json", 0, false, "machine-readable output"}});
    if (!args.parse(argv)) return cli::kOk;
    if (!args.positionals().empty()) args.usage_error("unexpected '" + args.positionals()[0] + "'");
    Session session = Session::open(cli::session_name(args, "list"), "list");
    auto rules = session.rules();
    if (args.has("--json")) {
        printf("[");
        for (size_t i = 0; i < rules.size(); ++i) {
            auto& r = rules[i];
            printf("%s{\"id\":%u,\"name\":%s,\"state\":\"%s\",\"rule\":%s,\"seen\":%llu,"
                   "\"matched\":%llu,\"injected\":%llu,\"armed_at_s\":%.3f,\"retired_at_s\":",
                   i ? "," : "", r.id, cli::json_string(r.name).c_str(), r.state.c_str(),
                   cli::json_string(r.text).c_str(), (unsigned long long)r.counters.seen,
                   (unsigned long long)r.counters.matched, (unsigned long long)r.counters.injected,
                   r.armed_at_s);
            if (r.retired_at_s < 0)
                printf("null}");
            else
                printf("%.3f}", r.retired_at_s);
        }
        printf("]\n");
        return cli::kOk;
    }
    printf("%-4s %-16s %-8s %12s %12s %12s  %s\n", "ID", "NAME", "STATE", "SEEN", "MATCHED",
           "INJECTED", "RULE");
    for (auto& r : rules)
        printf("%-4u %-16s %-8s %12llu %12llu %12llu  %s\n", r.id, r.name.c_str(), r.state.c_str(),
               (unsigned long long)r.counters.seen, (unsigned long long)r.counters.matched,
               (unsigned long long)r.counters.injected, r.text.c_str());
    return cli::kOk;
}

} // namespace faultline
