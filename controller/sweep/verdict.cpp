#include "controller/sweep/verdict.h"

#include "controller/sweep/plan.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <sys/wait.h>
#include <tuple>

namespace faultline::sweep {

namespace {

bool signaled(const RunResult& r) {
    return WIFSIGNALED(r.status) || !r.crashes.empty();
}

// The top frames of the crashing stack, which tell crash sites apart.
std::string crash_site(const RunResult& r) {
    if (r.crashes.empty()) return "";
    std::string key;
    const auto& stack = r.crashes.front().stack;
    for (size_t i = 0; i < stack.size() && i < 3; ++i) key += stack[i] + "\n";
    return key;
}

} // namespace

const char* outcome_name(Outcome o) {
    static const char* const names[kOutcomeCount] = {
        "handled", "crashed", "hung", "sanitizer", "probe-failed", "unreached", "not-run"};
    return names[unsigned(o)];
}

std::string sanitizer_line(const std::string& text) {
    static const char* const marks[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                                        "ERROR: MemorySanitizer", "WARNING: ThreadSanitizer",
                                        "runtime error:"};
    size_t best = std::string::npos;
    for (const char* m : marks) best = std::min(best, text.find(m));
    if (best == std::string::npos) return "";
    size_t start = text.rfind('\n', best);
    start = start == std::string::npos ? 0 : start + 1;
    size_t end = text.find('\n', best);
    return text.substr(start, end == std::string::npos ? end : end - start);
}

Outcome classify(const RunResult& r) {
    if (!r.ran) return Outcome::NotRun;
    if (r.injected == 0) return Outcome::Unreached;
    if (r.timed_out) return Outcome::Hung;
    if (!r.sanitizer.empty()) return Outcome::Sanitizer;
    if (signaled(r)) return Outcome::Crashed;
    if (r.probe_ran && !(WIFEXITED(r.probe_status) && WEXITSTATUS(r.probe_status) == 0))
        return Outcome::ProbeFailed;
    return Outcome::Handled;
}

int run_signal(const RunResult& r) {
    if (!r.crashes.empty()) return r.crashes.front().signal;
    return WIFSIGNALED(r.status) ? WTERMSIG(r.status) : 0;
}

std::string signal_name(int sig) {
    const char* abbrev = sig > 0 ? sigabbrev_np(sig) : nullptr;
    return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

std::vector<Finding> find(const Sweep& sweep) {
    using Key = std::tuple<int, int, std::string, std::string, std::string>;
    std::map<Key, size_t> index;
    std::vector<Finding> out;
    for (size_t i = 0; i < sweep.runs.size(); ++i) {
        const Run& run = sweep.runs[i];
        Outcome o = run.outcome;
        if (o != Outcome::Crashed && o != Outcome::Hung && o != Outcome::Sanitizer &&
            o != Outcome::ProbeFailed)
            continue;
        const Site& site = sweep.sites[run.site];
        int sig = o == Outcome::Crashed ? run_signal(run.result) : 0;
        std::string caller = site.stack.empty() ? "" : site.stack.front();
        Key key{int(o), sig, kHooks[unsigned(site.hook)].name, caller, crash_site(run.result)};
        auto [it, fresh] = index.emplace(key, out.size());
        if (fresh) {
            Finding f;
            f.outcome = o;
            f.signal = sig;
            f.function = kHooks[unsigned(site.hook)].name;
            f.stack = site.stack;
            if (!run.result.crashes.empty()) f.crash_stack = run.result.crashes.front().stack;
            f.reproduce = reproducer(run.rule, sweep.options.command, o, sweep.timeout_ns,
                                     sweep.faultline.empty() ? "faultline" : sweep.faultline);
            f.detail = o == Outcome::Sanitizer ? run.result.sanitizer : run.result.stderr_tail;
            out.push_back(std::move(f));
        }
        out[it->second].runs.push_back(i);
    }
    std::stable_sort(out.begin(), out.end(), [](const Finding& a, const Finding& b) {
        return a.runs.size() > b.runs.size();
    });
    return out;
}

} // namespace faultline::sweep
