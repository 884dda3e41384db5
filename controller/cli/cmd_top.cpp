// faultline top: a live view of a session, refreshed in the terminal: per
// function the call, error and injection rates over the last interval, and
// every rule's counters (README.md, "Commands").

#include "common/hooks.h"
#include "controller/cli/cli.h"
#include "controller/cli/commands.h"
#include "controller/cli/session.h"
#include "controller/cli/stop_signals.h"

#include <cstdio>
#include <ctime>
#include <memory>
#include <unistd.h>

namespace faultline {

namespace {

struct Snapshot {
    int64_t at_ns = 0;
    std::unique_ptr<ThreadTotals> threads = std::make_unique<ThreadTotals>();
    uint64_t errors[kMaxHooks] = {}, injected[kMaxHooks] = {};
    uint64_t exchanges = 0, exchanges_failed = 0; // the clients'

    void take(const Segment& seg) {
        at_ns = monotonic_ns();
        exchanges = seg.exchanges_ended.load(std::memory_order_relaxed);
        exchanges_failed = seg.exchanges_failed.load(std::memory_order_relaxed);
        segment_sum_threads(&seg, *threads);
        for (unsigned h = 0; h < kHookCount; ++h) {
            errors[h] = seg.hooks[h].errors.load(std::memory_order_relaxed);
            injected[h] = seg.hooks[h].injected.load(std::memory_order_relaxed);
        }
    }
};

void draw(Session& session, const Snapshot& a, const Snapshot& b, bool clear) {
    Segment& seg = session.segment();
    double dt = double(b.at_ns - a.at_ns) / 1e9;
    if (dt <= 0) dt = 1;
    if (clear) fputs("\x1b[H\x1b[2J", stdout);
    auto procs = session.processes();
    int32_t rec = seg.recorder_pid.load();
    printf("faultline top: session %s   %zu process%s   recorder %s   dropped events %llu\n\n",
           session.name().c_str(), procs.size(), procs.size() == 1 ? "" : "es",
           rec && process_alive(rec, 0) ? std::to_string(rec).c_str() : "none",
           (unsigned long long)seg.events.dropped.load());
    if (uint64_t n = b.exchanges - a.exchanges; n || b.exchanges)
        printf("clients: %.0f exchanges/s, %.1f%% of them ok (%llu in all)\n\n", double(n) / dt,
               n ? 100.0 * double(n - (b.exchanges_failed - a.exchanges_failed)) / double(n) : 0.0,
               (unsigned long long)b.exchanges);
    printf("%-24s %12s %10s %10s %12s %12s\n", "FUNCTION", "CALLS/S", "ERRORS/S", "INJECTED/S",
           "BYTES/S", "MEAN");
    unsigned shown = 0;
    for (auto& h : kHooks) {
        unsigned i = unsigned(h.hook);
        uint64_t calls = b.threads->calls[i] - a.threads->calls[i];
        uint64_t errors = b.errors[i] - a.errors[i], injected = b.injected[i] - a.injected[i];
        uint64_t bytes = b.threads->bytes[i] - a.threads->bytes[i];
        uint64_t ns = b.threads->latency_ns[i] - a.threads->latency_ns[i];
        if (!calls && !errors && !injected) continue;
        ++shown;
        std::string fn = std::string(kFamilyNames[unsigned(h.family)]) + "." + h.name;
        char mean[32] = "-";
        if (ns && calls) snprintf(mean, sizeof mean, "%.1f us", double(ns) / double(calls) / 1e3);
        printf("%-24s %12.0f %10.0f %10.0f %12.0f %12s\n", fn.c_str(), double(calls) / dt,
               double(errors) / dt, double(injected) / dt, double(bytes) / dt, mean);
    }
    if (!shown)
        printf("(no calls in the last %.1f s: calls are counted while a rule of the family is "
               "armed or a recorder runs)\n",
               dt);
    printf("\n%-4s %-16s %-8s %10s %10s %10s  %s\n", "ID", "NAME", "STATE", "SEEN", "MATCHED",
           "INJECTED", "RULE");
    for (auto& r : session.rules())
        printf("%-4u %-16s %-8s %10llu %10llu %10llu  %s\n", r.id, r.name.c_str(), r.state.c_str(),
               (unsigned long long)r.counters.seen, (unsigned long long)r.counters.matched,
               (unsigned long long)r.counters.injected, r.text.c_str());
    fflush(stdout);
}

} // namespace

int cmd_top(const Argv& argv) {
    cli::Args args("top", "-s NAME [--interval DUR] [--count N]",
                   "A live view of a session: per function the calls, errors, injections and\n"
                   "bytes per second over the last interval, and every rule's counters. Ends\n"
                   "with the session, after --count refreshes, or on Ctrl-C.",
                   {{"--session", 's', true, "session (default: $FAULTLINE_SESSION)"},
                    {"--interval", 0, true, "refresh period (default 1s)"},
                    {"--count", 0, true, "stop after N refreshes"}});
    if (!args.parse(argv)) return cli::kOk;
    if (!args.positionals().empty()) args.usage_error("unexpected '" + args.positionals()[0] + "'");
    int64_t interval = 1'000'000'000;
    if (auto d = args.get("--interval"))
        interval = cli::parse_duration_arg(*d, "top", "--interval");
    if (interval <= 0) cli::fail("top", "--interval must be longer than 0");
    uint64_t count = 0;
    if (auto c = args.get("--count")) count = cli::parse_count_arg(*c, "top", "--count");
    Session session = Session::open(cli::session_name(args, "top"), "top");
    StopSignals stop({SIGINT, SIGTERM});
    bool tty = isatty(1);
    Snapshot prev, cur;
    prev.take(session.segment());
    for (uint64_t n = 0; !stop.requested() && (!count || n < count); ++n) {
        timespec ts{time_t(interval / 1000000000), long(interval % 1000000000)};
        nanosleep(&ts, nullptr);
        if (stop.requested()) break;
        cur.take(session.segment());
        draw(session, prev, cur, tty);
        if (!tty) putchar('\n');
        std::swap(prev, cur);
        if (segment_is_stale(&session.segment())) break;
    }
    return cli::kOk;
}

} // namespace faultline
