// faultline status / sessions / gc: looking at sessions.

#include "common/hooks.h"
#include "controller/cli/cli.h"
#include "controller/cli/commands.h"
#include "controller/cli/session.h"
#include "controller/cli/version.h"

#include <cstdio>
#include <ctime>
#include <memory>

namespace faultline {

using cli::fail;

namespace {

// What `status` shows of a session besides the segment's own fields, read
// once before printing.
struct StatusFigures {
    std::vector<ProcessView> procs;
    std::vector<RuleView> rules;
    unsigned armed = 0; // rules not retired
    int32_t ctl = 0, rec = 0;
    bool ctl_alive = false, rec_alive = false;
    std::unique_ptr<ThreadTotals> totals = std::make_unique<ThreadTotals>();

    double mean_us(unsigned h) const {
        return totals->calls[h] ? double(totals->latency_ns[h]) / double(totals->calls[h]) / 1e3
                                : 0.0;
    }
};

StatusFigures read_status(Session& session) {
    Segment& seg = session.segment();
    StatusFigures s;
    s.procs = session.processes();
    s.rules = session.rules();
    for (auto& r : s.rules) s.armed += r.state != "retired";
    s.ctl = seg.controller_pid.load();
    s.ctl_alive = s.ctl && process_alive(s.ctl, 0);
    s.rec = seg.recorder_pid.load();
    s.rec_alive = s.rec && process_alive(s.rec, 0);
    segment_sum_threads(&seg, *s.totals);
    return s;
}

// The kinds a rule of which injected into calls it could not act on (data
// moved inside the kernel: splice, sendfile), which went through unfaulted.
std::vector<const char*> unacted_kinds(const Segment& seg) {
    std::vector<const char*> out;
    uint32_t bits = seg.unacted_kinds.load(std::memory_order_relaxed);
    for (unsigned k = 0; k < kKindCount; ++k)
        if (bits & (uint32_t(1) << k)) out.push_back(kind_name(Kind(k)));
    return out;
}

void print_status_json(Session& session, const StatusFigures& s) {
    Segment& seg = session.segment();
    printf("{\"version\":%s,\"session\":%s,\"seed\":%llu,\"created_unix\":%.3f,"
           "\"controller_pid\":",
           cli::json_string(faultline_version()).c_str(), cli::json_string(session.name()).c_str(),
           (unsigned long long)seg.seed, double(seg.created_ns) / 1e9);
    if (s.ctl_alive)
        printf("%d", s.ctl);
    else
        printf("null");
    printf(",\"recorder_pid\":");
    if (s.rec_alive)
        printf("%d", s.rec);
    else
        printf("null");
    printf(",\"dropped_events\":%llu,\"stale\":%s,\"armed_rules\":%u,\"unacted_kinds\":[",
           (unsigned long long)seg.events.dropped.load(), segment_is_stale(&seg) ? "true" : "false",
           s.armed);
    auto unacted = unacted_kinds(seg);
    for (size_t i = 0; i < unacted.size(); ++i) printf("%s\"%s\"", i ? "," : "", unacted[i]);
    printf("],\"exchanges\":{\"ended\":%llu,\"failed\":%llu}",
           (unsigned long long)seg.exchanges_ended.load(),
           (unsigned long long)seg.exchanges_failed.load());
    printf(",\"processes\":[");
    for (size_t i = 0; i < s.procs.size(); ++i)
        printf("%s{\"pid\":%d,\"comm\":%s,\"client\":%s}", i ? "," : "", s.procs[i].pid,
               cli::json_string(s.procs[i].comm).c_str(), s.procs[i].client ? "true" : "false");
    printf("],\"functions\":[");
    bool first = true;
    for (auto& h : kHooks) {
        unsigned i = unsigned(h.hook);
        printf("%s{\"function\":\"%s.%s\",\"calls\":%llu,\"errors\":%llu,\"injected\":%llu,"
               "\"bytes\":%llu,\"mean_latency_us\":%.3f}",
               first ? "" : ",", kFamilyNames[unsigned(h.family)], h.name,
               (unsigned long long)s.totals->calls[i],
               (unsigned long long)seg.hooks[i].errors.load(),
               (unsigned long long)seg.hooks[i].injected.load(),
               (unsigned long long)s.totals->bytes[i], s.mean_us(i));
        first = false;
    }
    printf("]}\n");
}

void print_status_table(Session& session, const StatusFigures& s) {
    Segment& seg = session.segment();
    char when[64];
    time_t t = time_t(seg.created_ns / 1000000000);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime(&t));
    printf("session    %s (created %s)\n", session.name().c_str(), when);
    printf("seed       %llu\n", (unsigned long long)seg.seed);
    if (s.ctl_alive)
        printf("controller pid %d\n", s.ctl);
    else
        printf("controller none\n");
    if (s.rec_alive)
        printf("recorder   pid %d, %llu events dropped\n", s.rec,
               (unsigned long long)seg.events.dropped.load());
    else
        printf("recorder   none\n");
    printf("rules      %u armed, %zu in all (faultline list -s %s)\n", s.armed, s.rules.size(),
           session.name().c_str());
    for (const char* kind : unacted_kinds(seg))
        printf("unacted    %s injected into calls it cannot act on (data moved inside the "
               "kernel: splice, sendfile); they went through unfaulted\n",
               kind);
    printf("processes ");
    for (auto& p : s.procs) printf(" %d(%s%s)", p.pid, p.comm.c_str(), p.client ? ", client" : "");
    printf("%s\n", s.procs.empty() ? " none" : "");
    if (uint64_t ended = seg.exchanges_ended.load())
        printf("exchanges  %llu by the clients, %llu failed\n", (unsigned long long)ended,
               (unsigned long long)seg.exchanges_failed.load());
    printf("\n");
    printf("%-24s %12s %10s %10s %14s %12s\n", "FUNCTION", "CALLS", "ERRORS", "INJECTED", "BYTES",
           "MEAN");
    for (auto& h : kHooks) {
        unsigned i = unsigned(h.hook);
        uint64_t calls = s.totals->calls[i], errors = seg.hooks[i].errors.load(),
                 injected = seg.hooks[i].injected.load();
        if (!calls && !errors && !injected) continue;
        std::string fn = std::string(kFamilyNames[unsigned(h.family)]) + "." + h.name;
        char mean[32] = "-";
        if (s.totals->latency_ns[i]) snprintf(mean, sizeof mean, "%.1f us", s.mean_us(i));
        printf("%-24s %12llu %10llu %10llu %14llu %12s\n", fn.c_str(), (unsigned long long)calls,
               (unsigned long long)errors, (unsigned long long)injected,
               (unsigned long long)s.totals->bytes[i], mean);
    }
}

} // namespace

int cmd_status(const Argv& argv) {
    cli::Args args("status", "-s NAME [--json]",
                   "Shows a session: seed, controller, recorder, attached processes, and per\n"
                   "function the calls, errors (real and injected), injections, bytes and mean\n"
                   "latency. Calls are counted while a rule of the function's family is armed\n"
                   "or a recorder runs; bytes and latency while a recorder runs. 'unacted'\n"
                   "names the kinds that injected into calls they cannot act on (data moved\n"
                   "inside the kernel: splice, sendfile), which went through unfaulted.",
                   {{"--session", 's', true, "session (default: $FAULTLINE_SESSION)"},
                    {"--json", 0, false, "machine-readable output"}});
    if (!args.parse(argv)) return cli::kOk;
    if (!args.positionals().empty()) args.usage_error("unexpected '" + args.positionals()[0] + "'");
    Session session = Session::open(cli::session_name(args, "status"), "status");
    StatusFigures figures = read_status(session);
    if (args.has("--json"))
        print_status_json(session, figures);
    else
        print_status_table(session, figures);
    return cli::kOk;
}

int cmd_sessions(const Argv& argv) {
    cli::Args args("sessions", "[--json]",
                   "Lists the sessions in /dev/shm. A session is stale when neither its\n"
                   "controller nor any attached process is alive (faultline gc removes it).",
                   {{"--json", 0, false, "machine-readable output"}});
    if (!args.parse(argv)) return cli::kOk;
    if (!args.positionals().empty()) args.usage_error("unexpected '" + args.positionals()[0] + "'");
    auto sessions = list_sessions();
    if (args.has("--json")) {
        printf("[");
        for (size_t i = 0; i < sessions.size(); ++i) {
            auto& s = sessions[i];
            printf("%s{\"name\":%s,\"valid\":%s,\"stale\":%s,\"processes\":%u,\"armed_rules\":%u,"
                   "\"problem\":%s}",
                   i ? "," : "", cli::json_string(s.name).c_str(), s.valid ? "true" : "false",
                   s.stale ? "true" : "false", s.live_processes, s.armed_rules,
                   s.valid ? "null" : cli::json_string(s.problem).c_str());
        }
        printf("]\n");
        return cli::kOk;
    }
    printf("%-24s %-8s %10s %6s\n", "SESSION", "STATE", "PROCESSES", "RULES");
    for (auto& s : sessions) {
        if (!s.valid) {
            printf("%-24s %-8s %s\n", s.name.c_str(), "invalid", s.problem.c_str());
            continue;
        }
        printf("%-24s %-8s %10u %6u\n", s.name.c_str(), s.stale ? "stale" : "live",
               s.live_processes, s.armed_rules);
    }
    return cli::kOk;
}

int cmd_gc(const Argv& argv) {
    cli::Args args("gc", "", "Removes stale sessions (no live controller or process) of this user.",
                   {});
    if (!args.parse(argv)) return cli::kOk;
    if (!args.positionals().empty()) args.usage_error("unexpected '" + args.positionals()[0] + "'");
    for (auto& s : list_sessions()) {
        if (!s.valid || !s.stale) continue;
        if (segment_unlink(s.name)) printf("removed %s\n", s.name.c_str());
    }
    return cli::kOk;
}

} // namespace faultline
