// The recorder's SQLite writer alone: RecordingDb::add_event into a fresh
// recording file, one transaction per 100 ms as the recorder commits one per
// sample (controller/record/recorder.cpp), for the injection-event benchmark.
//
// usage: event_db FILE SECONDS
//
// Built from the controller's own sources (included below: the bench rule
// compiles one file), so the schema, indexes, pragmas and statements are the
// recorder's. FILE must not exist; the caller removes it (and FILE-wal,
// FILE-shm) afterwards.
//
// Output, one `key=value` line each, read by bench/run:
//   inserts=N seconds=S inserts_per_s=R commits=C slowest_commit_ms=M
//   stored=K         rows of the session in `events`, counted back with a
//                    fresh connection after the last commit (K == N)

#include "common/units.cpp"
#include "controller/cli/cli.cpp"
#include "controller/record/recording_db.cpp"

// Where the CLI has a version (controller/cli/version.*, read from the
// VERSION file), the recording stamps it on every session: this program is
// not the CLI, its sessions say so.
#if __has_include("controller/cli/version.h")
#include "controller/cli/version.h"
const char* faultline::faultline_version() {
    return "bench/event_db";
}
#endif

#include <cstdio>
#include <ctime>
#include <sqlite3.h>
#include <unistd.h>

namespace {

int64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

long long count_events(const char* path, int64_t session) {
    sqlite3* db = nullptr;
    sqlite3_stmt* st = nullptr;
    long long n = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT count(*) FROM events WHERE session = ?", -1, &st, nullptr) ==
            SQLITE_OK) {
        sqlite3_bind_int64(st, 1, session);
        if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s FILE SECONDS\n", argv[0]);
        return 2;
    }
    const char* path = argv[1];
    double seconds = atof(argv[2]);
    if (seconds <= 0 || access(path, F_OK) == 0) {
        fprintf(stderr, "event_db: SECONDS must be > 0 and FILE must not exist\n");
        return 2;
    }
    using namespace faultline;
    long long inserts = 0, commits = 0;
    int64_t session = 0, slowest = 0;
    double took = 0;
    try {
        RecordingDb db(path, "bench");
        SessionRow s;
        s.name = "event-db-bench";
        s.command = "event_db";
        if (!db.begin_session(s) || !db.begin()) {
            fprintf(stderr, "event_db: %s\n", db.error().c_str());
            return 1;
        }
        session = db.session_id();
        // What the recorder binds for a malloc injection by mem.fail.
        EventRow row{0.0, int32_t(getpid()), int32_t(gettid()), "malloc", 1, "fail", 12};
        int64_t t0 = now_ns(), end = t0 + int64_t(seconds * 1e9);
        int64_t next_commit = t0 + 100000000;
        for (;;) {
            for (unsigned k = 0; k < 64; ++k, ++inserts) {
                row.t_s = double(inserts) * 1e-6;
                row.tid = int32_t(inserts & 1);
                if (!db.add_event(row)) {
                    fprintf(stderr, "event_db: insert: %s\n", db.error().c_str());
                    return 1;
                }
            }
            int64_t now = now_ns();
            if (now >= next_commit || now >= end) {
                if (!db.commit()) {
                    fprintf(stderr, "event_db: commit: %s\n", db.error().c_str());
                    return 1;
                }
                ++commits;
                int64_t after = now_ns();
                if (after - now > slowest) slowest = after - now;
                if (after >= end) break;
                db.begin();
                next_commit = after + 100000000;
            }
        }
        took = double(now_ns() - t0) / 1e9;
    } catch (const cli::Failure& f) {
        fprintf(stderr, "event_db: %s: %s\n", f.what.c_str(), f.why.c_str());
        return 1;
    }
    printf("inserts=%lld seconds=%.4f inserts_per_s=%.0f commits=%lld slowest_commit_ms=%.2f\n",
           inserts, took, double(inserts) / took, commits, double(slowest) / 1e6);
    printf("stored=%lld\n", count_events(path, session));
    return 0;
}
