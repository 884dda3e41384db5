// The report's formats (docs/metrics.md "Formats"): table, json, csv, svg,
// html. The JSON, CSV and XML are read back by small readers here; the SVG is
// also parsed by python's xml.etree in the integration tests.
#include "controller/report/report_format.h"

#include <cctype>
#include <cmath>
#include <doctest/doctest.h>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

using namespace faultline;

namespace {

// ---- a strict little JSON reader

struct Json {
    enum Type { Null, Bool, Number, String, Array, Object } type = Null;
    bool b = false;
    double n = 0;
    std::string s;
    std::vector<Json> a;
    std::map<std::string, Json> o;

    const Json& operator[](const std::string& k) const {
        auto it = o.find(k);
        REQUIRE_MESSAGE(it != o.end(), "no key " << k);
        return it->second;
    }
    const Json& operator[](size_t i) const {
        REQUIRE(i < a.size());
        return a[i];
    }
    bool has(const std::string& k) const { return o.count(k) > 0; }
};

struct JsonReader {
    const std::string& t;
    size_t i = 0;

    void ws() {
        while (i < t.size() && std::isspace(static_cast<unsigned char>(t[i]))) ++i;
    }
    bool eat(char c) {
        ws();
        if (i < t.size() && t[i] == c) return ++i, true;
        return false;
    }
    bool word(const char* w) {
        ws();
        size_t n = std::char_traits<char>::length(w);
        if (t.compare(i, n, w) != 0) return false;
        i += n;
        return true;
    }
    bool string(std::string& out) {
        if (!eat('"')) return false;
        while (i < t.size() && t[i] != '"') {
            auto c = static_cast<unsigned char>(t[i++]);
            if (c < 0x20) return false; // raw control characters are not JSON
            if (c != '\\') {
                out += char(c);
                continue;
            }
            if (i >= t.size()) return false;
            char e = t[i++];
            if (e == 'u') {
                if (i + 4 > t.size()) return false;
                out += char(std::stoi(t.substr(i, 4), nullptr, 16));
                i += 4;
            } else if (e == 'n') {
                out += '\n';
            } else if (e == 't') {
                out += '\t';
            } else if (e == '"' || e == '\\' || e == '/') {
                out += e;
            } else if (e == 'r') {
                out += '\r';
            } else {
                return false;
            }
        }
        return eat('"');
    }
    bool value(Json& v) {
        ws();
        if (i >= t.size()) return false;
        char c = t[i];
        if (c == '{') {
            ++i;
            v.type = Json::Object;
            if (eat('}')) return true;
            do {
                std::string k;
                Json x;
                if (!string(k) || !eat(':') || !value(x)) return false;
                if (v.o.count(k)) return false; // duplicate key
                v.o[k] = std::move(x);
            } while (eat(','));
            return eat('}');
        }
        if (c == '[') {
            ++i;
            v.type = Json::Array;
            if (eat(']')) return true;
            do {
                Json x;
                if (!value(x)) return false;
                v.a.push_back(std::move(x));
            } while (eat(','));
            return eat(']');
        }
        if (c == '"') {
            v.type = Json::String;
            return string(v.s);
        }
        if (word("null")) return true;
        if (word("true")) return v.type = Json::Bool, v.b = true, true;
        if (word("false")) return v.type = Json::Bool, true;
        size_t start = i;
        if (t[i] == '-') ++i;
        if (i >= t.size() || !std::isdigit(static_cast<unsigned char>(t[i]))) return false;
        while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '.' ||
                                t[i] == 'e' || t[i] == 'E' || t[i] == '+' || t[i] == '-'))
            ++i;
        v.type = Json::Number;
        v.n = std::stod(t.substr(start, i - start));
        return true;
    }
};

Json parse_json(const std::string& text) {
    JsonReader r{text};
    Json v;
    bool ok = r.value(v);
    r.ws();
    REQUIRE_MESSAGE(ok, "invalid JSON near offset " << r.i << ":\n" << text);
    REQUIRE_MESSAGE(r.i == text.size(), "trailing text after JSON");
    return v;
}

// ---- RFC 4180 reader

std::vector<std::vector<std::string>> parse_csv(const std::string& t) {
    std::vector<std::vector<std::string>> rows(1);
    std::string field;
    bool quoted = false, was_quoted = false;
    for (size_t i = 0; i < t.size(); ++i) {
        char c = t[i];
        if (quoted) {
            if (c == '"' && i + 1 < t.size() && t[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                field += c;
            }
        } else if (c == '"') {
            REQUIRE_MESSAGE(field.empty(), "quote inside an unquoted field");
            quoted = was_quoted = true;
        } else if (c == ',') {
            rows.back().push_back(field);
            field.clear();
            was_quoted = false;
        } else if (c == '\n') {
            rows.back().push_back(field);
            field.clear();
            was_quoted = false;
            rows.emplace_back();
        } else {
            REQUIRE_MESSAGE(!was_quoted, "text after a closing quote");
            field += c;
        }
    }
    REQUIRE_FALSE(quoted);
    if (!field.empty() || !rows.back().empty()) rows.back().push_back(field);
    if (rows.back().empty()) rows.pop_back();
    return rows;
}

// ---- XML well-formedness: balanced tags, quoted attributes, entities only

struct XmlCheck {
    bool ok = true;
    std::string why;
    std::map<std::string, int> elements;                   // element name -> count
    std::vector<std::map<std::string, std::string>> attrs; // every element's attributes
};

XmlCheck check_xml(const std::string& t) {
    XmlCheck x;
    std::vector<std::string> stack;
    auto bad = [&](std::string why) {
        if (x.ok) x.why = why;
        x.ok = false;
    };
    auto text_ok = [&](const std::string& s) {
        for (size_t k = 0; k < s.size(); ++k) {
            if (s[k] == '<') bad("raw < in text");
            if (s[k] == '&') {
                size_t semi = s.find(';', k);
                std::string ent = semi == std::string::npos ? "" : s.substr(k, semi - k + 1);
                if (ent != "&amp;" && ent != "&lt;" && ent != "&gt;" && ent != "&quot;" &&
                    ent != "&#39;")
                    bad("bad entity " + ent);
            }
        }
    };
    size_t i = 0;
    bool root_closed = false;
    while (i < t.size()) {
        size_t lt = t.find('<', i);
        std::string text = t.substr(i, lt == std::string::npos ? std::string::npos : lt - i);
        text_ok(text);
        if (stack.empty() && text.find_first_not_of(" \n\t\r") != std::string::npos)
            bad("text outside the root");
        if (lt == std::string::npos) break;
        size_t gt = t.find('>', lt);
        if (gt == std::string::npos) {
            bad("unterminated tag");
            break;
        }
        std::string tag = t.substr(lt + 1, gt - lt - 1);
        i = gt + 1;
        if (tag.empty()) {
            bad("empty tag");
            continue;
        }
        if (tag[0] == '/') {
            if (stack.empty() || stack.back() != tag.substr(1))
                bad("mismatched </" + tag.substr(1) + ">");
            else
                stack.pop_back();
            if (stack.empty()) root_closed = true;
            continue;
        }
        if (root_closed) bad("a second root element");
        bool self = tag.back() == '/';
        if (self) tag.pop_back();
        size_t sp = tag.find_first_of(" \n\t");
        std::string name = tag.substr(0, sp);
        x.elements[name]++;
        std::map<std::string, std::string> a;
        size_t k = sp == std::string::npos ? tag.size() : sp;
        while (k < tag.size()) {
            while (k < tag.size() && std::isspace(static_cast<unsigned char>(tag[k]))) ++k;
            if (k >= tag.size()) break;
            size_t eq = tag.find('=', k);
            if (eq == std::string::npos || eq + 1 >= tag.size() || tag[eq + 1] != '"') {
                bad("unquoted attribute in <" + name + ">");
                break;
            }
            size_t end = tag.find('"', eq + 2);
            if (end == std::string::npos) {
                bad("unterminated attribute");
                break;
            }
            std::string key = tag.substr(k, eq - k), val = tag.substr(eq + 2, end - eq - 2);
            text_ok(val);
            if (a.count(key)) bad("duplicate attribute " + key);
            a[key] = val;
            k = end + 1;
        }
        x.attrs.push_back(a);
        if (!self) stack.push_back(name);
        if (self && stack.empty()) root_closed = true;
    }
    if (!stack.empty()) bad("unclosed <" + stack.back() + ">");
    return x;
}

size_t count(const std::string& s, const std::string& what) {
    size_t n = 0;
    for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
    return n;
}

// The seed's scenario with a few awkward names: 10/s marks for 30 s, a
// fault from 10 to 20 s where every 4th fails, and an idle rule later.
Report sample_report(const Tolerances& tol = {}) {
    Timeline t;
    t.session = "api <\"test\"> & co";
    t.seed = 42;
    t.end_s = 30;
    t.dropped_events = 3;
    RuleSpan a;
    a.id = 1;
    a.name = "db-down";
    a.text = "db.error code=BUSY p=25% sql='INSERT, \"x\"'";
    a.family = Family::Db;
    a.armed_s = 10;
    a.retired_s = 20;
    a.injected = 25;
    RuleSpan b = a;
    b.id = 2;
    b.name = "idle";
    b.text = "net.reset on=recv";
    b.family = Family::Net;
    b.armed_s = 24;
    b.retired_s = 26;
    b.injected = 0;
    t.rules = {a, b};
    for (int i = 0; i < 300; ++i) {
        Outcome o;
        o.ok = !(i >= 100 && i < 200 && i % 4 == 0);
        o.probe = true;
        o.duration_ms = 1 + i % 10;
        // A probe is reported as it ends: it began 1-10 ms before. The first
        // began at 0 (the baseline's rate counts over all of it).
        o.t_s = i == 0 ? o.duration_ms / 1000 : i / 10.0 + 0.02;
        t.outcomes.push_back(o);
    }
    for (int i = 0; i <= 30; ++i) {
        ProcessSample p;
        p.t_s = i;
        p.pid = 123;
        p.comm = "leaky<1>";
        p.rss_mb = 50 + i;
        t.processes.push_back(p);
    }
    return compute_report(t, tol);
}

} // namespace

TEST_CASE("format names") {
    ReportFormat f = ReportFormat::Table;
    CHECK(parse_report_format("json", f));
    CHECK(f == ReportFormat::Json);
    CHECK(parse_report_format("csv", f));
    CHECK(f == ReportFormat::Csv);
    CHECK(parse_report_format("svg", f));
    CHECK(f == ReportFormat::Svg);
    CHECK(parse_report_format("html", f));
    CHECK(f == ReportFormat::Html);
    CHECK(parse_report_format("table", f));
    CHECK(f == ReportFormat::Table);
    CHECK_FALSE(parse_report_format("xml", f));
    CHECK_FALSE(parse_report_format("", f));
    CHECK(f == ReportFormat::Table); // unchanged by a failed parse
}

TEST_CASE("json: the report object of docs/recording.md") {
    Report r = sample_report();
    Json j = parse_json(format_report(r, ReportFormat::Json));
    CHECK(j["session"].s == r.session);
    CHECK(j["seed"].n == 42);
    CHECK(j["dropped_events"].n == 3);
    CHECK(j["source"].s == "outcomes");
    const Json& w = j["windows"];
    REQUIRE(w.a.size() == 3);
    CHECK(w[0]["name"].s == "baseline");
    CHECK(w[0]["start_s"].n == 0);
    CHECK(w[0]["end_s"].n == 10);
    CHECK(w[0]["rules"].a.empty());
    CHECK(w[0]["recovery_s"].type == Json::Null);
    CHECK(w[0]["throughput_change"].type == Json::Null);
    CHECK(w[0]["verdict"].type == Json::Null);
    CHECK(w[0]["success_rate"].n == 1);
    const Json& f = w[1];
    CHECK(f["name"].s == "db-down");
    CHECK(f["start_s"].n == 10);
    CHECK(f["end_s"].n == 20);
    REQUIRE(f["rules"].a.size() == 1);
    CHECK(f["rules"][0].s == "db.error code=BUSY p=25% sql='INSERT, \"x\"'");
    CHECK(f["injected"].n == 25);
    CHECK(f["success_rate"].n == doctest::Approx(0.75));
    CHECK(f["recovery_s"].n == doctest::Approx(0));
    CHECK(f["throughput_change"].n == doctest::Approx(-0.25)); // goodput: a quarter failed
    CHECK(f["goodput_per_s"].n == doctest::Approx(0.75 * f["ops_per_s"].n));
    CHECK(f["p50_ms"].n == 5); // probe durations 1..10 ms, ten of each
    CHECK(f["p99_ms"].n == 10);
    CHECK(f["verdict"].type == Json::Null);
    CHECK(f["ops"].n == 100);
    CHECK(f["failed"].n == 25);
    CHECK(w[2]["verdict"].s == "inconclusive");
    for (const char* k : {"name", "start_s", "end_s", "rules", "injected", "success_rate",
                          "recovery_s", "throughput_change", "p50_ms", "p99_ms", "verdict"})
        for (const Json& x : w.a) CHECK_MESSAGE(x.has(k), k);
    REQUIRE(j["leaks"].a.size() == 1);
    CHECK(j["leaks"][0]["pid"].n == 123);
    CHECK(j["leaks"][0]["mb_per_min"].n == doctest::Approx(60));
}

TEST_CASE("json: verdicts with tolerances, and numbers that stay finite") {
    Tolerances tol;
    tol.min_success = 0.9;
    Report r = sample_report(tol);
    Json j = parse_json(format_report(r, ReportFormat::Json));
    CHECK(j["windows"][1]["verdict"].s == "deviated");
    REQUIRE(j["windows"][1]["deviations"].a.size() == 1);
    CHECK(j["judged"].b);

    // a hand-made report with values the format must not print as nan/inf
    Report odd;
    odd.session = "odd\n\x01";
    WindowReport w;
    w.name = "baseline";
    w.end_s = 1;
    w.success_rate = std::nan("");
    w.p50_ms = INFINITY;
    odd.windows.push_back(w);
    Json k = parse_json(format_report(odd, ReportFormat::Json));
    CHECK(k["session"].s == "odd\n\x01");
    CHECK(k["windows"][0]["success_rate"].type == Json::Null);
    CHECK(k["windows"][0]["p50_ms"].type == Json::Null);

    Report empty;
    Json e = parse_json(format_report(empty, ReportFormat::Json));
    CHECK(e["windows"].a.empty());
}

TEST_CASE("csv: a header and one row per window, RFC 4180 quoting") {
    Report r = sample_report();
    auto rows = parse_csv(format_report(r, ReportFormat::Csv));
    REQUIRE(rows.size() == r.windows.size() + 1);
    const auto& head = rows[0];
    for (const auto& row : rows) CHECK(row.size() == head.size());
    auto col = [&](const std::string& name) {
        for (size_t c = 0; c < head.size(); ++c)
            if (head[c] == name) return c;
        FAIL("no column " << name);
        return size_t(0);
    };
    CHECK(rows[1][col("name")] == "baseline");
    CHECK(rows[2][col("name")] == "db-down");
    CHECK(rows[2][col("rules")] == "db.error code=BUSY p=25% sql='INSERT, \"x\"'");
    CHECK(std::stod(rows[2][col("success_rate")]) == doctest::Approx(0.75));
    CHECK(rows[1][col("recovery_s")] == ""); // none
    CHECK(rows[3][col("verdict")] == "inconclusive");
}

TEST_CASE("table: the seed's columns, aligned") {
    Tolerances tol;
    tol.min_success = 0.9;
    Report r = sample_report(tol);
    std::string t = format_report(r, ReportFormat::Table);
    CHECK(t.find("| Scenario ") != std::string::npos);
    CHECK(t.find("| Scenario | Success Rate | Recovery Time | Throughput Impact |") !=
          std::string::npos);
    CHECK(t.find("seed: 42") != std::string::npos);
    CHECK(t.find("dropped events: 3") != std::string::npos);
    // the rows: every table line has the same length and the same bars
    std::istringstream in(t);
    std::string line;
    std::vector<std::string> table;
    while (std::getline(in, line))
        if (!line.empty() && line[0] == '|') table.push_back(line);
    REQUIRE(table.size() == 2 + r.windows.size());
    std::vector<std::string> titles;
    std::istringstream cells(table[0]);
    for (std::string cell; std::getline(cells, cell, '|');) {
        cell.erase(0, cell.find_first_not_of(' '));
        cell.erase(cell.find_last_not_of(' ') + 1);
        if (!cell.empty()) titles.push_back(cell);
    }
    std::vector<std::string> seed = {
        "Scenario", "Success Rate", "Recovery Time", "Throughput Impact",
        "Injected", "p50",          "p99",           "Verdict"};
    REQUIRE(titles.size() >= seed.size());
    CHECK(std::vector<std::string>(titles.begin(), titles.begin() + 8) == seed);
    for (const std::string& l : table) {
        CHECK(l.size() == table[0].size());
        CHECK(count(l, "|") == count(table[0], "|"));
    }
    CHECK(table[2].find("| baseline ") == 0);
    CHECK(table[2].find("100.0%") != std::string::npos);
    CHECK(table[3].find("| db-down ") == 0);
    CHECK(table[3].find("75.0%") != std::string::npos);
    CHECK(table[3].find("-25.0%") != std::string::npos);
    CHECK(table[3].find("deviated") != std::string::npos);
    CHECK(table[4].find("inconclusive") != std::string::npos);
    CHECK(t.find("db-down: success rate 75.0% is below the minimum 90.0%") != std::string::npos);
    CHECK(t.find("pid 123 (leaky<1>)") != std::string::npos);
}

TEST_CASE("table: a throughput drop reads as a negative percentage") {
    Timeline tl;
    tl.end_s = 20;
    RuleSpan a;
    a.name = "slow";
    a.family = Family::Net;
    a.armed_s = 10;
    a.retired_s = 20;
    a.injected = 1;
    tl.rules.push_back(a);
    for (int i = 1; i <= 200; ++i) {
        Sample s;
        s.t_s = i / 10.0;
        s.calls[unsigned(Family::Net)] = i > 100 ? 75 : 100;
        tl.samples.push_back(s);
    }
    std::string t = format_report(compute_report(tl, {}), ReportFormat::Table);
    CHECK(t.find("-25.0%") != std::string::npos);
    CHECK(t.find("calls (net)") != std::string::npos);
}

TEST_CASE("svg: well-formed, three series, the fault windows shaded") {
    Report r = sample_report();
    std::string s = format_report(r, ReportFormat::Svg);
    XmlCheck x = check_xml(s);
    CHECK_MESSAGE(x.ok, x.why);
    CHECK(s.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
    std::map<std::string, std::string> ids;
    size_t windows = 0;
    for (const auto& a : x.attrs) {
        if (a.count("id")) ids[a.at("id")] = a.count("d") ? a.at("d") : "";
        if (a.count("class") && a.at("class") == "fault-window") ++windows;
    }
    CHECK(windows == r.windows.size() - 1);
    for (const char* id : {"series-ops", "series-success", "series-latency"}) {
        REQUIRE_MESSAGE(ids.count(id), id);
        // one point per bucket, unbroken here: every bucket has marks and probes
        CHECK(count(ids[id], "L") == r.series.size() - 1);
    }
    CHECK(s.find("api &lt;&quot;test&quot;&gt; &amp; co") != std::string::npos);
    CHECK(s.find(">db-down<") != std::string::npos);
    // every coordinate is a finite number
    for (const auto& a : x.attrs)
        for (const char* k : {"x", "y", "width", "height", "x1", "y1", "x2", "y2"})
            if (a.count(k)) CHECK_MESSAGE(std::isfinite(std::stod(a.at(k))), k << "=" << a.at(k));
    for (const auto& [id, d] : ids) {
        CHECK(d.find("nan") == std::string::npos);
        CHECK(d.find("inf") == std::string::npos);
    }

    // nothing recorded: still a document
    Report empty;
    XmlCheck e = check_xml(format_report(empty, ReportFormat::Svg));
    CHECK_MESSAGE(e.ok, e.why);
}

TEST_CASE("svg: a series breaks where a bucket has no value") {
    Timeline tl;
    tl.end_s = 10;
    for (int i = 0; i < 100; ++i) {
        if (i >= 40 && i < 60) continue; // silent from 4 to 6 s
        Outcome o;
        o.t_s = i / 10.0;
        o.ok = true;
        tl.outcomes.push_back(o);
    }
    MetricOptions opt;
    opt.bucket_s = 1;
    std::string s = format_report(compute_report(tl, {}, opt), ReportFormat::Svg);
    const std::string head = "id=\"series-success\" d=\"";
    size_t at = s.find(head);
    REQUIRE(at != std::string::npos);
    at += head.size();
    std::string d = s.substr(at, s.find('"', at) - at);
    CHECK(count(d, "M") == 2);
    CHECK(count(d, "L") == 6); // 4 points then 4 points
}

TEST_CASE("html: self-contained, with the table, the svg and the json") {
    Report r = sample_report();
    std::string h = format_report(r, ReportFormat::Html);
    CHECK(h.rfind("<!DOCTYPE html>", 0) == 0);
    CHECK(count(h, "<svg") == 1);
    CHECK(count(h, "</svg>") == 1);
    CHECK(h.find("<table>") < h.find("<svg"));
    CHECK(count(h, "<tr>") == 1 + r.windows.size());
    CHECK(h.find("<details>") != std::string::npos);
    CHECK(h.find("&quot;session&quot;") != std::string::npos); // the json, escaped
    CHECK(h.find("<title>faultline report: api &lt;") != std::string::npos);
    // no external resources
    CHECK(h.find("src=") == std::string::npos);
    CHECK(h.find("<link") == std::string::npos);
    CHECK(h.find("href=") == std::string::npos);
    CHECK(h.find("<script") == std::string::npos);
    // after the doctype, the page is well-formed XML too
    XmlCheck x = check_xml(h.substr(h.find("<html")));
    CHECK_MESSAGE(x.ok, x.why);
}

TEST_CASE("svg: large rates get short axis labels") {
    Timeline tl;
    tl.end_s = 10;
    for (int i = 1; i <= 100; ++i) {
        Sample s;
        s.t_s = i / 10.0;
        s.calls[unsigned(Family::Mem)] = 1500; // 15000 ops/s
        tl.samples.push_back(s);
    }
    std::string s = format_report(compute_report(tl, {}), ReportFormat::Svg);
    CHECK(s.find("e+") == std::string::npos);
    CHECK(s.find(">10k<") != std::string::npos); // 15k + 10% headroom: a 20k axis
    CHECK(s.find(">20k<") != std::string::npos);
}

TEST_CASE("exits: in their window's json, all of them at the top with their window, under the "
          "table") {
    Timeline t;
    t.session = "s";
    t.end_s = 10;
    RuleSpan a;
    a.id = 1;
    a.name = "oom";
    a.text = "mem.fail";
    a.armed_s = 2;
    a.retired_s = 6;
    a.injected = 3;
    t.rules = {a};
    ProcessExit killed;
    killed.t_s = 4;
    killed.pid = 77;
    killed.comm = "svc \"x\"";
    killed.signal = 6;
    killed.core = true;
    killed.target = true;
    ProcessExit later;
    later.t_s = 8; // after the window: in none
    later.pid = 78;
    later.comm = "child";
    later.status = 0;
    t.exits = {killed, later};
    Tolerances tol;
    tol.min_success = 0.0;
    Report r = compute_report(t, tol);
    Json j = parse_json(format_report(r, ReportFormat::Json));
    const Json& w = j["windows"];
    REQUIRE(w.a.size() == 2);
    CHECK(w[0]["exits"].a.empty());
    REQUIRE(w[1]["exits"].a.size() == 1);
    const Json& e = w[1]["exits"][0];
    CHECK(e["pid"].n == 77);
    CHECK(e["comm"].s == "svc \"x\"");
    CHECK(e["t_s"].n == 4);
    CHECK(e["status"].type == Json::Null);
    CHECK(e["signal"].n == 6);
    CHECK(e["core_dumped"].b);
    CHECK(e["target"].b);
    CHECK(w[1]["verdict"].s == "deviated");
    REQUIRE(j["exits"].a.size() == 2);
    CHECK(j["exits"][0]["window"].s == "oom");
    CHECK(j["exits"][1]["window"].type == Json::Null);
    CHECK(j["exits"][1]["status"].n == 0);
    CHECK(j["exits"][1]["signal"].type == Json::Null);
    std::string table = format_report(r, ReportFormat::Table);
    CHECK(table.find("processes that ended:\n"
                     "  4.0 s  pid 77 (svc \"x\"), a target, killed by signal 6 (SIGABRT), core "
                     "dumped  [oom]\n"
                     "  8.0 s  pid 78 (child) exited with status 0\n") != std::string::npos);
    CHECK(table.find("oom: process 77 (svc \"x\") killed by signal 6 (SIGABRT), core dumped at "
                     "4.0 s") != std::string::npos);
}
