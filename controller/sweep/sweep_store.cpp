#include "controller/sweep/sweep_store.h"

#include "common/segment.h"
#include "controller/cli/cli.h"
#include "controller/cli/version.h"
#include "controller/record/recording_db.h"
#include "controller/sweep/plan.h"
#include "controller/sweep/verdict.h"

#include <cstdio>
#include <sqlite3.h>
#include <sys/wait.h>

namespace faultline::sweep {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS sweeps(
    id INTEGER PRIMARY KEY, started_wall_ns INTEGER, command TEXT, families TEXT,
    mode TEXT, jobs INTEGER, timeout_s REAL, elapsed_s REAL, stopped_by TEXT,
    profile_status INTEGER, profile_duration_s REAL, profile_stdout_bytes INTEGER,
    version TEXT);
CREATE TABLE IF NOT EXISTS sweep_sites(
    sweep INTEGER, site TEXT, function TEXT, calls INTEGER, first_reached INTEGER,
    process TEXT, stack TEXT);
CREATE TABLE IF NOT EXISTS sweep_runs(
    sweep INTEGER, site TEXT, rule TEXT, outcome TEXT, wait_status INTEGER, signal INTEGER,
    duration_s REAL, injected INTEGER, stdout_bytes INTEGER, sanitizer TEXT,
    crash_stack TEXT, stderr_tail TEXT);
CREATE TABLE IF NOT EXISTS sweep_findings(
    sweep INTEGER, outcome TEXT, signal INTEGER, function TEXT, stack TEXT,
    crash_stack TEXT, reproduce TEXT, sites INTEGER, detail TEXT, reproduced INTEGER);
)sql";

std::string lines(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : "\n") + s;
    return out;
}

class Writer {
  public:
    Writer(sqlite3* db, const std::string& path) : db_(db), path_(path) {}

    // Binds `values` (int64, double or text) to `sql` and steps it.
    template <class... V> void row(const char* sql, const V&... values) {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK) fail();
        int i = 0;
        (bind(st, ++i, values), ...);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) fail();
    }

    [[noreturn]] void fail() {
        cli::fail("sweep", path_ + ": " + sqlite3_errmsg(db_), cli::kCheckFailed);
    }

  private:
    static void bind(sqlite3_stmt* st, int i, int64_t v) { sqlite3_bind_int64(st, i, v); }
    static void bind(sqlite3_stmt* st, int i, int v) { sqlite3_bind_int64(st, i, v); }
    static void bind(sqlite3_stmt* st, int i, uint64_t v) { sqlite3_bind_int64(st, i, int64_t(v)); }
    static void bind(sqlite3_stmt* st, int i, double v) { sqlite3_bind_double(st, i, v); }
    static void bind(sqlite3_stmt* st, int i, const std::string& v) {
        sqlite3_bind_text(st, i, v.c_str(), int(v.size()), SQLITE_TRANSIENT);
    }
    sqlite3* db_;
    const std::string& path_;
};

} // namespace

void store_sweep(const Sweep& s, const std::string& path) {
    { RecordingDb schema(path, "sweep"); } // creates, migrates or refuses the file
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
        std::string why = db ? sqlite3_errmsg(db) : "out of memory";
        sqlite3_close(db);
        cli::fail("sweep", path + ": " + why, cli::kCheckFailed);
    }
    sqlite3_busy_timeout(db, 5000);
    struct Close {
        sqlite3* db;
        ~Close() { sqlite3_close(db); }
    } close{db};
    Writer w(db, path);
    if (sqlite3_exec(db, kSchema, nullptr, nullptr, nullptr) != SQLITE_OK ||
        sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
        w.fail();
    std::string command = command_text(s.options.command);
    std::string families;
    for (unsigned f = 0; f < kFamilyCount; ++f)
        if (s.options.families & (1u << f))
            families += (families.empty() ? "" : ",") + std::string(kFamilyNames[f]);
    w.row("INSERT INTO sweeps(started_wall_ns, command, families, mode, jobs, timeout_s, "
          "elapsed_s, stopped_by, profile_status, profile_duration_s, profile_stdout_bytes, "
          "version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
          realtime_ns() - int64_t(s.elapsed_s * 1e9), command, families,
          std::string(s.options.mode == Mode::Once ? "once" : "persistent"),
          int64_t(s.options.jobs), double(s.timeout_ns) / 1e9, s.elapsed_s, s.stopped_by,
          int64_t(s.profile.status), s.profile.duration_s, s.profile.stdout_bytes,
          std::string(faultline_version()));
    int64_t id = sqlite3_last_insert_rowid(db);
    for (const Site& site : s.sites)
        w.row("INSERT INTO sweep_sites VALUES (?,?,?,?,?,?,?)", id, site_text(site.id),
              std::string(kHooks[unsigned(site.hook)].name), site.calls, site.first, site.comm,
              lines(site.stack));
    for (const Run& r : s.runs)
        w.row("INSERT INTO sweep_runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", id,
              site_text(s.sites[r.site].id), r.rule, std::string(outcome_name(r.outcome)),
              int64_t(r.result.status), int64_t(run_signal(r.result)), r.result.duration_s,
              r.result.injected, r.result.stdout_bytes, r.result.sanitizer,
              r.result.crashes.empty() ? std::string() : lines(r.result.crashes.front().stack),
              r.result.stderr_tail);
    for (const Finding& f : s.findings)
        w.row("INSERT INTO sweep_findings VALUES (?,?,?,?,?,?,?,?,?,?)", id,
              std::string(outcome_name(f.outcome)), int64_t(f.signal), f.function, lines(f.stack),
              lines(f.crash_stack), f.reproduce, uint64_t(f.runs.size()), f.detail,
              int64_t(f.checked ? int(f.reproduced) : -1));
    if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) w.fail();
}

} // namespace faultline::sweep
