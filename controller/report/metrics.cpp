// The report's figures. Every definition here is written out for users in
// docs/metrics.md; change both together.
#include "controller/report/metrics.h"

#include "common/hooks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>

namespace faultline {

namespace {

// A sample covers (previous sample, t_s]: it belongs to the span (a, b] that
// holds its end, so that a sample taken on a boundary counts wholly on the
// side it measured. The one taken at the very start (t <= 0) belongs to a
// span starting at 0.
bool sample_in(double t, double a, double b) {
    return (t > a || (a <= 0 && t <= 0)) && t <= b;
}

// An outcome is an instant: it belongs to [a, b), or to [a, b] when b is the
// end of the recording (nothing comes after it).
bool outcome_in(double t, double a, double b, bool closed) {
    return t >= a && (t < b || (closed && t <= b));
}

// When an outcome's operation began: an outcome is reported as it ends, so
// one with a duration (a probe run, a mark given --duration) began that long
// before. It belongs, wherever it is placed (windows, recovery spans, the
// timeline), to the time it began: a pause holds the requests it stalled.
double outcome_time(const Outcome& o) {
    return o.duration_ms >= 0 ? o.t_s - o.duration_ms / 1000 : o.t_s;
}

// One operation record: an outcome (ops = 1) or a sample's calls.
struct OpRecord {
    double t = 0;
    uint64_t ops = 0, failed = 0;
};

struct Window {
    double start = 0, end = 0;
    bool open = false;
    std::vector<size_t> rules; // indexes into Timeline::rules
};

// A rule that joins (an experiment's next ramp step or phase, armed as the
// last one is disarmed) armed this soon after the window's end continues
// it; any other rule only when it overlaps or touches the window.
constexpr double kRearmGap_s = 0.010;

std::vector<Window> fault_windows(const Timeline& t) {
    std::vector<size_t> order(t.rules.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return t.rules[a].armed_s < t.rules[b].armed_s; });
    std::vector<Window> out;
    for (size_t i : order) {
        const RuleSpan& r = t.rules[i];
        double start = std::clamp(r.armed_s, 0.0, std::max(t.end_s, 0.0));
        bool open = r.retired_s < 0;
        double end = open ? t.end_s : std::clamp(r.retired_s, start, std::max(t.end_s, start));
        bool rearmed = false;
        if (!out.empty() && r.joins)
            for (size_t j : out.back().rules)
                rearmed = rearmed || (t.rules[j].name == r.name && t.rules[j].retired_s >= 0 &&
                                      start >= t.rules[j].retired_s &&
                                      start - t.rules[j].retired_s <= kRearmGap_s);
        // Back to back (an experiment's next phase armed as the last is
        // disarmed) is one continuous fault period; a live `disable A;
        // enable B` is two.
        double gap = r.joins ? kRearmGap_s : 0;
        if (!out.empty() && (start <= out.back().end + gap || rearmed)) {
            Window& w = out.back();
            w.end = std::max(w.end, end);
            w.open = w.open || open;
            w.rules.push_back(i);
        } else {
            out.push_back({start, end, open, {i}});
        }
    }
    return out;
}

// The families whose calls are the operations of a window whose rules are
// `rules` (indexes into Timeline::rules; all of them for the session's
// families) (docs/metrics.md): the families its rules act on, or every
// family with calls when it has none but pauses.
std::vector<unsigned> measured_families(const Timeline& t, const std::vector<size_t>& rules) {
    std::array<uint64_t, kFamilyCount> calls{};
    for (const Sample& s : t.samples)
        for (unsigned f = 0; f < kFamilyCount; ++f) calls[f] += s.calls[f];
    std::array<bool, kFamilyCount> pick{};
    bool faults =
        std::any_of(rules.begin(), rules.end(), [&](size_t i) { return !t.rules[i].pause; });
    if (!faults) {
        for (unsigned f = 0; f < kFamilyCount; ++f) pick[f] = calls[f] > 0;
    } else {
        const auto db = unsigned(Family::Db), vfs = unsigned(Family::Vfs);
        for (size_t i : rules) {
            const RuleSpan& r = t.rules[i];
            if (r.pause) continue; // stops every family alike
            unsigned f = unsigned(r.family);
            if (f >= kFamilyCount) continue;
            // The program sees its file layer's faults through the SQLite API.
            if (f == vfs) f = calls[db] > 0 ? db : vfs;
            pick[f] = true;
        }
    }
    std::vector<unsigned> out;
    for (unsigned f = 0; f < kFamilyCount; ++f)
        if (pick[f]) out.push_back(f);
    return out;
}

// Nearest rank: the smallest value with at least q of them at or below it.
double nearest_rank(std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    auto n = double(v.size());
    auto rank = size_t(std::ceil(std::clamp(q, 0.0, 1.0) * n - 1e-9));
    rank = std::clamp<size_t>(rank, 1, v.size());
    return v[rank - 1];
}

// What a window or a bucket collects.
struct Tally {
    uint64_t ops = 0, failed = 0, dropped = 0;
    LatencyHistogram latency{};
    std::vector<double> probe_ms;
    std::map<std::string, uint64_t> failures; // failed outcomes by label

    std::optional<double> success() const {
        if (ops == 0) return std::nullopt;
        return double(ops - std::min(failed, ops)) / double(ops);
    }
    std::optional<double> percentile(double q) const {
        if (!probe_ms.empty()) return nearest_rank(probe_ms, q);
        return histogram_percentile_ms(latency, q);
    }
};

// Adds what the timeline holds inside a span to a tally: outcomes in
// [a, b) (or [a, b] when `closed`), samples in (a, b].
class Collector {
  public:
    Collector(const Timeline& t, std::vector<unsigned> families)
        : t_(t), families_(std::move(families)), outcomes_(!t.outcomes.empty()),
          calls_latency_(!t.exchanges) {}

    bool from_outcomes() const { return outcomes_; }

    void add_outcome(Tally& y, const Outcome& o) const {
        if (!outcomes_) return;
        y.ops += 1;
        y.failed += o.ok ? 0 : 1;
        if (!o.ok) ++y.failures[o.label];
        // Probe runs, and marks given --duration: the operations' own latency.
        if (o.duration_ms >= 0) y.probe_ms.push_back(o.duration_ms);
    }

    void add_sample(Tally& y, const Sample& s) const {
        y.dropped += s.dropped;
        for (unsigned f : families_) {
            if (!outcomes_) {
                y.ops += s.calls[f];
                y.failed += std::min(s.errors[f], s.calls[f]);
            }
            // Exchanges have latencies of their own: the calls' are not theirs.
            if (calls_latency_)
                for (unsigned i = 0; i < kLatencyBuckets; ++i) y.latency[i] += s.latency[f][i];
        }
    }

    // The operations, in time order, for recovery spans.
    std::vector<OpRecord> records() const {
        std::vector<OpRecord> out;
        if (outcomes_) {
            for (const Outcome& o : t_.outcomes)
                out.push_back({outcome_time(o), 1, o.ok ? 0u : 1u});
        } else {
            for (const Sample& s : t_.samples) {
                OpRecord r{s.t_s, 0, 0};
                for (unsigned f : families_) {
                    r.ops += s.calls[f];
                    r.failed += std::min(s.errors[f], s.calls[f]);
                }
                out.push_back(r);
            }
        }
        std::stable_sort(out.begin(), out.end(),
                         [](const OpRecord& a, const OpRecord& b) { return a.t < b.t; });
        return out;
    }

  private:
    const Timeline& t_;
    std::vector<unsigned> families_;
    bool outcomes_;
    bool calls_latency_; // a percentile without outcome durations falls back on the calls'
};

// The steady state a fault window's recovery waits for, from the baseline.
struct Steady {
    double min_success = 0;
    std::optional<double> min_rate; // ops/s; none when the baseline had none
};

// Recovery of the window ending at `end`: the first candidate start t
// (the window's end, then each operation's time after it) such that
// [t, t + R) fits before `limit`, holds at least one operation and is steady.
std::optional<double> recovery(const std::vector<OpRecord>& rec, bool outcomes, double end,
                               double limit, double span, const Steady& steady) {
    if (span <= 0) span = 1e-9;
    // prefix sums of ops and failures
    std::vector<uint64_t> ops(rec.size() + 1, 0), failed(rec.size() + 1, 0);
    for (size_t i = 0; i < rec.size(); ++i) {
        ops[i + 1] = ops[i] + rec[i].ops;
        failed[i + 1] = failed[i] + rec[i].failed;
    }
    // Index of the first record that belongs to a span starting at x:
    // outcomes: t >= x; samples: t > x.
    auto first_in = [&](double x) {
        auto cmp = [](const OpRecord& r, double v) { return r.t < v; };
        auto cmp_le = [](const OpRecord& r, double v) { return r.t <= v; };
        return size_t(outcomes ? std::lower_bound(rec.begin(), rec.end(), x, cmp) - rec.begin()
                               : std::lower_bound(rec.begin(), rec.end(), x, cmp_le) - rec.begin());
    };
    auto steady_at = [&](double t) {
        size_t a = first_in(t), b = first_in(t + span);
        uint64_t n = ops[b] - ops[a], bad = std::min(failed[b] - failed[a], n);
        if (n == 0) return false;
        double success = double(n - bad) / double(n);
        if (success < steady.min_success - 1e-12) return false;
        if (steady.min_rate && double(n) / span < *steady.min_rate - 1e-12) return false;
        return true;
    };
    auto fits = [&](double t) { return t + span <= limit + 1e-9; };
    if (!fits(end)) return std::nullopt;
    if (steady_at(end)) return 0.0;
    for (size_t i = first_in(end); i < rec.size(); ++i) {
        double t = rec[i].t;
        if (t <= end) continue;
        if (!fits(t)) break;
        if (steady_at(t)) return t - end;
    }
    return std::nullopt;
}

std::string percent(double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", x * 100);
    return buf;
}

std::string seconds(double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", x);
    return buf;
}

void judge_tolerances(WindowReport& w, const Tolerances& tol);

void judge(WindowReport& w, const Tolerances& tol) {
    // A process that died of a signal, or a target that failed, is what the
    // users saw whatever the figures say: deviated whenever it is judged.
    std::vector<std::string> deaths;
    for (const ProcessExit& e : w.exits)
        if (e.failure())
            deaths.push_back("process " + std::to_string(e.pid) + " (" + e.comm + ") " +
                             exit_text(e) + " at " + seconds(e.t_s));
    if (!deaths.empty() && tol.any()) {
        w.deviations = deaths;
        w.verdict = "deviated";
        if (w.injected == 0) w.deviations.push_back("no rule of this window injected a fault");
        judge_tolerances(w, tol);
        return;
    }
    if (w.injected == 0) {
        w.verdict = "inconclusive";
        w.deviations.push_back("no rule of this window injected a fault");
        return;
    }
    if (!tol.any()) return;
    judge_tolerances(w, tol);
    w.verdict = w.deviations.empty() ? "held" : "deviated";
}

void judge_tolerances(WindowReport& w, const Tolerances& tol) {
    if (tol.min_success) {
        if (!w.success_rate)
            w.deviations.push_back("no operations to measure the success rate (minimum " +
                                   percent(*tol.min_success) + ")");
        else if (*w.success_rate < *tol.min_success)
            w.deviations.push_back("success rate " + percent(*w.success_rate) +
                                   " is below the minimum " + percent(*tol.min_success));
    }
    if (tol.max_recovery_s) {
        if (!w.recovery_s)
            w.deviations.push_back(
                w.open ? "a rule was still armed when the recording ended: no recovery to measure"
                       : "did not recover before the next fault or the end of the recording "
                         "(maximum " +
                             seconds(*tol.max_recovery_s) + ")");
        else if (*w.recovery_s > *tol.max_recovery_s)
            w.deviations.push_back("recovery took " + seconds(*w.recovery_s) +
                                   ", more than the maximum " + seconds(*tol.max_recovery_s));
    }
    if (tol.max_throughput_drop) {
        if (!w.throughput_change)
            w.deviations.push_back("no throughput change to measure: the baseline has no "
                                   "successful operations (maximum drop " +
                                   percent(*tol.max_throughput_drop) + ")");
        else if (*w.throughput_change < -*tol.max_throughput_drop)
            w.deviations.push_back("throughput dropped " + percent(-*w.throughput_change) +
                                   ", more than the allowed " + percent(*tol.max_throughput_drop));
    }
}

// The leak check (docs/metrics.md, "Suspected leaks") on one process's RSS
// samples (time, MB), in time order.
constexpr double kLeakMinSpan_s = 10;  // a shorter life proves nothing
constexpr double kLeakWarmUp = 0.25;   // the first quarter of its span is skipped
constexpr size_t kLeakFitPoints = 400; // Theil-Sen on at most this many samples
constexpr unsigned kLeakQuarters = 4;  // monotone: each quarter's median above the last

using Points = std::vector<std::pair<double, double>>;

double median(std::vector<double> v) {
    size_t mid = v.size() / 2;
    std::nth_element(v.begin(), v.begin() + long(mid), v.end());
    double hi = v[mid];
    if (v.size() % 2) return hi;
    return (*std::max_element(v.begin(), v.begin() + long(mid)) + hi) / 2;
}

// Theil-Sen: the median of the slopes (MB/s) between every two samples of
// different times (at most kLeakFitPoints, picked evenly); none without two.
std::optional<double> theil_sen(const Points& xy) {
    Points p;
    size_t n = std::min(xy.size(), kLeakFitPoints);
    for (size_t k = 0; k < n; ++k) p.push_back(xy[n < 2 ? 0 : k * (xy.size() - 1) / (n - 1)]);
    std::vector<double> slopes;
    for (size_t i = 0; i < p.size(); ++i)
        for (size_t j = i + 1; j < p.size(); ++j)
            if (p[j].first > p[i].first)
                slopes.push_back((p[j].second - p[i].second) / (p[j].first - p[i].first));
    if (slopes.empty()) return std::nullopt;
    return median(std::move(slopes));
}

// The samples at times in [a, b) (the last span also holds b).
Points between(const Points& xy, double a, double b, bool last) {
    Points out;
    for (auto& pt : xy)
        if (pt.first >= a && (pt.first < b || (last && pt.first <= b))) out.push_back(pt);
    return out;
}

// The slope in MB/min that makes a suspected leak, or none.
std::optional<double> leak_slope(const Points& xy, double mb_per_min) {
    if (xy.size() < 3) return std::nullopt;
    double lo = xy.front().first, hi = xy.back().first;
    if (hi - lo < kLeakMinSpan_s) return std::nullopt;
    // Skip the warm-up: start-up, a cache filling, shared buffers touched.
    double from = lo + kLeakWarmUp * (hi - lo);
    Points fit = between(xy, from, hi, true);
    if (fit.size() < 3) return std::nullopt;
    auto slope = theil_sen(fit);
    if (!slope || *slope * 60 <= mb_per_min) return std::nullopt;
    // Sustained: the last half grows as fast...
    auto late = theil_sen(between(fit, (from + hi) / 2, hi, true));
    if (!late || *late * 60 <= mb_per_min) return std::nullopt;
    // ...and the growth is monotone: each quarter's median RSS above the
    // previous one's.
    std::optional<double> prev;
    for (unsigned q = 0; q < kLeakQuarters; ++q) {
        double a = from + (hi - from) * q / kLeakQuarters;
        double b = from + (hi - from) * (q + 1) / kLeakQuarters;
        Points part = between(fit, a, b, q + 1 == kLeakQuarters);
        if (part.empty()) continue; // sampled too sparsely to tell
        std::vector<double> rss;
        for (auto& pt : part) rss.push_back(pt.second);
        double m = median(std::move(rss));
        if (prev && m <= *prev) return std::nullopt;
        prev = m;
    }
    return *slope * 60;
}

std::vector<LeakSuspect> leak_suspects(const Timeline& t, double mb_per_min) {
    struct Samples {
        std::string comm;
        Points xy;
    };
    std::map<int32_t, Samples> by_pid;
    for (const ProcessSample& p : t.processes) {
        Samples& s = by_pid[p.pid];
        s.comm = p.comm;
        s.xy.emplace_back(p.t_s, p.rss_mb);
    }
    std::vector<LeakSuspect> out;
    for (auto& [pid, s] : by_pid) {
        std::stable_sort(s.xy.begin(), s.xy.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        if (auto slope = leak_slope(s.xy, mb_per_min)) out.push_back({pid, s.comm, *slope});
    }
    return out;
}

} // namespace

std::string exit_text(const ProcessExit& e) {
    if (e.signal > 0) {
        const char* abbrev = sigabbrev_np(e.signal);
        std::string s = "killed by signal " + std::to_string(e.signal);
        if (abbrev) s += std::string(" (SIG") + abbrev + ")";
        if (e.core) s += ", core dumped";
        return s;
    }
    if (e.status >= 0) return "exited with status " + std::to_string(e.status);
    return "ended (status not known)";
}

std::optional<double> histogram_percentile_ms(const LatencyHistogram& h, double q) {
    uint64_t total = 0;
    for (uint64_t c : h) total += c;
    if (total == 0) return std::nullopt;
    double target = std::clamp(q, 0.0, 1.0) * double(total);
    uint64_t before = 0;
    for (unsigned i = 0; i < kLatencyBuckets; ++i) {
        if (h[i] == 0) continue;
        if (double(before + h[i]) + 1e-9 < target) {
            before += h[i];
            continue;
        }
        // The bucket's upper bound: the next floor above its own (below
        // 4 us some buckets share a floor and stay empty).
        double lo = double(latency_bucket_floor_ns(i)), hi = lo;
        for (unsigned j = i + 1; j <= kLatencyBuckets && hi <= lo; ++j)
            hi = double(latency_bucket_floor_ns(j));
        double f = std::clamp((target - double(before)) / double(h[i]), 0.0, 1.0);
        return (lo + f * (hi - lo)) / 1e6;
    }
    return std::nullopt; // not reached: target <= total
}

namespace {

// The report's windows: the baseline (from 0 to the first fault window, or
// to the end), then the fault windows.
std::vector<Window> report_windows(const Timeline& t) {
    std::vector<Window> faults = fault_windows(t);
    std::vector<Window> all;
    all.push_back({0, faults.empty() ? std::max(t.end_s, 0.0) : faults.front().start, false, {}});
    all.insert(all.end(), faults.begin(), faults.end());
    return all;
}

// What each window collected, and the time its samples cover:
// (first's predecessor, last]; -1 for a window without samples.
struct WindowTallies {
    std::vector<Tally> tally;
    std::vector<double> covered_from, covered_to;
};

// Each outcome and sample goes to the first window that holds it; those
// between fault windows (recovery periods) go to none.
// Times outside [0, end] count at the nearest edge.
WindowTallies tally_windows(const Timeline& t, const std::vector<Window>& all,
                            const Collector& collect) {
    auto inside = [&](double x) { return std::clamp(x, 0.0, std::max(t.end_s, 0.0)); };
    WindowTallies y;
    y.tally.resize(all.size());
    y.covered_from.assign(all.size(), -1);
    y.covered_to.assign(all.size(), -1);
    for (const Outcome& o : t.outcomes)
        for (size_t w = 0; w < all.size(); ++w)
            if (outcome_in(inside(outcome_time(o)), all[w].start, all[w].end,
                           all[w].end >= t.end_s)) {
                collect.add_outcome(y.tally[w], o);
                break;
            }
    double prev_sample = 0;
    for (const Sample& s : t.samples) {
        for (size_t w = 0; w < all.size(); ++w)
            if (sample_in(inside(s.t_s), all[w].start, all[w].end)) {
                collect.add_sample(y.tally[w], s);
                if (y.covered_from[w] < 0) y.covered_from[w] = prev_sample;
                y.covered_to[w] = s.t_s;
                break;
            }
        prev_sample = s.t_s;
    }
    return y;
}

// A window's span, name and rules: a rule re-armed (a ramp's steps) names
// it once.
void describe_window(const Timeline& t, const Window& src, WindowReport& w) {
    w.start_s = src.start;
    w.end_s = src.end;
    w.open = src.open;
    std::vector<std::string> names;
    for (size_t k : src.rules) {
        const RuleSpan& rule = t.rules[k];
        if (std::find(names.begin(), names.end(), rule.name) == names.end()) {
            if (!w.name.empty()) w.name += '+';
            w.name += rule.name;
            names.push_back(rule.name);
        }
        w.rule_ids.push_back(rule.id);
        w.rules.push_back(rule.text);
        w.injected += rule.injected;
    }
}

// A window's figures from what it collected; `covered_from` and
// `covered_to` bound the time its samples cover (-1: none).
void measure_window(const Window& src, const Tally& y, double covered_from, double covered_to,
                    bool from_outcomes, WindowReport& w) {
    w.ops = y.ops;
    w.failed = std::min(y.failed, y.ops);
    w.failures.assign(y.failures.begin(), y.failures.end());
    std::stable_sort(w.failures.begin(), w.failures.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    w.dropped = y.dropped;
    w.success_rate = y.success();
    // Counted calls are sampled: their rate is over the time the
    // window's samples cover, which differs from the window's own
    // bounds by up to a sampling interval at each edge.
    double length = src.end - src.start;
    if (!from_outcomes && covered_from >= 0) length = covered_to - covered_from;
    if (length > 0) {
        w.ops_per_s = double(y.ops) / length;
        w.goodput_per_s = double(y.ops - w.failed) / length;
    }
    w.p50_ms = y.percentile(0.5);
    w.p99_ms = y.percentile(0.99);
}

// Each exit into the window that holds its time, as an outcome would be;
// its window's name, or "" between windows. A window without operations
// that comes after a death (a failure) has failed: success 0, not none.
void place_exits(const Timeline& t, const std::vector<Window>& all, Report& r) {
    auto inside = [&](double x) { return std::clamp(x, 0.0, std::max(t.end_s, 0.0)); };
    std::optional<double> first_death;
    for (const ProcessExit& e : t.exits) {
        std::string where;
        for (size_t w = 0; w < all.size(); ++w)
            if (outcome_in(inside(e.t_s), all[w].start, all[w].end, all[w].end >= t.end_s)) {
                r.windows[w].exits.push_back(e);
                where = r.windows[w].name;
                break;
            }
        r.exits.push_back(e);
        r.exit_windows.push_back(where);
        if (e.failure() && (!first_death || e.t_s < *first_death)) first_death = e.t_s;
    }
    for (WindowReport& w : r.windows)
        if (w.ops == 0 && first_death && *first_death < w.end_s) w.success_rate = 0.0;
}

// The baseline's rate counts from its first operation: a program's
// start-up (an interpreter loading, a server binding) is not its pace.
// `covered_to`: the end of the time the baseline's samples cover.
void rate_from_first_operation(WindowReport& base, const std::vector<OpRecord>& records,
                               bool from_outcomes, double covered_to) {
    double prev_t = 0;
    for (const OpRecord& rec : records) {
        if (rec.ops) {
            // A sample's operations happened after the previous sample.
            double first = from_outcomes ? rec.t : prev_t;
            double length = (from_outcomes ? base.end_s : covered_to) - first;
            if (first > base.start_s && first < base.end_s && length > 0) {
                base.ops_per_s = double(base.ops) / length;
                base.goodput_per_s = double(base.ops - base.failed) / length;
            }
            break;
        }
        prev_t = rec.t;
    }
}

// What the fault windows are measured against.
struct Baseline {
    std::optional<double> rate;    // ops/s; none when the baseline had none
    std::optional<double> goodput; // successful ops/s; none when it had none
    Steady steady;                 // what a window's recovery waits for
};

Baseline baseline_of(const WindowReport& base, const MetricOptions& opt) {
    Baseline b;
    if (base.ops_per_s && *base.ops_per_s > 0) b.rate = base.ops_per_s;
    if (base.goodput_per_s && *base.goodput_per_s > 0) b.goodput = base.goodput_per_s;
    b.steady.min_success = base.success_rate.value_or(1.0) - opt.success_margin;
    if (b.rate) b.steady.min_rate = opt.throughput_floor * *b.rate;
    return b;
}

// The session's figures measured in one set of families: what each window
// collected, the operations in time order, and the baseline in them.
struct Measurement {
    Collector collect;
    WindowTallies tallies;
    std::vector<OpRecord> records;
    WindowReport baseline;
};

Measurement measure(const Timeline& t, const std::vector<Window>& all,
                    std::vector<unsigned> families) {
    Measurement m{Collector(t, std::move(families)), {}, {}, {}};
    m.tallies = tally_windows(t, all, m.collect);
    m.records = m.collect.records();
    describe_window(t, all[0], m.baseline);
    m.baseline.name = "baseline";
    measure_window(all[0], m.tallies.tally[0], m.tallies.covered_from[0], m.tallies.covered_to[0],
                   m.collect.from_outcomes(), m.baseline);
    rate_from_first_operation(m.baseline, m.records, m.collect.from_outcomes(),
                              m.tallies.covered_to[0]);
    return m;
}

// A fault window against the baseline measured in the same families: its
// throughput change, its recovery (before `limit`: the next window, or the
// end), its verdict.
void judge_fault_window(WindowReport& w, double end_s, double limit, const Measurement& m,
                        const Baseline& base, const Tolerances& tol, const MetricOptions& opt) {
    // Goodput: failed operations are no throughput (a paced client whose
    // requests half fail keeps its pace and halves its goodput).
    if (base.goodput && w.goodput_per_s) w.throughput_change = *w.goodput_per_s / *base.goodput - 1;
    if (!w.open && w.end_s < end_s)
        w.recovery_s = recovery(m.records, m.collect.from_outcomes(), w.end_s, limit,
                                opt.recovery_window_s, base.steady);
    judge(w, tol);
}

// The timeline's points. At most 5000 of them: a long recording widens
// its buckets rather than drawing millions of points.
std::vector<SeriesPoint> timeline_series(const Timeline& t, const Collector& collect,
                                         double bucket_s) {
    double width = bucket_s > 0 ? bucket_s : 0.5;
    if (t.end_s > 0) width = std::max(width, t.end_s / 5000);
    size_t n = t.end_s > 0 ? size_t(std::ceil(t.end_s / width - 1e-9)) : 0;
    std::vector<Tally> buckets(n);
    auto clamp_index = [n](double k) { return size_t(std::clamp(k, 0.0, double(n) - 1)); };
    if (n > 0) {
        for (const Outcome& o : t.outcomes)
            collect.add_outcome(buckets[clamp_index(std::floor(outcome_time(o) / width))], o);
        // (a, b]: a sample taken at a bucket's end belongs to it.
        for (const Sample& s : t.samples)
            collect.add_sample(buckets[clamp_index(std::ceil(s.t_s / width - 1e-9) - 1)], s);
    }
    std::vector<SeriesPoint> out;
    for (size_t k = 0; k < n; ++k) {
        SeriesPoint p;
        p.t_s = double(k) * width;
        p.width_s = std::min(width, t.end_s - p.t_s);
        if (p.width_s > 0) p.ops_per_s = double(buckets[k].ops) / p.width_s;
        p.success = buckets[k].success();
        p.p50_ms = buckets[k].percentile(0.5);
        out.push_back(p);
    }
    return out;
}

} // namespace

Report compute_report(const Timeline& t, const Tolerances& tol, const MetricOptions& opt) {
    Report r;
    r.session = t.session;
    r.seed = t.seed;
    r.dropped_events = t.dropped_events;
    r.end_s = t.end_s;
    r.judged = tol.any();

    std::vector<Window> windows = report_windows(t);
    // The session's families (those of all its rules) measure the baseline
    // and the timeline; each fault window is measured in its own rules'
    // families, against the baseline measured in the same ones.
    std::vector<size_t> every(t.rules.size());
    for (size_t i = 0; i < every.size(); ++i) every[i] = i;
    std::vector<std::vector<unsigned>> families(windows.size());
    families[0] = measured_families(t, every);
    for (size_t i = 1; i < windows.size(); ++i)
        families[i] = measured_families(t, windows[i].rules);
    std::map<std::vector<unsigned>, Measurement> by_families;
    auto measured = [&](const std::vector<unsigned>& f) -> const Measurement& {
        auto it = by_families.find(f);
        if (it == by_families.end()) it = by_families.emplace(f, measure(t, windows, f)).first;
        return it->second;
    };
    auto names = [](const std::vector<unsigned>& f) {
        std::vector<std::string> out;
        for (unsigned k : f) out.push_back(kFamilyNames[k]);
        return out;
    };
    const Measurement& session = measured(families[0]);
    r.families = names(families[0]);
    r.source = !session.collect.from_outcomes() ? "calls" : t.exchanges ? "exchanges" : "outcomes";

    r.windows.push_back(session.baseline);
    r.windows[0].families = r.families;
    for (size_t i = 1; i < windows.size(); ++i) {
        const Measurement& m = measured(families[i]);
        WindowReport w;
        describe_window(t, windows[i], w);
        measure_window(windows[i], m.tallies.tally[i], m.tallies.covered_from[i],
                       m.tallies.covered_to[i], m.collect.from_outcomes(), w);
        w.families = names(families[i]);
        r.windows.push_back(std::move(w));
    }
    place_exits(t, windows, r);

    for (size_t i = 1; i < r.windows.size(); ++i) {
        const Measurement& m = measured(families[i]);
        WindowReport b = m.baseline;
        // A baseline without operations after a death failed (place_exits).
        if (b.ops == 0 && r.windows[0].ops == 0) b.success_rate = r.windows[0].success_rate;
        double limit = i + 1 < r.windows.size() ? r.windows[i + 1].start_s : t.end_s;
        judge_fault_window(r.windows[i], t.end_s, limit, m, baseline_of(b, opt), tol, opt);
    }

    r.series = timeline_series(t, session.collect, opt.bucket_s);
    r.leaks = leak_suspects(t, opt.leak_mb_per_min);
    return r;
}

int report_exit_code(const Report& r) {
    if (!r.judged) return 0;
    bool inconclusive = false;
    for (const WindowReport& w : r.windows) {
        if (w.verdict == "deviated") return 1;
        if (w.verdict == "inconclusive") inconclusive = true;
    }
    return inconclusive ? 2 : 0;
}

} // namespace faultline
