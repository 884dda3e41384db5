#include "controller/experiment/experiment.h"

#include "controller/cli/cli.h"

#include "common/rule_parser.h"
#include "common/segment.h"
#include "common/units.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <stdexcept>

// toml++ 3.3 asserts (and under NDEBUG, assumes) its parser's invariants, and
// some malformed files break them ("[?", found by fuzz_experiment): an
// abort, or undefined behaviour. Here a broken invariant is an error instead.
// (Raised from the parser's own functions, which may throw; an invariant of a
// noexcept helper would still terminate, as before.)
namespace faultline {
[[noreturn]] void toml_invariant_broken();
}
#undef NDEBUG
#define TOML_ASSERT(expr) ((expr) ? static_cast<void>(0) : faultline::toml_invariant_broken())
#include <toml++/toml.h>

namespace faultline {

void toml_invariant_broken() {
    throw std::invalid_argument("malformed TOML");
}

namespace {

// The first byte >= 0x80 that is not inside a string or a comment, or npos.
// (A lexer of TOML's strings and comments, nothing more.)
size_t non_ascii_outside_strings(const std::string& s) {
    size_t i = 0, n = s.size();
    auto starts = [&](const char* p) { return s.compare(i, strlen(p), p) == 0; };
    while (i < n) {
        char c = s[i];
        if (c == '#') {
            while (i < n && s[i] != '\n') ++i;
        } else if (starts("\"\"\"") || starts("\'\'\'")) {
            std::string close = s.substr(i, 3);
            size_t end = s.find(close, i + 3);
            if (close[0] == '"') // a \""" inside is not the end
                while (end != std::string::npos && s[end - 1] == '\\') end = s.find(close, end + 1);
            i = end == std::string::npos ? n : end + 3;
        } else if (c == '"' || c == '\'') {
            for (++i; i < n && s[i] != c && s[i] != '\n'; ++i)
                if (c == '"' && s[i] == '\\') ++i;
            ++i;
        } else if ((unsigned char)c >= 0x80) {
            return i;
        } else {
            ++i;
        }
    }
    return std::string::npos;
}

// Errors name the file, line and column of the node they are about.
class Checker {
  public:
    Checker(std::string path, const char* command) : path_(std::move(path)), command_(command) {}

    // A problem with no node to point at: "FILE: why".
    [[noreturn]] void fail_file(const std::string& why) const {
        cli::fail(command_, path_ + ": " + why);
    }

    [[noreturn]] void fail_at(const toml::source_region& where, const std::string& why) const {
        cli::fail(command_, path_ + ":" + std::to_string(where.begin.line) + ":" +
                                std::to_string(where.begin.column) + ": " + why);
    }

    // Every key of `t` must be one of `allowed`.
    void keys(const toml::table& t, std::initializer_list<const char*> allowed,
              const std::string& where) const {
        for (auto&& [k, v] : t) {
            bool ok = false;
            for (const char* a : allowed) ok = ok || k.str() == a;
            if (!ok) {
                std::string list;
                for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
                fail_at(k.source(), "unknown key '" + std::string(k.str()) + "' in " + where +
                                        " (expected: " + list + ")");
            }
        }
    }

    std::string string(const toml::node& n, const std::string& what) const {
        if (auto s = n.value<std::string>(); s && n.is_string()) return *s;
        fail_at(n.source(), what + ": expected a string");
    }

    double number(const toml::node& n, const std::string& what) const {
        if (n.is_floating_point() || n.is_integer()) return *n.value<double>();
        fail_at(n.source(), what + ": expected a number");
    }

    double fraction(const toml::node& n, const std::string& what) const {
        double v = number(n, what);
        if (v < 0 || v > 1) fail_at(n.source(), what + ": expected a fraction between 0 and 1");
        return v;
    }

    int64_t duration(const toml::node& n, const std::string& what) const {
        std::string s = string(n, what);
        int64_t ns = 0;
        const char* why = nullptr;
        if (!parse_duration(s, ns, why))
            fail_at(n.source(), what + " '" + s + "': " + (why ? why : "bad duration"));
        return ns;
    }

    // A command: an array of strings, or one string run by /bin/sh -c.
    std::vector<std::string> command(const toml::node& n, const std::string& what) const {
        if (n.is_string()) return {"/bin/sh", "-c", *n.value<std::string>()};
        const toml::array* a = n.as_array();
        if (!a || a->empty())
            fail_at(n.source(), what + ": expected a non-empty array of strings, or a string");
        std::vector<std::string> out;
        for (auto& e : *a) out.push_back(string(e, what));
        return out;
    }

    const toml::table& table(const toml::node& n, const std::string& what) const {
        if (const toml::table* t = n.as_table()) return *t;
        fail_at(n.source(), what + ": expected a table");
    }

    // Rules: an array of strings, each one or more rules separated by ';'.
    std::vector<Rule> rules(const toml::node& n, const std::string& what) const {
        const toml::array* a = n.as_array();
        if (!a) fail_at(n.source(), what + ": expected an array of rule strings");
        std::vector<Rule> out;
        for (auto& e : *a) {
            std::string text = string(e, what);
            std::vector<Rule> some(kMaxRules);
            size_t count = 0;
            ParseError err;
            if (!parse_rules(text, some.data(), some.size(), count, err))
                fail_at(e.source(), "rule '" + text + "': '" + err.token + "': " + err.why);
            if (count == 0) fail_at(e.source(), "rule '" + text + "': empty");
            out.insert(out.end(), some.begin(), some.begin() + long(count));
        }
        if (out.size() > kMaxRules) fail_at(n.source(), what + ": more than 63 rules");
        return out;
    }

    toml::table parse() const {
        std::ifstream in(path_, std::ios::binary);
        if (!in) cli::fail(command_, path_ + ": " + strerror(errno));
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        // No TOML document holds a NUL byte; TOML allows non-ASCII text only
        // in strings and comments; and toml++ 3.3 reaches undefined behaviour
        // on some of both elsewhere (found by fuzz_experiment). Refuse them
        // first, with their position.
        auto at = [&](size_t i, const char* why) {
            size_t line = 1 + size_t(std::count(text.begin(), text.begin() + long(i), '\n'));
            size_t bol = text.rfind('\n', i);
            size_t col = i - (bol == std::string::npos || bol == i ? 0 : bol + 1) + 1;
            cli::fail(command_,
                      path_ + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + why);
        };
        if (size_t nul = text.find('\0'); nul != std::string::npos)
            at(nul, "a NUL byte: not a text file");
        if (size_t i = non_ascii_outside_strings(text); i != std::string::npos)
            at(i, "a non-ASCII character outside a string or a comment");
        try {
            return toml::parse(text, path_);
        } catch (const std::invalid_argument&) {
            cli::fail(command_, path_ + ": not valid TOML (the parser gave up without a position)");
        } catch (const toml::parse_error& e) {
            if (e.source().begin.line == 0)
                cli::fail(command_, path_ + ": " + std::string(e.description()));
            fail_at(e.source(), std::string(e.description()));
        }
    }

  private:
    std::string path_;
    const char* command_;
};

// Rule names derived from a phase name: letters, digits, '-', '_' and '.'.
std::string name_from_phase(const std::string& phase) {
    std::string out;
    for (char c : phase) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
        out += ok ? c : '-';
    }
    return out.substr(0, 24);
}

void name_rules(std::vector<Rule>& rules, const std::string& base) {
    unsigned k = 0;
    for (Rule& r : rules) {
        if (r.name[0]) continue;
        std::string n = rules.size() == 1 ? base : base + "." + std::to_string(++k);
        snprintf(r.name, sizeof r.name, "%s", n.c_str());
    }
}

} // namespace

std::string phase_rule_name(const std::string& phase) {
    return name_from_phase(phase);
}

Rule with_probability(const Rule& r, double p) {
    Rule out = r;
    out.p = p;
    out.keys |= uint64_t(1) << kKeyP;
    // The text as written, with p= replaced (or added).
    std::string text = r.text, kept;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find(' ', start);
        if (end == std::string::npos) end = text.size();
        std::string token = text.substr(start, end - start);
        if (token.rfind("p=", 0) != 0 && !token.empty()) kept += (kept.empty() ? "" : " ") + token;
        start = end + 1;
    }
    char pbuf[32];
    snprintf(pbuf, sizeof pbuf, " p=%.4g", p);
    kept += pbuf;
    snprintf(out.text, sizeof out.text, "%s", kept.c_str());
    return out;
}

namespace {

// The top-level values: name, seed, output and the whole-run rules.
void load_top_level(const Checker& c, const toml::table& root, Experiment& x) {
    if (auto n = root.get("name")) x.name = c.string(*n, "name");
    if (auto n = root.get("seed")) {
        auto v = n->value<int64_t>();
        if (!n->is_integer() || !v || *v < 0)
            c.fail_at(n->source(), "seed: expected a whole number >= 0");
        x.seed = uint64_t(*v);
    }
    if (auto n = root.get("output")) x.output = c.string(*n, "output");
    if (auto n = root.get("rules")) x.rules = c.rules(*n, "rules");
}

// A boolean key of a process table (`inherit`, `shim`), when given.
void load_process_flag(const Checker& c, const toml::table& t, const char* key,
                       const std::string& what, bool& out) {
    if (auto n = t.get(key)) {
        if (!n->is_boolean()) c.fail_at(n->source(), what + ": expected true or false");
        out = *n->value<bool>();
    }
}

// [target]: the command started under the shim, or a live session to join.
void load_target(const Checker& c, const toml::table& root, Experiment& x) {
    const toml::node* target = root.get("target");
    if (!target) c.fail_file("no [target]: give target.command or target.session");
    const toml::table& t = c.table(*target, "target");
    c.keys(t, {"command", "session", "inherit"}, "[target]");
    bool has_cmd = t.contains("command"), has_session = t.contains("session");
    if (has_cmd == has_session)
        c.fail_at(t.source(), "[target]: give exactly one of command and session");
    if (has_session) {
        x.session = c.string(*t.get("session"), "target.session");
        if (!valid_session_name(x.session))
            c.fail_at(t.get("session")->source(), "target.session: not a valid session name");
    } else {
        ExperimentProcess p;
        p.command = c.command(*t.get("command"), "target.command");
        load_process_flag(c, t, "inherit", "target.inherit", p.inherit);
        x.processes.push_back(std::move(p));
    }
}

// [[process]]: more programs, started after the target.
void load_processes(const Checker& c, const toml::table& root, Experiment& x) {
    auto n = root.get("process");
    if (!n) return;
    const toml::array* a = n->as_array();
    if (!a) c.fail_at(n->source(), "process: expected [[process]] tables");
    for (auto& e : *a) {
        const toml::table& pt = c.table(e, "[[process]]");
        c.keys(pt, {"command", "inherit", "shim", "role"}, "[[process]]");
        ExperimentProcess p;
        if (!pt.contains("command")) c.fail_at(pt.source(), "[[process]]: command is required");
        p.command = c.command(*pt.get("command"), "process.command");
        load_process_flag(c, pt, "inherit", "process.inherit", p.inherit);
        load_process_flag(c, pt, "shim", "process.shim", p.shim);
        if (auto r = pt.get("role")) {
            std::string role = c.string(*r, "process.role");
            if (role != "target" && role != "client")
                c.fail_at(r->source(),
                          "process.role '" + role + "': expected \"target\" or \"client\"");
            p.client = role == "client";
            // A client's exchanges are seen by the shim: without it there
            // would be no operations, and nothing would say why.
            if (p.client && !p.shim)
                c.fail_at(r->source(), "process.role \"client\" needs the shim, but process.shim "
                                       "is false (a load generator that marks: leave role out)");
        }
        x.processes.push_back(std::move(p));
    }
}

// [steady_state]'s probe: what it runs, how often, for how long at most.
void load_probe(const Checker& c, const toml::table& s, SteadyState& steady) {
    if (auto v = s.get("probe")) steady.probe = c.command(*v, "steady_state.probe");
    if (auto v = s.get("every")) steady.every_ns = c.duration(*v, "steady_state.every");
    if (auto v = s.get("timeout")) steady.timeout_ns = c.duration(*v, "steady_state.timeout");
    if (steady.every_ns <= 0)
        c.fail_at(s.get("every")->source(), "steady_state.every: must be > 0");
}

// [steady_state]'s tolerances, and how long recovery must hold.
void load_tolerances(const Checker& c, const toml::table& s, SteadyState& steady) {
    Tolerances& tol = steady.tolerances;
    if (auto v = s.get("min_success")) tol.min_success = c.fraction(*v, "steady_state.min_success");
    if (auto v = s.get("max_recovery"))
        tol.max_recovery_s = double(c.duration(*v, "steady_state.max_recovery")) / 1e9;
    if (auto v = s.get("max_throughput_drop"))
        tol.max_throughput_drop = c.fraction(*v, "steady_state.max_throughput_drop");
    if (auto v = s.get("recovery_window"))
        steady.recovery_window_s = double(c.duration(*v, "steady_state.recovery_window")) / 1e9;
}

void load_steady_state(const Checker& c, const toml::table& root, Experiment& x) {
    auto n = root.get("steady_state");
    if (!n) return;
    const toml::table& s = c.table(*n, "steady_state");
    c.keys(s,
           {"probe", "every", "timeout", "min_success", "max_recovery", "max_throughput_drop",
            "recovery_window"},
           "[steady_state]");
    load_probe(c, s, x.steady);
    load_tolerances(c, s, x.steady);
}

// phase.ramp: `p` from FROM to TO in `steps`, over the phase's rules.
Ramp load_ramp(const Checker& c, const toml::node& r, const Phase& ph) {
    const toml::table& rt = c.table(r, "phase.ramp");
    c.keys(rt, {"p", "steps"}, "phase.ramp");
    const toml::node* p = rt.get("p");
    const toml::array* range = p ? p->as_array() : nullptr;
    if (!range || range->size() != 2)
        c.fail_at(p ? p->source() : rt.source(), "phase.ramp.p: expected [FROM, TO]");
    Ramp ramp;
    ramp.from = c.fraction(*range->get(0), "phase.ramp.p");
    ramp.to = c.fraction(*range->get(1), "phase.ramp.p");
    if (auto s = rt.get("steps")) {
        auto v = s->value<int64_t>();
        if (!s->is_integer() || !v || *v < 2 || *v > 1000)
            c.fail_at(s->source(), "phase.ramp.steps: expected a whole number, 2 to 1000");
        ramp.steps = unsigned(*v);
    }
    if (ph.rules.empty()) c.fail_at(r.source(), "phase.ramp: the phase has no rules to ramp");
    return ramp;
}

// One [[phase]]; `number` (from 1) names it when it has no name, `names`
// holds the names taken by the phases before it.
Phase load_phase(const Checker& c, const toml::node& e, size_t number,
                 std::set<std::string>& names) {
    const toml::table& pt = c.table(e, "[[phase]]");
    c.keys(pt, {"name", "duration", "rules", "ramp", "pause"}, "[[phase]]");
    Phase ph;
    ph.name = pt.contains("name") ? c.string(*pt.get("name"), "phase.name")
                                  : "phase" + std::to_string(number);
    if (!names.insert(ph.name).second)
        c.fail_at(pt.source(), "phase '" + ph.name + "': the name is used twice");
    if (!pt.contains("duration"))
        c.fail_at(pt.source(), "phase '" + ph.name + "': duration is required");
    ph.duration_ns = c.duration(*pt.get("duration"), "phase.duration");
    if (ph.duration_ns <= 0) c.fail_at(pt.get("duration")->source(), "phase.duration: must be > 0");
    if (auto r = pt.get("rules")) ph.rules = c.rules(*r, "phase.rules");
    if (auto v = pt.get("pause")) {
        ph.pause_ns = c.duration(*v, "phase.pause");
        if (ph.pause_ns <= 0 || ph.pause_ns > ph.duration_ns)
            c.fail_at(v->source(), "phase.pause: must be > 0 and within the phase's duration");
    }
    name_rules(ph.rules, name_from_phase(ph.name));
    if (auto r = pt.get("ramp")) ph.ramp = load_ramp(c, *r, ph);
    return ph;
}

// The [[phase]] tables, returned for check_rule_slots to point into.
const toml::array& load_phases(const Checker& c, const toml::table& root, Experiment& x) {
    const toml::node* phases = root.get("phase");
    if (!phases) c.fail_file("no [[phase]]: an experiment needs at least one");
    const toml::array* pa = phases->as_array();
    if (!pa || pa->empty()) c.fail_at(phases->source(), "phase: expected [[phase]] tables");
    std::set<std::string> names;
    for (auto& e : *pa) x.phases.push_back(load_phase(c, e, x.phases.size() + 1, names));
    return *pa;
}

// Whole-run rules stay armed through every phase: both must fit at once.
void check_rule_slots(const Checker& c, const toml::array& pa, const Experiment& x) {
    for (size_t i = 0; i < x.phases.size(); ++i)
        if (x.rules.size() + x.phases[i].rules.size() > kMaxRules) {
            const toml::node* rules = pa.get(i)->as_table()->get("rules");
            c.fail_at(rules->source(), "phase '" + x.phases[i].name + "': its " +
                                           std::to_string(x.phases[i].rules.size()) +
                                           " rules and the " + std::to_string(x.rules.size()) +
                                           " whole-run rules exceed the 63 rule slots");
        }
}

} // namespace

Experiment load_experiment(const std::string& path, const char* command) {
    Checker c(path, command);
    toml::table root = c.parse();
    c.keys(root, {"name", "seed", "output", "rules", "target", "process", "steady_state", "phase"},
           "the file");
    Experiment x;
    x.path = path;
    load_top_level(c, root, x);
    load_target(c, root, x);
    load_processes(c, root, x);
    load_steady_state(c, root, x);
    const toml::array& phases = load_phases(c, root, x);
    name_rules(x.rules, "experiment");
    check_rule_slots(c, phases, x);
    return x;
}

std::vector<Rule> load_rules_file(const std::string& path, const char* command) {
    Checker c(path, command);
    toml::table root = c.parse();
    const toml::node* n = root.get("rules");
    if (!n) cli::fail(command, path + ": no top-level 'rules' array");
    return c.rules(*n, "rules");
}

} // namespace faultline
