// faultline report: a recorded session's figures per fault window.

#include "controller/cli/cli.h"
#include "controller/cli/commands.h"
#include "controller/record/recorder.h"
#include "controller/record/recording_db.h"
#include "controller/report/metrics.h"
#include "controller/report/report_format.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <unistd.h>

namespace faultline {

using cli::fail;

int cmd_report(const Argv& argv) {
    cli::Args args(
        "report",
        "[-o FILE.db] [-s NAME|--last] [--format table|json|csv|svg|html] "
        "[--min-success X] [--max-recovery DUR] [--max-throughput-drop X]",
        "Prints a recorded session's figures per fault window: injections, success\n"
        "rate, recovery time, throughput impact, p50/p99 latency (docs/metrics.md).\n"
        "With tolerances each window is judged: exit 0 held, 1 deviated, 2\n"
        "inconclusive (a fault that never injected).",
        {{"--output", 'o', true, "the recording (default ./faultline.db, $FAULTLINE_DB)"},
         {"--session", 's', true, "the latest session of this name"},
         {"--last", 0, false, "the latest session in the file (the default)"},
         {"--format", 'f', true, "table (default), json, csv, svg or html"},
         {"--min-success", 0, true, "tolerance: success rate at least X (0..1)"},
         {"--max-recovery", 0, true, "tolerance: recovery within DUR"},
         {"--max-throughput-drop", 0, true, "tolerance: ops/s drop at most X (0..1)"},
         {"--recovery-window", 0, true, "steady state must hold this long (1s)"}});
    if (!args.parse(argv)) return cli::kOk;
    if (!args.positionals().empty()) args.usage_error("unexpected '" + args.positionals()[0] + "'");
    if (args.has("--session") && args.has("--last")) args.usage_error("-s and --last: pick one");
    ReportFormat format = ReportFormat::Table;
    if (auto f = args.get("--format"); f && !parse_report_format(*f, format))
        args.usage_error("--format '" + *f + "': use table, json, csv, svg or html");
    Tolerances tol;
    auto fraction = [&](const char* opt) -> std::optional<double> {
        auto v = args.get(opt);
        if (!v) return std::nullopt;
        double x = cli::parse_number_arg(*v, "report", opt);
        if (x < 0 || x > 1) fail("report", std::string(opt) + " '" + *v + "': expected 0..1");
        return x;
    };
    tol.min_success = fraction("--min-success");
    tol.max_throughput_drop = fraction("--max-throughput-drop");
    if (auto d = args.get("--max-recovery"))
        tol.max_recovery_s = double(cli::parse_duration_arg(*d, "report", "--max-recovery")) / 1e9;
    MetricOptions opt;
    if (auto d = args.get("--recovery-window"))
        opt.recovery_window_s =
            double(cli::parse_duration_arg(*d, "report", "--recovery-window")) / 1e9;
    std::string path = recording_path(args.get("--output"), "report");
    if (access(path.c_str(), R_OK) != 0)
        fail("report", path + ": " + strerror(errno) + " (record with faultline run -o FILE)");
    Timeline t = load_timeline(path, args.get("--session").value_or(""), "report");
    Report r = compute_report(t, tol, opt);
    fputs(format_report(r, format).c_str(), stdout);
    return report_exit_code(r);
}

} // namespace faultline
