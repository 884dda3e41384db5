#include "controller/record/recorder.h"

#include "common/tsc.h"

#include "common/hooks.h"
#include "controller/cli/cli.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace faultline {

namespace {

const char* kind_text(uint8_t k) {
    return k < kKindCount ? kind_name(Kind(k)) : "?";
}

// How a process looks in /proc/PID/stat: its state, parent, start time
// and, once it is a zombie, its wait status (field 52, Linux >= 3.5).
struct ProcState {
    char state = '?';
    int32_t ppid = 0;
    unsigned long long start_ticks = 0;
    int exit_code = -1; // -1: not readable
};

// /proc/PID/{statm,stat,fd}: resident set, CPU time, open fds. False when the
// process is gone.
bool read_process(int32_t pid, ProcessRow& out, ProcState& ps) {
    char path[64], buf[1024];
    auto slurp = [&](const char* what) -> ssize_t {
        snprintf(path, sizeof path, "/proc/%d/%s", int(pid), what);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return -1;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        buf[n > 0 ? n : 0] = 0;
        return n;
    };
    static const long page_kb = sysconf(_SC_PAGESIZE) / 1024;
    static const long ticks = sysconf(_SC_CLK_TCK);
    long long size = 0, resident = 0;
    if (slurp("statm") <= 0 || sscanf(buf, "%lld %lld", &size, &resident) != 2) return false;
    out.rss_kb = resident * page_kb;
    if (slurp("stat") <= 0) return false;
    const char* p = strrchr(buf, ')');
    unsigned long long utime = 0, stime = 0;
    // After ')': state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(14)
    // stime(15)
    if (!p || sscanf(p + 1, " %c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ps.state,
                     &ps.ppid, &utime, &stime) != 4)
        return false;
    // Field 22 (starttime), and the last one, 52 (exit_code).
    unsigned field = 2;
    for (const char* q = p + 1; *q; ++q) {
        if (*q != ' ') continue;
        ++field;
        if (field == 22) ps.start_ticks = strtoull(q + 1, nullptr, 10);
        if (field == 52) ps.exit_code = int(strtol(q + 1, nullptr, 10));
    }
    out.cpu_ms = int64_t((utime + stime) * 1000 / (unsigned long long)(ticks > 0 ? ticks : 100));
    snprintf(path, sizeof path, "/proc/%d/fd", int(pid));
    out.fds = -1; // another user's process: not readable
    if (DIR* d = opendir(path)) {
        out.fds = 0;
        while (dirent* e = readdir(d))
            if (e->d_name[0] != '.') ++out.fds;
        closedir(d);
    }
    return true;
}

} // namespace

namespace {

// The kernel keeps CLOCK_MONOTONIC with the time-stamp counter: it found it
// constant and synchronised across CPUs, so calls may be timed with it.
bool kernel_clock_is_tsc() {
    FILE* f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
    if (!f) return false;
    char name[32] = {};
    bool tsc = fgets(name, sizeof name, f) && strcmp(name, "tsc\n") == 0;
    fclose(f);
    return tsc;
}

constexpr int64_t kCalibration = 100'000'000; // ns of both clocks behind the factor

} // namespace

std::string recording_path(const std::optional<std::string>& output, const char* command) {
    if (output && output->empty()) cli::fail(command, "-o '': an empty file name");
    if (output) return *output;
    if (const char* env = getenv("FAULTLINE_DB"); env && *env) return env;
    return "faultline.db";
}

Recorder::Recorder(Segment& seg, const RecorderOptions& opt, const char* command)
    : seg_(seg), opt_(opt), prev_(new ThreadTotals), cur_(new ThreadTotals) {
    // The role first: a refused recorder leaves no file behind.
    if (!segment_start_recording(&seg_, int32_t(getpid())))
        cli::fail(command, std::string("session '") + seg_.name +
                               "' is already recorded by process " +
                               std::to_string(seg_.recorder_pid.load()));
    try {
        db_ = std::make_unique<RecordingDb>(opt.path, command);
    } catch (...) {
        segment_stop_recording(&seg_, int32_t(getpid()));
        throw;
    }
    // The rings from their tails: what a recorder killed before us read and
    // did not commit is read again.
    events_read_ = seg_.events.tail.load(std::memory_order_acquire);
    outcomes_read_ = seg_.outcomes.tail.load(std::memory_order_acquire);
    exchanges_read_ = seg_.exchanges.tail.load(std::memory_order_acquire);
    // Counters from now on: what happened before is not this recording's.
    segment_sum_threads(&seg_, *prev_);
    for (unsigned h = 0; h < kMaxHooks; ++h) {
        prev_errors_[h] = seg_.hooks[h].errors.load(std::memory_order_relaxed);
        prev_injected_[h] = seg_.hooks[h].injected.load(std::memory_order_relaxed);
    }
    SessionRow row;
    row.name = seg_.name;
    row.seed = seg_.seed;
    row.command = opt.command;
    row.started_wall_ns = seg_.created_ns;
    row.recorded_from_s = seconds(monotonic_ns());
    row.sample_interval_s = double(opt.sample_ns) / 1e9;
    if (!db_->begin_session(row)) {
        segment_stop_recording(&seg_, int32_t(getpid()));
        cli::fail(command, opt.path + ": " + db_->error());
    }
    next_sample_ns_ = monotonic_ns() + opt_.sample_ns;
    if (seg_.tsc_ns_q32.load(std::memory_order_relaxed) == 0 && tsc_now() &&
        kernel_clock_is_tsc()) {
        tsc0_ = tsc_now();
        tsc_mono0_ = monotonic_ns();
    }
    in_tx_ = db_->begin();
    track_rules();
}

Recorder::~Recorder() {
    finish();
}

double Recorder::seconds(int64_t mono_ns) const {
    return double(mono_ns - seg_.created_mono_ns) / 1e9;
}

void Recorder::failed(const char* what) {
    if (!ok_) return;
    ok_ = false;
    fprintf(stderr, "faultline: record: %s: %s: %s; recording stops (the target runs on)\n",
            opt_.path.c_str(), what, db_->error().c_str());
    segment_stop_recording(&seg_, int32_t(getpid()));
}

bool Recorder::poll() {
    if (!ok_ || finished_) return false;
    bool more = drain();
    track_rules();
    if (monotonic_ns() >= next_sample_ns_) sample();
    return more && ok_;
}

bool Recorder::drain() {
    // Traces first: each is pushed before its event, so an event read now
    // finds its trace. Symbolised at once, while the process still runs.
    Trace tr;
    while (seg_.traces.pop(tr))
        traces_[{tr.tid, tr.t_ns}] =
            symbols_.backtrace(tr.pid, tr.ips, std::min(tr.frames, kTraceFrames));
    Event e;
    bool cut = false;
    for (unsigned n = 1; ok_ && seg_.events.peek(e, events_read_); ++n) {
        EventRow row{seconds(e.t_ns), e.pid, e.tid, "?", e.rule_id, kind_text(e.kind), e.value};
        if (e.hook < kHookCount) row.function = kHooks[e.hook].name;
        auto trace = e.traced ? traces_.find({e.tid, e.t_ns}) : traces_.end();
        if (trace != traces_.end()) row.backtrace = &trace->second;
        if (!db_->add_event(row)) failed("storing an event");
        if (trace != traces_.end()) traces_.erase(trace);
        // A flood never empties the ring: stop when a sample is due, so that
        // samples and commits go on and the caller sees its target exit.
        if (n % 1024 == 0 && monotonic_ns() >= next_sample_ns_) {
            cut = true;
            break;
        }
        // What was read stays in the ring until committed: a flood between
        // two samples is committed early, before the ring fills.
        if (n % 1024 == 0 &&
            events_read_ - seg_.events.tail.load(std::memory_order_relaxed) > kEventCapacity / 4)
            flush();
    }
    // Traces whose events were dropped are orphans: forget them.
    if (traces_.size() > kTraceCapacity) traces_.clear();
    events_stuck_.check(seg_.events, events_read_);
    OutcomeRecord o;
    while (ok_ && seg_.outcomes.peek(o, outcomes_read_)) {
        if (o.kind == OutcomeKind::Pause) {
            record_pause(o);
            continue;
        }
        if (o.kind == OutcomeKind::Exit) {
            // What a process says of itself counts for one a sample saw: a
            // script's every short-lived helper (bash, readlink, grep) is
            // not the session's news.
            if ((o.duration_ns & kExitSelf) && !alive_.count(o.pid)) continue;
            note_exit(o.pid, std::string(o.label, strnlen(o.label, sizeof o.label)),
                      seconds(o.t_ns), o.exit_code, o.ok != 0, (o.duration_ns & kExitStopped) != 0,
                      (o.duration_ns & kExitSelf) == 0);
            continue;
        }
        OutcomeRow row{seconds(o.t_ns),
                       o.ok != 0,
                       o.kind == OutcomeKind::Probe,
                       std::string(o.label),
                       o.duration_ns >= 0 ? double(o.duration_ns) / 1e6 : -1.0,
                       o.exit_code,
                       o.pid};
        if (!db_->add_outcome(row)) failed("storing an outcome");
    }
    outcomes_stuck_.check(seg_.outcomes, outcomes_read_);
    bool exchanges_cut = drain_exchanges();
    exchanges_stuck_.check(seg_.exchanges, exchanges_read_);
    return exchanges_cut || cut;
}

namespace {
const char* failure_text(ExchangeFailure f) {
    switch (f) {
    case ExchangeFailure::None:
        return nullptr;
    case ExchangeFailure::Connect:
        return "connect";
    case ExchangeFailure::Reset:
        return "reset";
    case ExchangeFailure::Timeout:
        return "timeout";
    case ExchangeFailure::Error:
        return "error";
    case ExchangeFailure::NoResponse:
        return "no-response";
    case ExchangeFailure::Http5xx:
        return "http-5xx";
    }
    return "error";
}
} // namespace

// Clients' exchanges, as events are: a flood stops when a sample is due,
// and is committed early before the ring fills. True when cut short.
bool Recorder::drain_exchanges() {
    ExchangeRecord x;
    for (unsigned n = 1; ok_ && seg_.exchanges.peek(x, exchanges_read_); ++n) {
        ExchangeRow row{seconds(x.start_ns),
                        double(x.latency_ns) / 1e6,
                        x.failure == ExchangeFailure::None,
                        failure_text(x.failure),
                        x.http_status,
                        x.pid};
        if (!db_->add_exchange(row)) failed("storing an exchange");
        if (n % 1024 != 0) continue;
        if (monotonic_ns() >= next_sample_ns_) return true;
        if (exchanges_read_ - seg_.exchanges.tail.load(std::memory_order_relaxed) >
            kExchangeCapacity / 4)
            flush();
    }
    return false;
}

// A pause is stored as a rule that was armed while the processes were
// stopped: the report shows it as a fault window like any other.
void Recorder::record_pause(const OutcomeRecord& o) {
    RuleRow r;
    r.id = next_pause_id_++;
    r.name = o.label[0] ? std::string(o.label, strnlen(o.label, sizeof o.label)) : "pause";
    char text[64];
    snprintf(text, sizeof text, "pause for=%.0fms (%d processes)", double(o.duration_ns) / 1e6,
             o.exit_code);
    r.text = text;
    r.family = "pause";
    r.kind = "pause";
    r.armed_s = seconds(o.t_ns);
    if (!db_->add_rule(r) || !db_->retire_rule(r.id, seconds(o.t_ns + o.duration_ns)) ||
        !db_->update_rule(r.id, 0, 0, uint64_t(o.exit_code)))
        failed("storing a pause");
}

void Recorder::track_rules() {
    for (unsigned i = 0; i < kMaxRules && ok_; ++i) {
        RuleSlot& s = seg_.rules[i];
        uint64_t word = s.state.load(std::memory_order_acquire);
        RuleTrack& t = rules_[i];
        if (word == t.word) continue;
        RuleState st = state_of(word);
        // A slot being written keeps its generation when it becomes Armed:
        // look again once it is.
        if (st != RuleState::Armed && st != RuleState::Retired) continue;
        bool new_rule = (word >> 8) != (t.word >> 8);
        t.word = word;
        if (new_rule) {
            RuleRow r;
            r.id = s.id;
            r.name = s.rule.name;
            r.text = s.rule.text;
            r.kind = kind_name(s.rule.kind);
            r.family = kFamilyNames[unsigned(kind_family(s.rule.kind))];
            // A window is when the rule could act: from the end of start=.
            r.armed_s = seconds(s.armed_ns + s.rule.start_ns);
            r.joins = joining_.erase(s.id) > 0;
            t = RuleTrack{word, s.id, true, false};
            if (!db_->add_rule(r)) failed("storing a rule");
        }
        if (st == RuleState::Retired && t.recorded && !t.retired) {
            t.retired = true;
            // for= retires at the first call after it ran out: its window
            // ends when it ran out.
            int64_t end = s.retired_ns.load(std::memory_order_relaxed);
            if (s.rule.for_ns && s.armed_ns + s.rule.start_ns + s.rule.for_ns < end)
                end = s.armed_ns + s.rule.start_ns + s.rule.for_ns;
            if (!db_->retire_rule(t.id, seconds(end))) failed("storing a rule");
        }
    }
}

// Publishes the counter's ns-per-tick factor once both clocks have run for
// kCalibration: the shim's call timers switch to the counter then.
void Recorder::calibrate_call_clock(int64_t now) {
    if (!tsc0_ || now - tsc_mono0_ < kCalibration) return;
    uint64_t ticks = tsc_now();
    int64_t mono = monotonic_ns();
    if (uint32_t q = tsc_calibrate(tsc0_, tsc_mono0_, ticks, mono))
        seg_.tsc_ns_q32.store(q, std::memory_order_relaxed);
    tsc0_ = 0;
}

void Recorder::sample() {
    int64_t now = monotonic_ns();
    calibrate_call_clock(now);
    next_sample_ns_ = now + opt_.sample_ns;
    double t = seconds(now);
    segment_sum_threads(&seg_, *cur_);
    const ThreadTotals &a = *prev_, &b = *cur_;
    bool ok = db_->add_sample_time(t, seg_.events.dropped.load(std::memory_order_relaxed),
                                   dropped_outcomes());
    for (unsigned h = 0; h < kHookCount && ok; ++h) {
        uint64_t errors = seg_.hooks[h].errors.load(std::memory_order_relaxed);
        uint64_t injected = seg_.hooks[h].injected.load(std::memory_order_relaxed);
        SampleRow r{kHooks[h].name,
                    kFamilyNames[unsigned(kHooks[h].family)],
                    hook_is_operation(Hook(h)),
                    b.calls[h] - a.calls[h],
                    errors - prev_errors_[h],
                    injected - prev_injected_[h],
                    b.bytes[h] - a.bytes[h],
                    b.latency_ns[h] - a.latency_ns[h]};
        prev_errors_[h] = errors;
        prev_injected_[h] = injected;
        if (r.calls || r.errors || r.injected || r.bytes) ok = db_->add_sample(t, r);
    }
    for (unsigned f = 0; f < kFamilyCount && ok; ++f)
        for (unsigned k = 0; k < kLatencyBuckets && ok; ++k)
            if (uint64_t n = b.latency[f][k] - a.latency[f][k])
                ok = db_->add_latency(t, kFamilyNames[f], k, n);
    for (unsigned i = 0; i < kMaxRules && ok; ++i)
        if (rules_[i].recorded) {
            RuleCounters c = segment_rule_counters(&seg_, i);
            // Only while the slot still holds the rule recorded for it.
            if ((seg_.rules[i].state.load(std::memory_order_acquire) >> 8) == (rules_[i].word >> 8))
                ok = db_->update_rule(rules_[i].id, c.seen, c.matched, c.injected);
        }
    std::swap(prev_, cur_);
    if (!ok) return failed("storing a sample");
    sample_processes(t);
    // One transaction per sample: a recorder killed at any moment leaves
    // every earlier sample committed.
    flush();
}

// Commits, then frees in the rings what the transaction stored: an event or
// an outcome leaves the ring only once it is in the file, so that a recorder
// killed before a commit leaves them to the next one (or they stay counted
// in the ring's drops).
void Recorder::flush() {
    if (!ok_) return;
    if (in_tx_ && !db_->commit()) return failed("committing");
    release_read();
    in_tx_ = db_->begin();
}

void Recorder::release_read() {
    seg_.events.release(events_read_);
    seg_.outcomes.release(outcomes_read_);
    seg_.exchanges.release(exchanges_read_);
}

// Marks, probes and exchanges lost to full rings.
uint64_t Recorder::dropped_outcomes() const {
    return seg_.outcomes.dropped.load(std::memory_order_relaxed) +
           seg_.exchanges.dropped.load(std::memory_order_relaxed);
}

// Each attached process's figures; and the end of those seen alive before
// that are gone now (a zombie or no more), unless they are faultline's own
// children, whose exact status process_ended() gets from their reaping.
void Recorder::sample_processes(double t) {
    std::map<int32_t, Alive> now;
    for (auto& p : seg_.processes) {
        int32_t pid = p.pid.load(std::memory_order_acquire);
        if (!pid) continue;
        ProcessRow row;
        row.pid = pid;
        row.comm = std::string(p.comm, strnlen(p.comm, sizeof p.comm));
        ProcState ps;
        if (!read_process(pid, row, ps)) continue;
        if (ps.state == 'Z' || ps.state == 'X') continue; // ended: below
        now[pid] = Alive{row.comm, ps.start_ticks};
        if (!db_->add_process(t, row)) return failed("storing a sample");
    }
    for (auto& [pid, was] : alive_) {
        auto it = now.find(pid);
        if (it != now.end() && it->second.start_ticks == was.start_ticks) continue;
        ProcessRow row;
        ProcState ps;
        bool there = read_process(pid, row, ps) && ps.start_ticks == was.start_ticks;
        if (there && ps.state != 'Z' && ps.state != 'X')
            continue;                                        // alive, detached (an exec'd CLI)
        if (there && ps.ppid == int32_t(getpid())) continue; // ours: reaped, then told
        int status = there ? ps.exit_code : -1;
        note_exit(pid, was.comm, t, status >= 0 ? std::optional<int>(status) : std::nullopt, false,
                  false, false);
    }
    for (auto& [pid, a] : now) alive_[pid] = a;
    std::erase_if(alive_, [&](auto& kv) { return ended_.count(kv.first) > 0; });
}

void Recorder::note_exit(int32_t pid, const std::string& comm, double t,
                         std::optional<int> wait_status, bool target, bool stopped, bool reaped) {
    if (!ok_) return;
    // Noticed gone (status unknown) or as a zombie first, and told later by
    // the run that reaped it: what the reaper says replaces it (its status,
    // whether it was a target, whether it was stopped).
    int rank = reaped ? 2 : wait_status ? 1 : 0;
    auto [seen, fresh] = ended_.emplace(pid, rank);
    if (!fresh && seen->second >= rank) return;
    seen->second = rank;
    ExitRow e{t, pid, comm, -1, 0, false, target, stopping_ || stopped};
    if (wait_status) {
        int w = *wait_status;
        if (WIFEXITED(w)) e.status = WEXITSTATUS(w);
        if (WIFSIGNALED(w)) {
            e.signal = WTERMSIG(w);
            e.core = WCOREDUMP(w);
        }
    }
    if (!(fresh ? db_->add_exit(e) : db_->replace_exit(e))) failed("storing an exit");
}

void Recorder::process_ended(int32_t pid, const std::string& comm, int wait_status, bool target,
                             bool stopped) {
    if (finished_) return;
    auto it = alive_.find(pid);
    std::string name = comm.empty() && it != alive_.end() ? it->second.comm : comm;
    note_exit(pid, name, seconds(monotonic_ns()), wait_status, target, stopped, true);
}

void Recorder::finish() {
    if (finished_) return;
    finished_ = true;
    if (ok_) {
        // What the ring holds now, and no more: a target that still floods
        // it (record --for) must not keep the recorder from finishing.
        for (unsigned k = 0; k <= kEventCapacity / 1024 && drain(); ++k) {
        }
        track_rules();
        sample();
    }
    if (ok_ &&
        !db_->end_session(seconds(monotonic_ns()),
                          seg_.events.dropped.load(std::memory_order_relaxed), dropped_outcomes()))
        failed("closing the session");
    if (in_tx_ && ok_ && db_->commit()) {
        release_read();
    } else if (in_tx_) {
        db_->commit();
    }
    in_tx_ = false;
    if (ok_) segment_stop_recording(&seg_, int32_t(getpid()));
}

} // namespace faultline
