#include "controller/sweep/sweep_format.h"

#include "controller/cli/cli.h"
#include "controller/report/xml_text.h"
#include "controller/sweep/plan.h"
#include "controller/sweep/verdict.h"

#include <array>
#include <cstdio>
#include <sys/wait.h>

namespace faultline::sweep {

namespace {

std::string num(double v, int decimals) {
    char b[48];
    snprintf(b, sizeof b, "%.*f", decimals, v);
    return b;
}

std::array<size_t, kOutcomeCount> counts(const Sweep& s) {
    std::array<size_t, kOutcomeCount> c{};
    for (const Run& r : s.runs) ++c[unsigned(r.outcome)];
    return c;
}

std::string families_text(uint32_t families) {
    std::string out;
    for (unsigned f = 0; f < kFamilyCount; ++f)
        if (families & (1u << f) && Family(f) != Family::Vfs)
            out += (out.empty() ? "" : ",") + std::string(kFamilyNames[f]);
    return out;
}

size_t runs_done(const Sweep& s) {
    size_t n = 0;
    for (const Run& r : s.runs) n += r.result.ran;
    return n;
}

std::string json_list(const std::vector<std::string>& items) {
    std::string out = "[";
    for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + cli::json_string(items[i]);
    return out + "]";
}

std::string table(const Sweep& s) {
    std::string out;
    const Options& o = s.options;
    out += "sweep: " + command_text(s.options.command) + "\n";
    out += "  families " + families_text(o.families) + ", mode " +
           (o.mode == Mode::Once ? "once" : "persistent") + ", -j " + std::to_string(o.jobs) +
           ", timeout " + num(double(s.timeout_ns) / 1e9, 1) + " s per run\n";
    out += "profile: " + status_text(s.profile.status) + ", " + num(s.profile.duration_s, 3) +
           " s, " + std::to_string(s.profile.stdout_bytes) + " bytes of output, " +
           std::to_string(s.profile_calls) + " calls from " + std::to_string(s.sites.size()) +
           " sites";
    if (!s.skipped.empty())
        out += " (" + std::to_string(s.skipped.size()) + " no rule can fail: accept)";
    out += "\n";
    size_t done = runs_done(s);
    out += "runs: " + std::to_string(done) + " of " + std::to_string(s.runs.size()) + " in " +
           num(s.elapsed_s, 1) + " s";
    if (s.elapsed_s > 0) out += " (" + num(double(done) * 60 / s.elapsed_s, 0) + " runs/min)";
    if (!s.stopped_by.empty()) out += ", stopped by " + s.stopped_by;
    out += "\n ";
    auto c = counts(s);
    for (unsigned i = 0; i < kOutcomeCount; ++i)
        if (Outcome(i) != Outcome::NotRun || c[i])
            out += " " + std::string(outcome_name(Outcome(i))) + " " + std::to_string(c[i]);
    out += "\n";
    size_t changed = 0;
    for (const Run& r : s.runs)
        changed += r.outcome == Outcome::Handled && r.result.status != s.profile.status;
    if (changed)
        out += "  " + std::to_string(changed) + " handled run" + (changed > 1 ? "s" : "") +
               " ended otherwise than the profile (" + status_text(s.profile.status) + ")\n";
    if (s.findings.empty()) {
        out += "\nno findings\n";
        return out;
    }
    out += "\nfindings: " + std::to_string(s.findings.size()) + "\n";
    for (size_t i = 0; i < s.findings.size(); ++i) {
        const Finding& f = s.findings[i];
        out += "\n" + std::to_string(i + 1) + ". " + outcome_name(f.outcome);
        if (f.signal) out += " " + signal_name(f.signal);
        out += ": " + f.function + " failed in " + program_frame(f.stack);
        if (f.runs.size() > 1) out += " (" + std::to_string(f.runs.size()) + " sites)";
        out += "\n   failed at:\n";
        for (const auto& fr : f.stack) out += "     " + fr + "\n";
        if (!f.crash_stack.empty()) {
            out += "   crashed at:\n";
            for (size_t k = 0; k < f.crash_stack.size() && k < 8; ++k)
                out += "     " + f.crash_stack[k] + "\n";
        }
        if (!f.detail.empty()) {
            std::string last = f.detail.substr(f.detail.rfind('\n') + 1);
            out += "   " + std::string(f.outcome == Outcome::Sanitizer ? "" : "stderr: ") +
                   last.substr(0, 200) + "\n";
        }
        out += "   reproduce: " + f.reproduce + "\n";
        if (f.checked)
            out += f.reproduced ? "   (reproduced: " + f.again + ")\n"
                                : "   (did not reproduce: " + f.again + ")\n";
    }
    return out;
}

std::string json(const Sweep& s) {
    const Options& o = s.options;
    std::string out = "{\n";
    out += "  \"command\": " + json_list(o.command) + ",\n";
    out += "  \"families\": " + cli::json_string(families_text(o.families)) + ",\n";
    out += "  \"mode\": \"" + std::string(o.mode == Mode::Once ? "once" : "persistent") + "\",\n";
    out += "  \"jobs\": " + std::to_string(o.jobs) + ",\n";
    out += "  \"timeout_s\": " + num(double(s.timeout_ns) / 1e9, 3) + ",\n";
    int st = s.profile.status;
    out += "  \"profile\": {\"exit_status\": " +
           std::string(WIFEXITED(st) ? std::to_string(WEXITSTATUS(st)) : "null") +
           ", \"signal\": " + std::to_string(WIFSIGNALED(st) ? WTERMSIG(st) : 0) +
           ", \"duration_s\": " + num(s.profile.duration_s, 4) +
           ", \"stdout_bytes\": " + std::to_string(s.profile.stdout_bytes) +
           ", \"calls\": " + std::to_string(s.profile_calls) +
           ", \"dropped_sites\": " + std::to_string(s.dropped_sites) + "},\n";
    out += "  \"elapsed_s\": " + num(s.elapsed_s, 3) + ",\n";
    out += "  \"stopped_by\": " + (s.stopped_by.empty() ? "null" : cli::json_string(s.stopped_by)) +
           ",\n";
    out += "  \"counts\": {";
    auto c = counts(s);
    for (unsigned i = 0; i < kOutcomeCount; ++i)
        out += std::string(i ? ", " : "") + "\"" + outcome_name(Outcome(i)) +
               "\": " + std::to_string(c[i]);
    out += "},\n  \"findings\": [";
    for (size_t i = 0; i < s.findings.size(); ++i) {
        const Finding& f = s.findings[i];
        out += std::string(i ? "," : "") + "\n    {\"outcome\": \"" + outcome_name(f.outcome) +
               "\", \"signal\": " + (f.signal ? cli::json_string(signal_name(f.signal)) : "null") +
               ", \"function\": " + cli::json_string(f.function) +
               ", \"stack\": " + json_list(f.stack) +
               ", \"crash_stack\": " + json_list(f.crash_stack) +
               ", \"reproduce\": " + cli::json_string(f.reproduce) +
               ", \"reproduced\": " + (f.checked ? (f.reproduced ? "true" : "false") : "null") +
               ", \"reproducer_ended\": " + (f.checked ? cli::json_string(f.again) : "null") +
               ", \"sites\": " + std::to_string(f.runs.size()) +
               ", \"detail\": " + cli::json_string(f.detail) + "}";
    }
    out += "\n  ],\n  \"sites\": [";
    for (size_t i = 0; i < s.sites.size(); ++i) {
        const Site& site = s.sites[i];
        out += std::string(i ? "," : "") + "\n    {\"site\": \"" + site_text(site.id) +
               "\", \"function\": " + cli::json_string(kHooks[unsigned(site.hook)].name) +
               ", \"calls\": " + std::to_string(site.calls) +
               ", \"process\": " + cli::json_string(site.comm) +
               ", \"stack\": " + json_list(site.stack) + "}";
    }
    out += "\n  ],\n  \"runs\": [";
    for (size_t i = 0; i < s.runs.size(); ++i) {
        const Run& r = s.runs[i];
        int rs = r.result.status;
        out +=
            std::string(i ? "," : "") + "\n    {\"site\": \"" + site_text(s.sites[r.site].id) +
            "\", \"rule\": " + cli::json_string(r.rule) + ", \"outcome\": \"" +
            outcome_name(r.outcome) + "\", \"exit_status\": " +
            std::string(r.result.ran && WIFEXITED(rs) ? std::to_string(WEXITSTATUS(rs)) : "null") +
            ", \"signal\": " + std::to_string(run_signal(r.result)) +
            ", \"duration_s\": " + num(r.result.duration_s, 4) +
            ", \"injected\": " + std::to_string(r.result.injected) + "}";
    }
    out += "\n  ],\n  \"unreached\": [";
    bool first = true;
    for (const Run& r : s.runs)
        if (r.outcome == Outcome::Unreached) {
            out += std::string(first ? "" : ", ") + "\"" + site_text(s.sites[r.site].id) + "\"";
            first = false;
        }
    out += "]\n}\n";
    return out;
}

std::string html(const Sweep& s) {
    std::string out = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>faultline "
                      "sweep</title>\n<style>body{font-family:sans-serif;margin:2em}"
                      "pre{background:#f4f4f4;padding:.5em}td,th{padding:.2em .6em;"
                      "text-align:left;vertical-align:top}.bad{color:#b00}</style></head><body>\n";
    out += "<h1>faultline sweep</h1>\n<pre>" + xml_text(table(s)) + "</pre>\n";
    out += "<h2>Runs</h2>\n<table><tr><th>site</th><th>function</th><th>outcome</th>"
           "<th>exit</th><th>s</th><th>rule</th></tr>\n";
    for (const Run& r : s.runs) {
        const Site& site = s.sites[r.site];
        bool bad = r.outcome != Outcome::Handled && r.outcome != Outcome::Unreached &&
                   r.outcome != Outcome::NotRun;
        out += "<tr" + std::string(bad ? " class=\"bad\"" : "") + "><td>" + site_text(site.id) +
               "</td><td>" + xml_text(kHooks[unsigned(site.hook)].name) + "</td><td>" +
               outcome_name(r.outcome) + "</td><td>" +
               (r.result.ran ? xml_text(status_text(r.result.status)) : "") + "</td><td>" +
               num(r.result.duration_s, 3) + "</td><td><code>" + xml_text(r.rule) +
               "</code></td></tr>\n";
    }
    out += "</table>\n</body></html>\n";
    return out;
}

} // namespace

bool valid_format(const std::string& name) {
    return name == "table" || name == "json" || name == "html";
}

std::string status_text(int st) {
    if (WIFEXITED(st)) return "exit " + std::to_string(WEXITSTATUS(st));
    if (WIFSIGNALED(st))
        return std::string("killed by ") + signal_name(WTERMSIG(st)) +
               (WCOREDUMP(st) ? " (core dumped)" : "");
    return "status " + std::to_string(st);
}

std::string format_sweep(const Sweep& s, const std::string& format) {
    if (format == "json") return json(s);
    if (format == "html") return html(s);
    return table(s);
}

} // namespace faultline::sweep
