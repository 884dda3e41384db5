#include "controller/record/recording_db.h"

#include "common/hooks.h"
#include "controller/cli/cli.h"
#include "controller/cli/version.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <sqlite3.h>
#include <type_traits>

namespace faultline {

using cli::fail;

namespace {

// Times are seconds since the session's segment was created (t = 0 of the
// report). Counter rows are deltas over the interval ending at t_s.
constexpr const char* kSchema = R"sql(
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
INSERT OR IGNORE INTO meta VALUES ('schema', '4');
CREATE TABLE IF NOT EXISTS sessions(
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, seed TEXT, command TEXT,
    started_wall_ns INTEGER, recorded_from_s REAL, ended_s REAL,
    sample_interval_s REAL, dropped_events INTEGER DEFAULT 0,
    dropped_outcomes INTEGER DEFAULT 0, version TEXT);
CREATE TABLE IF NOT EXISTS rules(
    session INTEGER NOT NULL, rule_id INTEGER NOT NULL, name TEXT, text TEXT,
    family TEXT, kind TEXT, armed_s REAL, retired_s REAL,
    seen INTEGER DEFAULT 0, matched INTEGER DEFAULT 0, injected INTEGER DEFAULT 0,
    joined INTEGER DEFAULT 0, PRIMARY KEY(session, rule_id));
CREATE TABLE IF NOT EXISTS events(
    session INTEGER NOT NULL, t_s REAL, pid INTEGER, tid INTEGER, function TEXT,
    rule_id INTEGER, kind TEXT, value INTEGER, backtrace TEXT);
CREATE TABLE IF NOT EXISTS outcomes(
    session INTEGER NOT NULL, t_s REAL, kind TEXT, ok INTEGER, label TEXT,
    duration_ms REAL, exit_code INTEGER, pid INTEGER);
CREATE VIEW IF NOT EXISTS marks AS
    SELECT session, t_s, ok, label, pid FROM outcomes WHERE kind = 'mark';
CREATE VIEW IF NOT EXISTS probes AS
    SELECT session, t_s, ok, duration_ms, exit_code, label FROM outcomes WHERE kind = 'probe';
CREATE TABLE IF NOT EXISTS sample_times(
    session INTEGER NOT NULL, t_s REAL, dropped_events INTEGER, dropped_outcomes INTEGER);
CREATE TABLE IF NOT EXISTS samples(
    session INTEGER NOT NULL, t_s REAL, function TEXT, family TEXT, operation INTEGER,
    calls INTEGER, errors INTEGER, injected INTEGER, bytes INTEGER, latency_ns INTEGER);
CREATE TABLE IF NOT EXISTS latency(
    session INTEGER NOT NULL, t_s REAL, family TEXT, bucket INTEGER, floor_ns INTEGER,
    count INTEGER);
CREATE TABLE IF NOT EXISTS processes(
    session INTEGER NOT NULL, t_s REAL, pid INTEGER, comm TEXT, rss_kb INTEGER,
    cpu_ms INTEGER, fds INTEGER);
CREATE TABLE IF NOT EXISTS exits(
    session INTEGER NOT NULL, t_s REAL, pid INTEGER, comm TEXT, status INTEGER, signal INTEGER,
    core INTEGER, target INTEGER, stopped INTEGER);
CREATE TABLE IF NOT EXISTS exchanges(
    session INTEGER NOT NULL, t_s REAL, latency_ms REAL, ok INTEGER, failure TEXT,
    http_status INTEGER, pid INTEGER);
CREATE INDEX IF NOT EXISTS events_by_session ON events(session, t_s);
CREATE INDEX IF NOT EXISTS samples_by_session ON samples(session, t_s);
)sql";

// Schema 2 added sessions.version (the faultline that recorded it). A file
// of schema 1 gets the column when a newer recorder opens it; its old
// sessions keep NULL there, and readers never need the column. Schema 3
// added the `exits` table (kSchema creates it in an older file; its old
// sessions have no rows there, and readers of a file without it read none)
// and rules.joined (an experiment's rule continuing the window before it:
// the rules of older sessions get 1, as their reports joined any rule armed
// within 10 ms of a window's end). Schema 4 added the `exchanges` table (a
// client's exchanges; likewise created in an older file, read as none from
// a file without it).
constexpr int kSchemaVersion = 4;

struct Stmt {
    sqlite3_stmt* st = nullptr;
    ~Stmt() { sqlite3_finalize(st); }
};

// Brings a file of an older schema up to kSchemaVersion. Two recorders may
// race here: a column the other one just added is not an error.
// Adds `column` (with its type and default, `decl`) to `table` unless it
// is there; then runs `then` (SQL for the rows that predate it), if any.
int add_column(sqlite3* db, const char* table, const char* column, const char* decl,
               const char* then, char** err) {
    bool has = false;
    {
        Stmt st;
        std::string q = std::string("SELECT 1 FROM pragma_table_info('") + table +
                        "') WHERE name = '" + column + "'";
        int rc = sqlite3_prepare_v2(db, q.c_str(), -1, &st.st, nullptr);
        if (rc != SQLITE_OK) return rc;
        rc = sqlite3_step(st.st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) return rc;
        has = rc == SQLITE_ROW;
    }
    if (has) return SQLITE_OK;
    std::string alter = std::string("ALTER TABLE ") + table + " ADD COLUMN " + column + " " + decl;
    int rc = sqlite3_exec(db, alter.c_str(), nullptr, nullptr, err);
    if (rc != SQLITE_OK && !(*err && strstr(*err, "duplicate column"))) return rc;
    sqlite3_free(*err);
    *err = nullptr;
    return then ? sqlite3_exec(db, then, nullptr, nullptr, err) : SQLITE_OK;
}

int migrate(sqlite3* db, char** err) {
    if (int rc = add_column(db, "sessions", "version", "TEXT", nullptr, err); rc != SQLITE_OK)
        return rc;
    if (int rc = add_column(db, "rules", "joined", "INTEGER DEFAULT 0",
                            "UPDATE rules SET joined = 1", err);
        rc != SQLITE_OK)
        return rc;
    std::string bump = "UPDATE meta SET value = '" + std::to_string(kSchemaVersion) +
                       "' WHERE key = 'schema' AND CAST(value AS INTEGER) < " +
                       std::to_string(kSchemaVersion);
    return sqlite3_exec(db, bump.c_str(), nullptr, nullptr, err);
}

// Why the open file `db` is not one to record into or read, or "": a file
// with tables but no faultline schema in `meta` (another program's database),
// or one of a newer schema than this faultline knows. An empty file is fine.
std::string foreign_file(sqlite3* db) {
    auto one = [&](const char* sql, std::string& out) {
        Stmt st;
        int rc = sqlite3_prepare_v2(db, sql, -1, &st.st, nullptr);
        if (rc == SQLITE_OK) rc = sqlite3_step(st.st);
        if (rc == SQLITE_ROW) {
            const unsigned char* t = sqlite3_column_text(st.st, 0);
            out = t ? reinterpret_cast<const char*>(t) : "";
            return SQLITE_OK;
        }
        return rc == SQLITE_DONE ? SQLITE_OK : rc;
    };
    std::string tables, schema;
    for (int attempt = 0;; ++attempt) {
        int rc = one("SELECT count(*) FROM sqlite_master WHERE type = 'table'", tables);
        if ((rc & 0xff) == SQLITE_BUSY && attempt < 100) {
            timespec nap{0, 50'000'000};
            nanosleep(&nap, nullptr);
            continue;
        }
        if (rc != SQLITE_OK) return sqlite3_errmsg(db); // "file is not a database"
        break;
    }
    if (tables == "0") return "";
    if (one("SELECT value FROM meta WHERE key = 'schema'", schema) != SQLITE_OK || schema.empty())
        return "not a faultline recording (a SQLite database without faultline's schema); "
               "give another -o";
    long v = strtol(schema.c_str(), nullptr, 10);
    if (v < 1) return "not a faultline recording (schema '" + schema + "'); give another -o";
    if (v > kSchemaVersion)
        return "recorded by a newer faultline (schema " + schema + ", this one knows up to " +
               std::to_string(kSchemaVersion) + ")";
    return "";
}

Family family_named(const std::string& name) {
    for (unsigned f = 0; f < kFamilyCount; ++f)
        if (name == kFamilyNames[f]) return Family(f);
    return Family::Mem;
}

} // namespace

RecordingDb::RecordingDb(const std::string& path, const char* command) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
        SQLITE_OK) {
        std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close(db_);
        db_ = nullptr;
        fail(command, path + ": " + why);
    }
    sqlite3_busy_timeout(db_, 2000);
    // Two recorders starting together on one new file (two `faultline run`
    // in one directory) race to create it and to switch it to WAL, and SQLite
    // answers that race with SQLITE_BUSY without waiting: try again, for up
    // to 5 s.
    if (std::string why = foreign_file(db_); !why.empty()) {
        sqlite3_close(db_);
        db_ = nullptr;
        fail(command, path + ": " + why);
    }
    char* err = nullptr;
    int rc = SQLITE_OK;
    for (int attempt = 0; attempt < 100; ++attempt) {
        sqlite3_free(err);
        err = nullptr;
        rc = sqlite3_exec(db_, kSchema, nullptr, nullptr, &err);
        if (rc == SQLITE_OK) rc = migrate(db_, &err);
        if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) break;
        timespec nap{0, 50'000'000};
        nanosleep(&nap, nullptr);
    }
    if (rc != SQLITE_OK) {
        std::string why = err ? err : "cannot create the schema";
        sqlite3_free(err);
        sqlite3_close(db_);
        db_ = nullptr;
        fail(command, path + ": " + why);
    }
    rule_ = prepare("INSERT OR REPLACE INTO rules(session, rule_id, name, text, family, kind, "
                    "armed_s, joined) VALUES (?,?,?,?,?,?,?,?)");
    retire_ = prepare("UPDATE rules SET retired_s = ? WHERE session = ? AND rule_id = ?");
    update_rule_ = prepare(
        "UPDATE rules SET seen = ?, matched = ?, injected = ? WHERE session = ? AND rule_id = ?");
    event_ = prepare("INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?)");
    outcome_ = prepare("INSERT INTO outcomes VALUES (?,?,?,?,?,?,?,?)");
    sample_time_ = prepare("INSERT INTO sample_times VALUES (?,?,?,?)");
    sample_ = prepare("INSERT INTO samples VALUES (?,?,?,?,?,?,?,?,?,?)");
    latency_ = prepare("INSERT INTO latency VALUES (?,?,?,?,?,?)");
    process_ = prepare("INSERT INTO processes VALUES (?,?,?,?,?,?,?)");
    exit_ = prepare("INSERT INTO exits VALUES (?,?,?,?,?,?,?,?,?)");
    exchange_ = prepare("INSERT INTO exchanges VALUES (?,?,?,?,?,?,?)");
    if (!process_ || !exit_ || !exchange_) {
        // Tables of the right names and the wrong columns (a damaged file):
        // refused like a foreign one. The destructor does not run for a
        // constructor that throws: close here, once.
        std::string why = error_;
        close();
        fail(command, path + ": not a faultline recording (" + why + ")");
    }
}

RecordingDb::~RecordingDb() {
    close();
}

void RecordingDb::close() noexcept {
    for (sqlite3_stmt* st : {rule_, retire_, update_rule_, event_, outcome_, sample_time_, sample_,
                             latency_, process_, exit_, exchange_})
        sqlite3_finalize(st);
    rule_ = retire_ = update_rule_ = event_ = outcome_ = sample_time_ = sample_ = latency_ =
        process_ = exit_ = exchange_ = nullptr;
    if (db_) {
        sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr); // if one is open
        sqlite3_close(db_);
        db_ = nullptr;
    }
}

sqlite3_stmt* RecordingDb::prepare(const char* sql) {
    sqlite3_stmt* st = nullptr;
    if (!db_ || sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK) {
        error_ = db_ ? sqlite3_errmsg(db_) : "not open";
        return nullptr;
    }
    return st;
}

bool RecordingDb::step(sqlite3_stmt* st) {
    if (!st) return false;
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        error_ = sqlite3_errmsg(db_);
        return false;
    }
    return true;
}

namespace {
void text(sqlite3_stmt* st, int i, const std::string& s) {
    sqlite3_bind_text(st, i, s.c_str(), int(s.size()), SQLITE_TRANSIENT);
}
void text(sqlite3_stmt* st, int i, const char* s) {
    sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}
void i64(sqlite3_stmt* st, int i, int64_t v) {
    sqlite3_bind_int64(st, i, v);
}
void real(sqlite3_stmt* st, int i, double v) {
    sqlite3_bind_double(st, i, v);
}
} // namespace

bool RecordingDb::begin_session(const SessionRow& s) {
    Stmt st{prepare("INSERT INTO sessions(name, seed, command, started_wall_ns, recorded_from_s, "
                    "sample_interval_s, version) VALUES (?,?,?,?,?,?,?)")};
    if (!st.st) return false;
    text(st.st, 1, s.name);
    text(st.st, 2, std::to_string(s.seed)); // TEXT: a u64 does not fit SQLite's integers
    text(st.st, 3, s.command);
    i64(st.st, 4, s.started_wall_ns);
    real(st.st, 5, s.recorded_from_s);
    real(st.st, 6, s.sample_interval_s);
    text(st.st, 7, faultline_version());
    if (!step(st.st)) return false;
    session_ = sqlite3_last_insert_rowid(db_);
    return true;
}

bool RecordingDb::begin() {
    return sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr) == SQLITE_OK ||
           (error_ = sqlite3_errmsg(db_), false);
}

bool RecordingDb::commit() {
    return sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK ||
           (error_ = sqlite3_errmsg(db_), false);
}

bool RecordingDb::add_rule(const RuleRow& r) {
    i64(rule_, 1, session_);
    i64(rule_, 2, r.id);
    text(rule_, 3, r.name);
    text(rule_, 4, r.text);
    text(rule_, 5, r.family);
    text(rule_, 6, r.kind);
    real(rule_, 7, r.armed_s);
    i64(rule_, 8, r.joins);
    return step(rule_);
}

bool RecordingDb::retire_rule(uint32_t id, double retired_s) {
    real(retire_, 1, retired_s);
    i64(retire_, 2, session_);
    i64(retire_, 3, id);
    return step(retire_);
}

bool RecordingDb::update_rule(uint32_t id, uint64_t seen, uint64_t matched, uint64_t injected) {
    i64(update_rule_, 1, int64_t(seen));
    i64(update_rule_, 2, int64_t(matched));
    i64(update_rule_, 3, int64_t(injected));
    i64(update_rule_, 4, session_);
    i64(update_rule_, 5, id);
    return step(update_rule_);
}

bool RecordingDb::add_event(const EventRow& e) {
    i64(event_, 1, session_);
    real(event_, 2, e.t_s);
    i64(event_, 3, e.pid);
    i64(event_, 4, e.tid);
    text(event_, 5, e.function);
    i64(event_, 6, e.rule_id);
    text(event_, 7, e.kind);
    i64(event_, 8, e.value);
    if (e.backtrace)
        text(event_, 9, *e.backtrace);
    else
        sqlite3_bind_null(event_, 9);
    return step(event_);
}

bool RecordingDb::add_outcome(const OutcomeRow& o) {
    i64(outcome_, 1, session_);
    real(outcome_, 2, o.t_s);
    text(outcome_, 3, o.probe ? "probe" : "mark");
    i64(outcome_, 4, o.ok);
    text(outcome_, 5, o.label);
    if (o.duration_ms >= 0)
        real(outcome_, 6, o.duration_ms);
    else
        sqlite3_bind_null(outcome_, 6);
    i64(outcome_, 7, o.exit_code);
    i64(outcome_, 8, o.pid);
    return step(outcome_);
}

bool RecordingDb::add_exchange(const ExchangeRow& x) {
    i64(exchange_, 1, session_);
    real(exchange_, 2, x.t_s);
    real(exchange_, 3, x.latency_ms);
    i64(exchange_, 4, x.ok);
    if (x.failure)
        text(exchange_, 5, x.failure);
    else
        sqlite3_bind_null(exchange_, 5);
    if (x.http_status)
        i64(exchange_, 6, x.http_status);
    else
        sqlite3_bind_null(exchange_, 6);
    i64(exchange_, 7, x.pid);
    return step(exchange_);
}

bool RecordingDb::add_sample_time(double t_s, uint64_t dropped_events, uint64_t dropped_outcomes) {
    i64(sample_time_, 1, session_);
    real(sample_time_, 2, t_s);
    i64(sample_time_, 3, int64_t(dropped_events));
    i64(sample_time_, 4, int64_t(dropped_outcomes));
    return step(sample_time_);
}

bool RecordingDb::add_sample(double t_s, const SampleRow& r) {
    i64(sample_, 1, session_);
    real(sample_, 2, t_s);
    text(sample_, 3, r.function);
    text(sample_, 4, r.family);
    i64(sample_, 5, r.operation);
    i64(sample_, 6, int64_t(r.calls));
    i64(sample_, 7, int64_t(r.errors));
    i64(sample_, 8, int64_t(r.injected));
    i64(sample_, 9, int64_t(r.bytes));
    i64(sample_, 10, int64_t(r.latency_ns));
    return step(sample_);
}

bool RecordingDb::add_latency(double t_s, const char* family, unsigned bucket, uint64_t count) {
    i64(latency_, 1, session_);
    real(latency_, 2, t_s);
    text(latency_, 3, family);
    i64(latency_, 4, bucket);
    i64(latency_, 5, latency_bucket_floor_ns(bucket));
    i64(latency_, 6, int64_t(count));
    return step(latency_);
}

bool RecordingDb::add_process(double t_s, const ProcessRow& p) {
    i64(process_, 1, session_);
    real(process_, 2, t_s);
    i64(process_, 3, p.pid);
    text(process_, 4, p.comm);
    i64(process_, 5, p.rss_kb);
    i64(process_, 6, p.cpu_ms);
    i64(process_, 7, p.fds);
    return step(process_);
}

bool RecordingDb::replace_exit(const ExitRow& e) {
    Stmt st{prepare("DELETE FROM exits WHERE rowid = (SELECT max(rowid) FROM exits WHERE "
                    "session = ?1 AND pid = ?2)")};
    if (!st.st) return false;
    i64(st.st, 1, session_);
    i64(st.st, 2, e.pid);
    return step(st.st) && add_exit(e);
}

bool RecordingDb::add_exit(const ExitRow& e) {
    i64(exit_, 1, session_);
    real(exit_, 2, e.t_s);
    i64(exit_, 3, e.pid);
    text(exit_, 4, e.comm);
    if (e.status >= 0)
        i64(exit_, 5, e.status);
    else
        sqlite3_bind_null(exit_, 5);
    if (e.signal > 0)
        i64(exit_, 6, e.signal);
    else
        sqlite3_bind_null(exit_, 6);
    i64(exit_, 7, e.core);
    i64(exit_, 8, e.target);
    i64(exit_, 9, e.stopped);
    return step(exit_);
}

bool RecordingDb::end_session(double ended_s, uint64_t dropped_events, uint64_t dropped_outcomes) {
    Stmt st{prepare("UPDATE sessions SET ended_s = ?, dropped_events = ?, dropped_outcomes = ? "
                    "WHERE id = ?")};
    if (!st.st) return false;
    real(st.st, 1, ended_s);
    i64(st.st, 2, int64_t(dropped_events));
    i64(st.st, 3, int64_t(dropped_outcomes));
    i64(st.st, 4, session_);
    return step(st.st);
}

// -- reading ---------------------------------------------------------------------

namespace {

class Reader {
  public:
    Reader(const std::string& path, const char* command) : path_(path), command_(command) {
        if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
            std::string why = db_ ? sqlite3_errmsg(db_) : "cannot open";
            sqlite3_close(db_);
            fail(command, path + ": " + why);
        }
        sqlite3_busy_timeout(db_, 2000);
        if (std::string why = foreign_file(db_); !why.empty()) {
            sqlite3_close(db_);
            fail(command, path + ": " + why);
        }
    }
    ~Reader() { sqlite3_close(db_); }

    // Runs `sql` with ?1 bound to `key` (a session id, or a name), calling
    // `row` per result row.
    template <class Key, class Row> void each(const char* sql, const Key& key, Row&& row) {
        Stmt st;
        if (sqlite3_prepare_v2(db_, sql, -1, &st.st, nullptr) != SQLITE_OK)
            fail(command_, path_ + ": not a faultline recording (" + sqlite3_errmsg(db_) + ")");
        if constexpr (std::is_same_v<Key, std::string>)
            text(st.st, 1, key);
        else
            sqlite3_bind_int64(st.st, 1, key);
        int rc;
        while ((rc = sqlite3_step(st.st)) == SQLITE_ROW) row(st.st);
        if (rc != SQLITE_DONE) fail(command_, path_ + ": " + sqlite3_errmsg(db_));
    }

  private:
    sqlite3* db_ = nullptr;
    std::string path_;
    const char* command_;
};

std::string column_text(sqlite3_stmt* st, int i) {
    const unsigned char* t = sqlite3_column_text(st, i);
    return t ? reinterpret_cast<const char*>(t) : "";
}

// The session's row (the latest one named `name`, or the latest of all when
// `name` is empty) into `t`; its id.
int64_t load_session(Reader& db, const std::string& path, const std::string& name,
                     const char* command, Timeline& t) {
    int64_t session = 0;
    auto session_row = [&](sqlite3_stmt* st) {
        session = sqlite3_column_int64(st, 0);
        t.session = column_text(st, 1);
        t.seed = strtoull(column_text(st, 2).c_str(), nullptr, 10);
        t.end_s = sqlite3_column_double(st, 3);
        t.dropped_events = uint64_t(sqlite3_column_int64(st, 4));
    };
    const char* columns = "SELECT id, name, seed, COALESCE(ended_s, (SELECT MAX(t_s) FROM "
                          "sample_times WHERE session = sessions.id), 0), dropped_events "
                          "FROM sessions ";
    if (name.empty())
        db.each((std::string(columns) + "ORDER BY id DESC LIMIT 1").c_str(), int64_t(0),
                session_row);
    else
        db.each((std::string(columns) + "WHERE name = ?1 ORDER BY id DESC LIMIT 1").c_str(), name,
                session_row);
    if (!session)
        fail(command,
             path + ": " +
                 (name.empty() ? "no session recorded" : "no session named '" + name + "'"));
    return session;
}

// A file of schema 2 or older, opened read-only, has no rules.joined: its
// rules join as they always did (1).
void load_rules(Reader& db, int64_t session, Timeline& t) {
    bool has_joined = false;
    db.each("SELECT 1 FROM pragma_table_info('rules') WHERE name = 'joined' AND ?1 = ?1", session,
            [&](sqlite3_stmt*) { has_joined = true; });
    std::string sql = std::string("SELECT rule_id, name, text, family, armed_s, "
                                  "COALESCE(retired_s, -1), injected, ") +
                      (has_joined ? "COALESCE(joined, 0)" : "1") +
                      " FROM rules WHERE session = ?1 ORDER BY armed_s, rule_id";
    db.each(sql.c_str(), session, [&](sqlite3_stmt* st) {
        RuleSpan r;
        r.id = uint32_t(sqlite3_column_int64(st, 0));
        r.name = column_text(st, 1);
        r.text = column_text(st, 2);
        std::string family = column_text(st, 3);
        r.pause = family == "pause";
        r.family = family_named(family);
        r.armed_s = sqlite3_column_double(st, 4);
        r.retired_s = sqlite3_column_double(st, 5);
        r.injected = uint64_t(sqlite3_column_int64(st, 6));
        r.joins = sqlite3_column_int(st, 7) != 0;
        t.rules.push_back(std::move(r));
    });
}

void load_outcomes(Reader& db, int64_t session, Timeline& t) {
    db.each("SELECT t_s, ok, kind = 'probe', COALESCE(duration_ms, -1), label FROM outcomes "
            "WHERE session = ?1 ORDER BY t_s",
            session, [&](sqlite3_stmt* st) {
                Outcome o;
                o.t_s = sqlite3_column_double(st, 0);
                o.ok = sqlite3_column_int(st, 1) != 0;
                o.probe = sqlite3_column_int(st, 2) != 0;
                o.duration_ms = sqlite3_column_double(st, 3);
                o.label = column_text(st, 4);
                t.outcomes.push_back(std::move(o));
            });
}

// Whether the file has `table` (one of an older schema may lack it).
bool has_table(Reader& db, const std::string& table) {
    bool has = false;
    std::string q =
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '" + table + "' AND ?1 = ?1";
    db.each(q.c_str(), 0, [&](sqlite3_stmt*) { has = true; });
    return has;
}

// A client's exchanges are the operations when no mark or probe was
// reported (docs/metrics.md "Operations"): each is an outcome that ends
// its latency after its start. A file of schema 3 or older has none.
void load_exchanges(Reader& db, int64_t session, Timeline& t) {
    if (!t.outcomes.empty() || !has_table(db, "exchanges")) return;
    db.each("SELECT t_s + latency_ms / 1000.0, ok, latency_ms, COALESCE(failure, '') FROM "
            "exchanges WHERE session = ?1 ORDER BY t_s + latency_ms / 1000.0",
            session, [&](sqlite3_stmt* st) {
                Outcome o;
                o.t_s = sqlite3_column_double(st, 0);
                o.ok = sqlite3_column_int(st, 1) != 0;
                o.duration_ms = sqlite3_column_double(st, 2);
                o.label = column_text(st, 3); // why it failed
                t.outcomes.push_back(std::move(o));
            });
    t.exchanges = !t.outcomes.empty();
}

// One Sample per sample time, its dropped events made per-sample; returns
// each sample time's index, for the counter and histogram rows to join.
std::map<double, size_t> load_sample_times(Reader& db, int64_t session, Timeline& t) {
    std::map<double, size_t> at;
    db.each("SELECT t_s, dropped_events FROM sample_times WHERE session = ?1 ORDER BY t_s", session,
            [&](sqlite3_stmt* st) {
                Sample s;
                s.t_s = sqlite3_column_double(st, 0);
                s.dropped = uint64_t(sqlite3_column_int64(st, 1)); // cumulative: deltas below
                at[s.t_s] = t.samples.size();
                t.samples.push_back(s);
            });
    if (!t.samples.empty()) t.dropped_events = std::max(t.dropped_events, t.samples.back().dropped);
    for (size_t i = t.samples.size(); i-- > 1;)
        t.samples[i].dropped -= std::min(t.samples[i].dropped, t.samples[i - 1].dropped);
    return at;
}

// Calls and errors per family (the operations only), into their samples.
void load_sample_counters(Reader& db, int64_t session, const std::map<double, size_t>& at,
                          Timeline& t) {
    db.each("SELECT t_s, family, SUM(calls), SUM(errors) FROM samples WHERE session = ?1 AND "
            "operation = 1 GROUP BY t_s, family",
            session, [&](sqlite3_stmt* st) {
                auto it = at.find(sqlite3_column_double(st, 0));
                if (it == at.end()) return;
                unsigned f = unsigned(family_named(column_text(st, 1)));
                t.samples[it->second].calls[f] = uint64_t(sqlite3_column_int64(st, 2));
                t.samples[it->second].errors[f] = uint64_t(sqlite3_column_int64(st, 3));
            });
}

// Latency histograms per family, into their samples.
void load_sample_latency(Reader& db, int64_t session, const std::map<double, size_t>& at,
                         Timeline& t) {
    db.each("SELECT t_s, family, bucket, count FROM latency WHERE session = ?1", session,
            [&](sqlite3_stmt* st) {
                auto it = at.find(sqlite3_column_double(st, 0));
                unsigned b = unsigned(sqlite3_column_int(st, 2));
                if (it == at.end() || b >= kLatencyBuckets) return;
                unsigned f = unsigned(family_named(column_text(st, 1)));
                t.samples[it->second].latency[f][b] = uint64_t(sqlite3_column_int64(st, 3));
            });
}

void load_processes(Reader& db, int64_t session, Timeline& t) {
    db.each("SELECT t_s, pid, comm, rss_kb, cpu_ms, fds FROM processes WHERE session = ?1 "
            "ORDER BY t_s, pid",
            session, [&](sqlite3_stmt* st) {
                ProcessSample p;
                p.t_s = sqlite3_column_double(st, 0);
                p.pid = int32_t(sqlite3_column_int(st, 1));
                p.comm = column_text(st, 2);
                p.rss_mb = double(sqlite3_column_int64(st, 3)) / 1024.0;
                p.cpu_s = double(sqlite3_column_int64(st, 4)) / 1000.0;
                p.fds = sqlite3_column_int(st, 5);
                t.processes.push_back(std::move(p));
            });
}

// A file of schema 2 or older, opened read-only, has no `exits` table: no
// exits recorded.
void load_exits(Reader& db, int64_t session, Timeline& t) {
    if (!has_table(db, "exits")) return;
    db.each("SELECT t_s, pid, comm, COALESCE(status, -1), COALESCE(signal, 0), core, target, "
            "stopped FROM exits WHERE session = ?1 ORDER BY t_s, pid",
            session, [&](sqlite3_stmt* st) {
                ProcessExit e;
                e.t_s = sqlite3_column_double(st, 0);
                e.pid = int32_t(sqlite3_column_int(st, 1));
                e.comm = column_text(st, 2);
                e.status = sqlite3_column_int(st, 3);
                e.signal = sqlite3_column_int(st, 4);
                e.core = sqlite3_column_int(st, 5) != 0;
                e.target = sqlite3_column_int(st, 6) != 0;
                e.stopped = sqlite3_column_int(st, 7) != 0;
                t.exits.push_back(std::move(e));
            });
}

} // namespace

Timeline load_timeline(const std::string& path, const std::string& name, const char* command) {
    Reader db(path, command);
    Timeline t;
    int64_t session = load_session(db, path, name, command, t);
    load_rules(db, session, t);
    load_outcomes(db, session, t);
    load_exchanges(db, session, t);
    std::map<double, size_t> at = load_sample_times(db, session, t);
    load_sample_counters(db, session, at, t);
    load_sample_latency(db, session, at, t);
    load_processes(db, session, t);
    load_exits(db, session, t);
    if (t.end_s <= 0 && !t.samples.empty()) t.end_s = t.samples.back().t_s;
    return t;
}

} // namespace faultline
