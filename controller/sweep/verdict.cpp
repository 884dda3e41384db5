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

// The C and C++ runtimes: their frames are the wrappers a program calls
// (strdup, operator new, fopen) and the way to a signal (raise, abort).
bool runtime_frame(const std::string& frame) {
    for (const char* object :
         {"(libc.so.6)", "(ld-linux-x86-64.so.2)", "(libstdc++.so.6)", "(libgcc_s.so.1)"})
        if (frame.size() >= strlen(object) &&
            frame.compare(frame.size() - strlen(object), std::string::npos, object) == 0)
            return true;
    return false;
}

// The first `n` frames of `stack` outside the runtimes (all runtime frames
// when it has no other): the program's own place in it.
std::string program_place(const std::vector<std::string>& stack, size_t n) {
    std::string key;
    size_t taken = 0;
    for (const auto& frame : stack)
        if (!runtime_frame(frame) && taken++ < n) key += frame + "\n";
    if (taken == 0)
        for (size_t i = 0; i < stack.size() && i < n; ++i) key += stack[i] + "\n";
    return key;
}

// Where a run crashed: the crashing stack's first frame of the program.
std::string crash_site(const RunResult& r) {
    return r.crashes.empty() ? "" : program_place(r.crashes.front().stack, 1);
}

} // namespace

std::string program_frame(const std::vector<std::string>& stack) {
    std::string place = program_place(stack, 1);
    return place.empty() ? place : place.substr(0, place.size() - 1);
}

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
        Key key{int(o), sig, kHooks[unsigned(site.hook)].name, program_place(site.stack, 1),
                crash_site(run.result)};
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
