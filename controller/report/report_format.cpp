// The report's output formats. What each figure means is in docs/metrics.md;
// this file only lays them out.
#include "controller/report/report_format.h"

#include "controller/report/xml_text.h"

#include "controller/cli/cli.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

namespace faultline {

namespace {

std::string printf_str(const char* fmt, double x) {
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt, x);
    return buf;
}

// A JSON/CSV number: up to six decimals, no trailing zeros, never NaN/inf.
std::string num(double x) {
    if (!std::isfinite(x)) return "null";
    std::string s = printf_str("%.6f", x);
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
    if (s == "-0") s = "0";
    return s;
}

std::string json_num(const std::optional<double>& x) {
    return x ? num(*x) : "null";
}

// ---- human-readable values (table, html)

std::string show_percent(const std::optional<double>& x) {
    return x ? printf_str("%.1f%%", *x * 100) : "-";
}

std::string show_change(const std::optional<double>& x) {
    if (!x) return "-";
    std::string s = printf_str("%+.1f%%", *x * 100);
    return s == "-0.0%" ? "+0.0%" : s;
}

std::string show_seconds(const std::optional<double>& x) {
    return x ? printf_str("%.1f s", *x) : "-";
}

std::string show_ms(const std::optional<double>& x) {
    if (!x) return "-";
    if (*x >= 100) return printf_str("%.0f ms", *x);
    if (*x >= 10) return printf_str("%.1f ms", *x);
    if (*x >= 0.1) return printf_str("%.2f ms", *x);
    return printf_str("%.3f ms", *x);
}

std::string show_span(const WindowReport& w) {
    return printf_str("%.1f", w.start_s) + "-" + printf_str("%.1f s", w.end_s) +
           (w.open ? " (armed)" : "");
}

// "http-5xx 120, reset 18": a window's failed outcomes by what they said.
std::string show_failures(const WindowReport& w) {
    std::string s;
    for (auto& [label, n] : w.failures)
        s += (s.empty() ? "" : ", ") + (label.empty() ? std::string("(unlabelled)") : label) + " " +
             std::to_string(n);
    return s;
}

std::string show_verdict(const WindowReport& w) {
    return w.verdict.empty() ? "-" : w.verdict;
}

std::string source_words(const Report& r) {
    if (r.source == "outcomes") return "outcomes (marks and probes)";
    if (r.source == "exchanges") return "exchanges (of the clients)";
    std::string s = "calls (";
    for (size_t i = 0; i < r.families.size(); ++i) s += (i ? ", " : "") + r.families[i];
    return s + (r.families.empty() ? "none)" : ")");
}

std::string summary_line(const Report& r) {
    return "session: " + r.session + "  seed: " + std::to_string(r.seed) +
           "  operations: " + source_words(r) +
           "  dropped events: " + std::to_string(r.dropped_events);
}

std::string show_leak(const LeakSuspect& l) {
    return "pid " + std::to_string(l.pid) + " (" + l.comm + "): RSS growing " +
           printf_str("%.1f MB/min", l.mb_per_min);
}

// "  2.3 s  pid 1234 (python3) killed by signal 6 (SIGABRT), core dumped
// [db-down]"
std::string show_exit(const ProcessExit& e, const std::string& window) {
    std::string s = printf_str("%.1f s", e.t_s) + "  pid " + std::to_string(e.pid) + " (" + e.comm +
                    ")" + (e.target ? ", a target," : "") + " " + exit_text(e);
    if (e.stopped) s += ", stopped by faultline";
    return s + (window.empty() ? "" : "  [" + window + "]");
}

std::string json_exit(const ProcessExit& e) {
    return "{\"pid\": " + std::to_string(e.pid) + ", \"comm\": " + cli::json_string(e.comm) +
           ", \"t_s\": " + num(e.t_s) +
           ", \"status\": " + (e.status >= 0 ? std::to_string(e.status) : "null") +
           ", \"signal\": " + (e.signal > 0 ? std::to_string(e.signal) : "null") +
           ", \"core_dumped\": " + (e.core ? "true" : "false") +
           ", \"target\": " + (e.target ? "true" : "false") +
           ", \"stopped\": " + (e.stopped ? "true" : "false") + "}";
}

std::string json_exits(const std::vector<ProcessExit>& v) {
    std::string o = "[";
    for (size_t i = 0; i < v.size(); ++i) o += (i ? ", " : "") + json_exit(v[i]);
    return o + "]";
}

struct Column {
    const char* title;
    bool right; // numbers align right
};

const Column kColumns[] = {
    {"Scenario", false},     {"Success Rate", true},
    {"Recovery Time", true}, {"Throughput Impact", true},
    {"Injected", true},      {"p50", true},
    {"p99", true},           {"Verdict", false},
    {"Window", false},
};
constexpr size_t kColumnCount = sizeof kColumns / sizeof kColumns[0];

std::vector<std::array<std::string, kColumnCount>> table_rows(const Report& r) {
    std::vector<std::array<std::string, kColumnCount>> rows;
    for (const WindowReport& w : r.windows)
        rows.push_back({w.name, show_percent(w.success_rate), show_seconds(w.recovery_s),
                        show_change(w.throughput_change), std::to_string(w.injected),
                        show_ms(w.p50_ms), show_ms(w.p99_ms), show_verdict(w), show_span(w)});
    return rows;
}

std::string format_table(const Report& r) {
    auto rows = table_rows(r);
    std::array<size_t, kColumnCount> width{};
    for (size_t c = 0; c < kColumnCount; ++c) {
        width[c] = std::string(kColumns[c].title).size();
        for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
    }
    auto pad = [&](const std::string& s, size_t c) {
        std::string fill(width[c] - std::min(width[c], s.size()), ' ');
        return kColumns[c].right ? fill + s : s + fill;
    };
    std::string out = summary_line(r) + "\n\n|";
    for (size_t c = 0; c < kColumnCount; ++c) out += " " + pad(kColumns[c].title, c) + " |";
    out += "\n|";
    for (size_t c = 0; c < kColumnCount; ++c)
        out += kColumns[c].right ? std::string(width[c] + 1, '-') + ":|"
                                 : ":" + std::string(width[c] + 1, '-') + "|";
    out += "\n";
    for (const auto& row : rows) {
        out += "|";
        for (size_t c = 0; c < kColumnCount; ++c) out += " " + pad(row[c], c) + " |";
        out += "\n";
    }
    bool first = true;
    for (const WindowReport& w : r.windows)
        for (const std::string& d : w.deviations) {
            if (first) out += "\n";
            first = false;
            out += w.name + ": " + d + "\n";
        }
    std::string failures;
    for (const WindowReport& w : r.windows)
        if (!w.failures.empty()) failures += "  " + w.name + ": " + show_failures(w) + "\n";
    if (!failures.empty()) out += "\nfailures, by what they said:\n" + failures;
    if (!r.exits.empty()) out += "\nprocesses that ended:\n";
    for (size_t i = 0; i < r.exits.size(); ++i)
        out += "  " + show_exit(r.exits[i], r.exit_windows[i]) + "\n";
    if (!r.leaks.empty()) out += "\nsuspected leaks:\n";
    for (const LeakSuspect& l : r.leaks) out += "  " + show_leak(l) + "\n";
    return out;
}

// ---- json

std::string json_strings(const std::vector<std::string>& v) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + cli::json_string(v[i]);
    return out + "]";
}

std::string format_json(const Report& r) {
    std::string o = "{\n";
    o += "  \"session\": " + cli::json_string(r.session) + ",\n";
    o += "  \"seed\": " + std::to_string(r.seed) + ",\n";
    o += "  \"dropped_events\": " + std::to_string(r.dropped_events) + ",\n";
    o += "  \"source\": " + cli::json_string(r.source) + ",\n";
    o += "  \"families\": " + json_strings(r.families) + ",\n";
    o += "  \"end_s\": " + num(r.end_s) + ",\n";
    o += std::string("  \"judged\": ") + (r.judged ? "true" : "false") + ",\n";
    o += "  \"windows\": [";
    for (size_t i = 0; i < r.windows.size(); ++i) {
        const WindowReport& w = r.windows[i];
        std::string ids = "[";
        for (size_t k = 0; k < w.rule_ids.size(); ++k)
            ids += (k ? ", " : "") + std::to_string(w.rule_ids[k]);
        ids += "]";
        o += i ? ",\n    {" : "\n    {";
        o += "\"name\": " + cli::json_string(w.name);
        o += ", \"start_s\": " + num(w.start_s);
        o += ", \"end_s\": " + num(w.end_s);
        o += ", \"rules\": " + json_strings(w.rules);
        o += ", \"rule_ids\": " + ids;
        o += ", \"families\": " + json_strings(w.families);
        o += ", \"injected\": " + std::to_string(w.injected);
        o += ", \"ops\": " + std::to_string(w.ops);
        o += ", \"failed\": " + std::to_string(w.failed);
        o += ", \"ops_per_s\": " + json_num(w.ops_per_s);
        o += ", \"goodput_per_s\": " + json_num(w.goodput_per_s);
        o += ", \"success_rate\": " + json_num(w.success_rate);
        o += ", \"recovery_s\": " + json_num(w.recovery_s);
        o += ", \"throughput_change\": " + json_num(w.throughput_change);
        o += ", \"p50_ms\": " + json_num(w.p50_ms);
        o += ", \"p99_ms\": " + json_num(w.p99_ms);
        o += ", \"dropped\": " + std::to_string(w.dropped);
        o += std::string(", \"open\": ") + (w.open ? "true" : "false");
        o += ", \"verdict\": " + (w.verdict.empty() ? "null" : cli::json_string(w.verdict));
        o += ", \"exits\": " + json_exits(w.exits);
        o += ", \"failures\": {";
        for (size_t k = 0; k < w.failures.size(); ++k)
            o += (k ? ", " : "") + cli::json_string(w.failures[k].first) + ": " +
                 std::to_string(w.failures[k].second);
        o += "}";
        o += ", \"deviations\": " + json_strings(w.deviations) + "}";
    }
    o += r.windows.empty() ? "],\n" : "\n  ],\n";
    o += "  \"exits\": [";
    for (size_t i = 0; i < r.exits.size(); ++i) {
        std::string e = json_exit(r.exits[i]);
        e.pop_back();
        o += (i ? ",\n    " : "\n    ") + e + ", \"window\": " +
             (r.exit_windows[i].empty() ? "null" : cli::json_string(r.exit_windows[i])) + "}";
    }
    o += r.exits.empty() ? "],\n" : "\n  ],\n";
    o += "  \"leaks\": [";
    for (size_t i = 0; i < r.leaks.size(); ++i) {
        const LeakSuspect& l = r.leaks[i];
        o += (i ? ", " : "") + std::string("{\"pid\": ") + std::to_string(l.pid) +
             ", \"comm\": " + cli::json_string(l.comm) + ", \"mb_per_min\": " + num(l.mb_per_min) +
             "}";
    }
    o += "]\n}\n";
    return o;
}

// ---- csv (RFC 4180 quoting, LF line ends)

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

std::string csv_num(const std::optional<double>& x) {
    return x ? num(*x) : "";
}

std::string joined(const std::vector<std::string>& v, const char* sep) {
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
    return out;
}

std::string format_csv(const Report& r) {
    std::string out = "name,start_s,end_s,rules,injected,ops,failed,success_rate,recovery_s,"
                      "throughput_change,p50_ms,p99_ms,dropped,verdict,deviations\n";
    for (const WindowReport& w : r.windows) {
        std::vector<std::string> f = {csv_field(w.name),
                                      num(w.start_s),
                                      num(w.end_s),
                                      csv_field(joined(w.rules, "; ")),
                                      std::to_string(w.injected),
                                      std::to_string(w.ops),
                                      std::to_string(w.failed),
                                      csv_num(w.success_rate),
                                      csv_num(w.recovery_s),
                                      csv_num(w.throughput_change),
                                      csv_num(w.p50_ms),
                                      csv_num(w.p99_ms),
                                      std::to_string(w.dropped),
                                      csv_field(w.verdict),
                                      csv_field(joined(w.deviations, "; "))};
        out += joined(f, ",") + "\n";
    }
    return out;
}

// ---- svg

std::string xml(const std::string& s) {
    return xml_text(s);
}

// 1, 2 or 5 times a power of ten, at least x.
double nice_step(double x) {
    if (!(x > 0) || !std::isfinite(x)) return 1;
    double p = std::pow(10, std::floor(std::log10(x)));
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * p >= x * (1 - 1e-9)) return m * p;
    return 10 * p;
}

// A round axis maximum at least x, with a round half for the middle tick.
double nice_max(double x) {
    if (!(x > 0) || !std::isfinite(x)) return 1;
    double p = std::pow(10, std::floor(std::log10(x)));
    for (double m : {1.0, 1.2, 1.6, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0})
        if (m * p >= x * (1 - 1e-9)) return m * p;
    return 10 * p;
}

// An axis label: 0.25, 8, 120, 1.2k, 16k, 2.5M.
std::string label_num(double v) {
    double a = std::fabs(v);
    std::string s = a >= 1e6   ? printf_str("%.3g", v / 1e6) + "M"
                    : a >= 1e3 ? printf_str("%.3g", v / 1e3) + "k"
                               : printf_str("%.3g", v);
    return s == "-0" ? "0" : s;
}

struct Panel {
    const char* id;
    const char* title;
    double top, height, max;
};

// The svg chart: the time axis across, three panels down (operations/s,
// success, p50), the fault windows behind them.
class SvgChart {
  public:
    explicit SvgChart(const Report& r);
    std::string draw() const;

  private:
    static constexpr double kW = 900, kH = 520, kLeft = 70, kRight = 880;
    static constexpr double kTop = 50, kBottom = 475;
    // Inside a panel, values use all but a few pixels at the top.
    static constexpr double kInset = 6;

    double X(double t) const { return kLeft + std::clamp(t / span_, 0.0, 1.0) * (kRight - kLeft); }
    double Y(const Panel& p, double v) const {
        return p.top + kInset + (p.height - kInset) * (1 - std::clamp(v / p.max, 0.0, 1.0));
    }

    std::string heading() const;
    void time_axis(std::string& grid, std::string& ticks) const;
    std::string fault_windows() const;
    std::string panel_axes() const;
    std::string baseline() const;
    std::string series() const;
    std::string time_label() const;

    const Report& r_;
    double span_;                     // seconds across the time axis
    std::optional<double> base_rate_; // the baseline's operations/s, when it has a rate
    Panel panels_[3];
};

SvgChart::SvgChart(const Report& r) : r_(r), span_(r.end_s > 0 ? r.end_s : 1) {
    double max_ops = 0, max_ms = 0;
    for (const SeriesPoint& p : r.series) {
        max_ops = std::max(max_ops, p.ops_per_s);
        if (p.p50_ms) max_ms = std::max(max_ms, *p.p50_ms);
    }
    if (!r.windows.empty() && r.windows.front().ops_per_s && *r.windows.front().ops_per_s > 0)
        base_rate_ = r.windows.front().ops_per_s;
    if (base_rate_) max_ops = std::max(max_ops, *base_rate_);
    // Some headroom above the largest value, so that it does not hide in the frame.
    panels_[0] = {"series-ops", "operations/s", kTop, 125, nice_max(max_ops * 1.1)};
    panels_[1] = {"series-success", "success (%)", kTop + 150, 125, 100};
    panels_[2] = {"series-latency", "p50 (ms)", kTop + 300, 125, nice_max(max_ms * 1.1)};
}

std::string SvgChart::draw() const {
    std::string grid, ticks;
    time_axis(grid, ticks);
    std::string o = heading();
    o += grid;
    o += fault_windows(); // behind the data
    o += panel_axes();
    o += baseline();
    o += series();
    o += ticks;
    o += time_label();
    o += "</svg>\n";
    return o;
}

std::string SvgChart::heading() const {
    std::string o;
    o += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"520\" viewBox=\"0 0 " +
         num(kW) + " " + num(kH) +
         "\" font-family=\"sans-serif\" font-size=\"12\">\n"
         "<rect x=\"0\" y=\"0\" width=\"900\" height=\"520\" fill=\"#ffffff\"/>\n";
    o += "<text x=\"" + num(kLeft) + "\" y=\"24\" font-size=\"16\" font-weight=\"bold\">" +
         xml("faultline: " + r_.session) + "</text>\n";
    o += "<text x=\"" + num(kRight) + "\" y=\"24\" text-anchor=\"end\" fill=\"#555555\">" +
         xml("seed " + std::to_string(r_.seed) + ", operations: " + source_words(r_)) + "</text>\n";
    return o;
}

// Time axis: ticks shared by the three panels, and their grid lines.
void SvgChart::time_axis(std::string& grid, std::string& ticks) const {
    double step = nice_step(span_ / 8);
    for (double t = 0; t <= span_ * (1 + 1e-9); t += step) {
        std::string x = num(X(t));
        grid += "<line x1=\"" + x + "\" y1=\"" + num(kTop) + "\" x2=\"" + x + "\" y2=\"" +
                num(kBottom) + "\" stroke=\"#eeeeee\"/>\n";
        ticks += "<text x=\"" + x + "\" y=\"" + num(kBottom + 17) + "\" text-anchor=\"middle\">" +
                 label_num(t) + "</text>\n";
    }
}

// Fault windows across all panels.
std::string SvgChart::fault_windows() const {
    std::string o;
    for (const WindowReport& w : r_.windows) {
        if (w.rule_ids.empty()) continue; // the baseline
        double x0 = X(w.start_s), x1 = std::max(X(w.end_s), x0 + 1);
        std::string name = w.name.size() > 40 ? w.name.substr(0, 37) + "..." : w.name;
        o += "<rect class=\"fault-window\" x=\"" + num(x0) + "\" y=\"" + num(kTop) + "\" width=\"" +
             num(x1 - x0) + "\" height=\"" + num(kBottom - kTop) +
             "\" fill=\"#d32f2f\" fill-opacity=\"0.13\"><title>" +
             xml(w.name + ": " + show_span(w) + ", injected " + std::to_string(w.injected) +
                 ", success " + show_percent(w.success_rate) + ", recovery " +
                 show_seconds(w.recovery_s)) +
             "</title></rect>\n";
        o += "<text x=\"" + num(x0 + 3) + "\" y=\"" + num(kTop - 6) +
             "\" fill=\"#b71c1c\" font-size=\"11\">" + xml(name) + "</text>\n";
    }
    return o;
}

// Each panel's frame, title and value axis (0, half, max).
std::string SvgChart::panel_axes() const {
    std::string o;
    for (const Panel& p : panels_) {
        o += "<rect x=\"" + num(kLeft) + "\" y=\"" + num(p.top) + "\" width=\"" +
             num(kRight - kLeft) + "\" height=\"" + num(p.height) +
             "\" fill=\"none\" stroke=\"#999999\"/>\n";
        std::string mid = num(p.top + p.height / 2);
        o += "<text x=\"16\" y=\"" + mid + "\" transform=\"rotate(-90 16 " + mid +
             ")\" text-anchor=\"middle\" fill=\"#333333\">" + xml(p.title) + "</text>\n";
        for (int k = 0; k <= 2; ++k) {
            double v = p.max * k / 2, y = Y(p, v);
            o += "<line x1=\"" + num(kLeft - 4) + "\" y1=\"" + num(y) + "\" x2=\"" + num(kLeft) +
                 "\" y2=\"" + num(y) + "\" stroke=\"#999999\"/>\n";
            o += "<text x=\"" + num(kLeft - 7) + "\" y=\"" + num(y + 4) +
                 "\" text-anchor=\"end\">" + label_num(v) + "</text>\n";
        }
    }
    return o;
}

// The baseline's rate, a dashed line across the operations panel.
std::string SvgChart::baseline() const {
    if (!base_rate_) return "";
    const Panel& p = panels_[0];
    double y = Y(p, *base_rate_);
    std::string o;
    o += "<line x1=\"" + num(kLeft) + "\" y1=\"" + num(y) + "\" x2=\"" + num(kRight) + "\" y2=\"" +
         num(y) + "\" stroke=\"#1565c0\" stroke-dasharray=\"4 4\" stroke-opacity=\"0.6\"/>\n";
    o += "<text x=\"" + num(kRight - 4) + "\" y=\"" + num(y + 13) +
         "\" text-anchor=\"end\" fill=\"#1565c0\" font-size=\"10\">baseline</text>\n";
    return o;
}

// The data: a path per panel, broken where a bucket has no value.
std::string SvgChart::series() const {
    const char* colours[3] = {"#1565c0", "#2e7d32", "#ef6c00"};
    std::string o;
    for (int k = 0; k < 3; ++k) {
        const Panel& p = panels_[k];
        std::string d;
        bool pen = false;
        for (const SeriesPoint& s : r_.series) {
            std::optional<double> v;
            if (k == 0) v = s.ops_per_s;
            if (k == 1 && s.success) v = *s.success * 100;
            if (k == 2) v = s.p50_ms;
            if (!v || !std::isfinite(*v)) {
                pen = false;
                continue;
            }
            double y = Y(p, *v);
            d += (pen ? " L" : (d.empty() ? "M" : " M")) + num(X(s.t_s + s.width_s / 2)) + " " +
                 num(y);
            pen = true;
        }
        o += "<path id=\"" + std::string(p.id) + "\" d=\"" + d + "\" fill=\"none\" stroke=\"" +
             colours[k] +
             "\" stroke-width=\"1.5\" stroke-linejoin=\"round\" stroke-linecap=\"round\"/>\n";
    }
    if (r_.series.empty())
        o += "<text x=\"" + num((kLeft + kRight) / 2) + "\" y=\"" + num(kTop + 70) +
             "\" text-anchor=\"middle\" fill=\"#999999\">no data recorded</text>\n";
    return o;
}

std::string SvgChart::time_label() const {
    return "<text x=\"" + num((kLeft + kRight) / 2) + "\" y=\"" + num(kBottom + 36) +
           "\" text-anchor=\"middle\" fill=\"#333333\">time since the session began (s)</text>\n";
}

std::string format_svg(const Report& r) {
    return SvgChart(r).draw();
}

// ---- html

std::string format_html(const Report& r) {
    std::string o = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n";
    o += "<title>" + xml("faultline report: " + r.session) + "</title>\n";
    o += "<style>\n"
         "body { font-family: sans-serif; margin: 2em; color: #222; }\n"
         "table { border-collapse: collapse; margin: 1em 0; }\n"
         "th, td { border: 1px solid #ccc; padding: 4px 10px; }\n"
         "th { background: #f3f3f3; text-align: left; }\n"
         "td.num { text-align: right; font-variant-numeric: tabular-nums; }\n"
         "td.held { color: #2e7d32; font-weight: bold; }\n"
         "td.deviated { color: #c62828; font-weight: bold; }\n"
         "td.inconclusive { color: #ef6c00; font-weight: bold; }\n"
         "pre { background: #f7f7f7; padding: 1em; overflow: auto; }\n"
         "</style>\n</head>\n<body>\n";
    o += "<h1>" + xml("faultline report: " + r.session) + "</h1>\n";
    o += "<p>" + xml(summary_line(r)) + "</p>\n";

    o += "<table>\n<thead><tr>";
    for (const Column& c : kColumns) o += "<th>" + xml(c.title) + "</th>";
    o += "</tr></thead>\n<tbody>\n";
    auto rows = table_rows(r);
    for (size_t i = 0; i < rows.size(); ++i) {
        o += "<tr>";
        for (size_t c = 0; c < kColumnCount; ++c) {
            std::string cls = kColumns[c].right ? "num" : "";
            if (c == 7 && !r.windows[i].verdict.empty()) cls = r.windows[i].verdict;
            o += (cls.empty() ? "<td>" : "<td class=\"" + cls + "\">") + xml(rows[i][c]) + "</td>";
        }
        o += "</tr>\n";
    }
    o += "</tbody>\n</table>\n";

    std::string devs;
    for (const WindowReport& w : r.windows)
        for (const std::string& d : w.deviations)
            devs += "<li>" + xml(w.name + ": " + d) + "</li>\n";
    if (!devs.empty()) o += "<ul class=\"deviations\">\n" + devs + "</ul>\n";
    std::string failures;
    for (const WindowReport& w : r.windows)
        if (!w.failures.empty())
            failures += "<li>" + xml(w.name + ": " + show_failures(w)) + "</li>\n";
    if (!failures.empty())
        o += "<h2>Failures, by what they said</h2>\n<ul class=\"failures\">\n" + failures +
             "</ul>\n";
    if (!r.exits.empty()) {
        o += "<h2>Processes that ended</h2>\n<ul class=\"exits\">\n";
        for (size_t i = 0; i < r.exits.size(); ++i)
            o += "<li>" + xml(show_exit(r.exits[i], r.exit_windows[i])) + "</li>\n";
        o += "</ul>\n";
    }
    if (!r.leaks.empty()) {
        o += "<h2>Suspected leaks</h2>\n<ul class=\"leaks\">\n";
        for (const LeakSuspect& l : r.leaks) o += "<li>" + xml(show_leak(l)) + "</li>\n";
        o += "</ul>\n";
    }
    o += format_svg(r);
    o += "<details>\n<summary>JSON</summary>\n<pre>" + xml(format_json(r)) +
         "</pre>\n</details>\n</body>\n</html>\n";
    return o;
}

} // namespace

bool parse_report_format(const std::string& name, ReportFormat& out) {
    static const std::pair<const char*, ReportFormat> kNames[] = {
        {"table", ReportFormat::Table}, {"json", ReportFormat::Json}, {"csv", ReportFormat::Csv},
        {"svg", ReportFormat::Svg},     {"html", ReportFormat::Html},
    };
    for (const auto& [n, f] : kNames)
        if (name == n) {
            out = f;
            return true;
        }
    return false;
}

std::string format_report(const Report& r, ReportFormat f) {
    switch (f) {
    case ReportFormat::Table:
        return format_table(r);
    case ReportFormat::Json:
        return format_json(r);
    case ReportFormat::Csv:
        return format_csv(r);
    case ReportFormat::Svg:
        return format_svg(r);
    case ReportFormat::Html:
        return format_html(r);
    }
    return {};
}

} // namespace faultline
