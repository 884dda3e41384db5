// The recorder's SQLite file (docs/recording.md): schema, inserts, and
// loading a session back as a Timeline for the report. One file holds many
// sessions; every row carries its session's id.
#pragma once

#include "controller/record/timeline.h"

#include <cstdint>
#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace faultline {

struct SessionRow {
    std::string name;
    uint64_t seed = 0;
    std::string command;
    int64_t started_wall_ns = 0;
    double recorded_from_s = 0; // the recorder started this long after the session
    double sample_interval_s = 0.1;
};

struct RuleRow {
    uint32_t id = 0;
    std::string name, text, family, kind;
    double armed_s = 0;
    bool joins = false; // an experiment's next ramp step or phase (timeline.h)
};

struct EventRow {
    double t_s;
    int32_t pid, tid;
    const char* function;
    uint32_t rule_id;
    const char* kind;
    int64_t value;
    const std::string* backtrace = nullptr; // trace=1: one "function+0xOFF (object)" per line
};

struct SampleRow {
    const char* function;
    const char* family;
    bool operation;
    uint64_t calls, errors, injected, bytes, latency_ns;
};

struct ProcessRow {
    int32_t pid;
    std::string comm;
    int64_t rss_kb, cpu_ms;
    int fds;
};

struct ExitRow {
    double t_s;
    int32_t pid;
    std::string comm;
    int status; // -1: none (killed) or not known
    int signal; // 0: none or not known
    bool core, target, stopped;
};

struct OutcomeRow {
    double t_s;
    bool ok, probe;
    std::string label;
    double duration_ms; // < 0 for marks
    int exit_code;
    int32_t pid;
};

// One exchange of a client process (segment.h ExchangeRecord).
struct ExchangeRow {
    double t_s;        // its start: the request's first byte
    double latency_ms; // to the response's last byte, or to the failure
    bool ok;
    const char* failure; // null when ok: "connect", "reset", "timeout", ...
    int http_status;     // 0: no HTTP/1.x status seen
    int32_t pid;
};

// Writing: one instance per recorder. Throws cli::Failure on open errors;
// later errors are returned as false with error() saying why.
class RecordingDb {
  public:
    RecordingDb(const std::string& path, const char* command);
    ~RecordingDb();
    RecordingDb(const RecordingDb&) = delete;
    RecordingDb& operator=(const RecordingDb&) = delete;

    bool begin_session(const SessionRow& s);
    bool begin();
    bool commit();
    bool add_rule(const RuleRow& r);
    bool retire_rule(uint32_t id, double retired_s);
    bool update_rule(uint32_t id, uint64_t seen, uint64_t matched, uint64_t injected);
    bool add_event(const EventRow& e);
    bool add_outcome(const OutcomeRow& o);
    bool add_exchange(const ExchangeRow& x);
    bool add_sample_time(double t_s, uint64_t dropped_events, uint64_t dropped_outcomes);
    bool add_sample(double t_s, const SampleRow& r);
    bool add_latency(double t_s, const char* family, unsigned bucket, uint64_t count);
    bool add_process(double t_s, const ProcessRow& p);
    bool add_exit(const ExitRow& e);
    // The exact end of a process already stored as ended (its latest row).
    bool replace_exit(const ExitRow& e);
    bool end_session(double ended_s, uint64_t dropped_events, uint64_t dropped_outcomes);

    const std::string& error() const { return error_; }
    int64_t session_id() const { return session_; }

  private:
    void close() noexcept;
    bool step(sqlite3_stmt* st);
    sqlite3_stmt* prepare(const char* sql);

    sqlite3* db_ = nullptr;
    int64_t session_ = 0;
    std::string error_;
    sqlite3_stmt *rule_ = nullptr, *retire_ = nullptr, *update_rule_ = nullptr, *event_ = nullptr,
                 *outcome_ = nullptr, *sample_time_ = nullptr, *sample_ = nullptr,
                 *latency_ = nullptr, *process_ = nullptr, *exit_ = nullptr, *exchange_ = nullptr;
};

// Reading: the session named `name` (latest of that name), or the latest
// session when `name` is empty. Throws cli::Failure naming `command`.
Timeline load_timeline(const std::string& path, const std::string& name, const char* command);

} // namespace faultline
