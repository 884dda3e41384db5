#include "controller/cli/session.h"

#include "common/rule_parser.h"
#include "controller/cli/cli.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>

namespace faultline {

using cli::fail;

Session Session::open(const std::string& name, const char* command) {
    SegmentError err;
    Segment* seg = segment_open(name, err, Opener::OwnerOrRoot);
    if (!seg) fail(command, "session '" + name + "': " + segment_error_text(err));
    return Session(seg, name);
}

Session Session::create(const std::string& name, uint64_t seed, const char* command) {
    SegmentError err;
    Segment* seg = segment_create(name, seed, err);
    if (!seg) fail(command, "session '" + name + "': " + segment_error_text(err));
    return Session(seg, name);
}

std::vector<uint32_t> Session::arm(std::vector<Rule>& rules, const char* command) {
    // Names are input: say which one clashes (segment_arm checks again under
    // its lock, for enables racing each other).
    for (size_t i = 0; i < rules.size(); ++i) {
        std::string name = rules[i].name;
        if (name.empty()) continue;
        for (size_t j = 0; j < i; ++j)
            if (name == rules[j].name) fail(command, "rule name '" + name + "' is given twice");
        for (auto& r : this->rules())
            if (r.name == name && r.state != "retired")
                fail(command, "rule name '" + name + "' is already armed in session '" + name_ +
                                  "' (rule " + std::to_string(r.id) + ")");
    }
    std::vector<uint32_t> ids(rules.size());
    const char* why = nullptr;
    if (!rules.empty() && !segment_arm(seg_, rules.data(), rules.size(), ids.data(), why))
        fail(command, std::string("nothing armed: ") + why, cli::kCheckFailed);
    return ids;
}

std::vector<RuleView> Session::rules() const {
    std::vector<RuleView> out;
    int64_t now = monotonic_ns();
    int64_t created_mono = now - (realtime_ns() - seg_->created_ns);
    for (unsigned i = 0; i < kMaxRules; ++i) {
        const RuleSlot& s = seg_->rules[i];
        RuleState st = state_of(s.state.load(std::memory_order_acquire));
        if (st != RuleState::Armed && st != RuleState::Retired) continue;
        RuleView v;
        v.slot = i;
        v.id = s.id;
        v.name = s.rule.name;
        v.text = s.rule.text;
        v.counters = segment_rule_counters(seg_, i);
        v.armed_at_s = double(s.armed_ns - created_mono) / 1e9;
        v.retired_at_s = -1;
        if (st == RuleState::Retired) {
            v.state = "retired";
            v.retired_at_s = double(s.retired_ns.load() - created_mono) / 1e9;
        } else if (now < s.armed_ns + s.rule.start_ns) {
            v.state = "pending";
        } else if (s.rule.for_ns && now >= s.armed_ns + s.rule.start_ns + s.rule.for_ns) {
            v.state = "expired"; // retired at the target's next call
        } else {
            v.state = "armed";
        }
        out.push_back(std::move(v));
    }
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.id < b.id; });
    return out;
}

std::vector<ProcessView> Session::processes() const {
    std::vector<ProcessView> out;
    for (auto& p : seg_->processes) {
        int32_t pid = p.pid.load(std::memory_order_acquire);
        if (pid && process_alive(pid, p.start_ticks))
            out.push_back(
                {pid, std::string(p.comm, strnlen(p.comm, sizeof p.comm)), p.client != 0});
    }
    return out;
}

std::vector<Rule> parse_rule_texts(const std::vector<std::string>& texts, const char* command) {
    std::vector<Rule> rules;
    for (auto& text : texts) {
        std::vector<Rule> some(kMaxRules);
        size_t n = 0;
        ParseError err;
        if (!parse_rules(text, some.data(), some.size(), n, err))
            fail(command, "rule '" + text + "': '" + err.token + "': " + err.why);
        // "" or " ; ": a rule that says nothing is a mistake (an unset shell
        // variable), never "no rules".
        if (n == 0) fail(command, "rule '" + text + "': empty: give a rule, e.g. 'mem.fail p=1%'");
        rules.insert(rules.end(), some.begin(), some.begin() + long(n));
    }
    if (rules.size() > kMaxRules) fail(command, "too many rules (63 at most)");
    return rules;
}

std::vector<SessionInfo> list_sessions() {
    std::vector<SessionInfo> out;
    DIR* dir = opendir("/dev/shm");
    if (!dir) return out;
    while (dirent* e = readdir(dir)) {
        std::string file = e->d_name;
        if (file.rfind("faultline.", 0) != 0) continue;
        SessionInfo info;
        info.name = file.substr(10);
        SegmentError err;
        Segment* seg = segment_open(info.name, err, Opener::OwnerOrRoot);
        if (!seg) {
            info.problem = segment_error_text(err);
        } else {
            info.valid = true;
            info.stale = segment_is_stale(seg);
            info.live_processes = segment_live_processes(seg);
            info.controller_pid = seg->controller_pid.load();
            for (auto& m : seg->armed)
                info.armed_rules += unsigned(__builtin_popcountll(m.load() & kRuleBits));
            segment_unmap(seg);
        }
        out.push_back(std::move(info));
    }
    closedir(dir);
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
    return out;
}

} // namespace faultline
