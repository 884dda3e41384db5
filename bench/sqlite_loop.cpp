// An SQLite insert/select loop, CPU-bound, timed ("SQLite
// insert/select loop, no rule armed").
//
// usage: sqlite_loop DB ROUNDS
//
// DB is created afresh (put it on /dev/shm), journal_mode=WAL,
// synchronous=OFF, so that no round waits for a disk. The table is filled
// with kRows rows first; then each round is one transaction of kBatch
// prepared `INSERT OR REPLACE` (ids cycling over the kRows, so the table
// keeps its size and shape), then one read transaction of kBatch prepared
// point SELECTs on pseudo-random ids. The loop calls sqlite3_step, sqlite3_reset and
// sqlite3_bind_* (the first two hooked by the shim) and the VFS's
// xRead/xWrite/xLock (through the "faultline" VFS under the shim). No
// statement starts with DELETE and no file but DB's is opened in the loop:
// the benchmark's non-matching rules (`db.error sql='DELETE*'`,
// `db.io file=*.nomatch`) see every call and match none. (Not `db.io
// op=truncate`: each WAL checkpoint truncates the database file to its size,
// and a failed checkpoint is retried at every later commit.)
//
// Output, one `key=value` line each, read by bench/run:
//   sqlite3_from=PATH   the object sqlite3_step resolves to (libsqlite3 or the shim)
//   ns_per_op=X best_chunk_ns=Y
//                       per statement (INSERT or SELECT) over the whole timed
//                       loop, and over its fastest chunk of kChunk rounds
//   rows=N found=M selects=S
//                       rows in the table at the end (kRows); timed SELECTs
//                       that found their row, out of S (all of them)
//   probe_db=ok|busy    prepare of a DELETE after the loop: busy only when
//                       `db.error rc=BUSY sql='DELETE*'` is really armed
//   probe_vfs=ok|failed creating a table in DB.nomatch after the loop: fails
//                       only when `db.io file=*.nomatch` is really armed
#include <sqlite3.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <dlfcn.h>
#include <initializer_list>
#include <unistd.h>

namespace {

constexpr int kRows = 10000; // table size, kept constant
constexpr int kBatch = 100;  // INSERTs per transaction, then as many SELECTs
constexpr long kChunk = 20;  // rounds per timed chunk

int64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void die(sqlite3* db, const char* what) {
    fprintf(stderr, "sqlite_loop: %s: %s\n", what, db ? sqlite3_errmsg(db) : "?");
    exit(1);
}

sqlite3_stmt* prepare(sqlite3* db, const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) die(db, sql);
    return stmt;
}

void run(sqlite3* db, sqlite3_stmt* stmt, int want) {
    if (sqlite3_step(stmt) != want) die(db, sqlite3_sql(stmt));
    sqlite3_reset(stmt);
}

struct Loop {
    sqlite3* db;
    sqlite3_stmt *begin, *commit, *insert, *select;
    uint32_t rng = 12345;
    long next_id = 0;
    long found = 0;

    uint32_t random() { return rng = rng * 1664525u + 1013904223u; }

    void round() {
        run(db, begin, SQLITE_DONE);
        for (int i = 0; i < kBatch; ++i) {
            long id = next_id++ % kRows + 1;
            sqlite3_bind_int64(insert, 1, id);
            sqlite3_bind_int64(insert, 2, next_id);
            sqlite3_bind_text(insert, 3, "a row of the sqlite_loop benchmark", -1, SQLITE_STATIC);
            run(db, insert, SQLITE_DONE);
        }
        run(db, commit, SQLITE_DONE);
        run(db, begin, SQLITE_DONE); // one read transaction: no lock per SELECT
        for (int i = 0; i < kBatch; ++i) {
            sqlite3_bind_int64(select, 1, random() % kRows + 1);
            int rc = sqlite3_step(select);
            if (rc == SQLITE_ROW)
                found += sqlite3_column_int64(select, 0) > 0;
            else if (rc != SQLITE_DONE)
                die(db, "select");
            sqlite3_reset(select);
        }
        run(db, commit, SQLITE_DONE);
    }
};

void remove_db(const char* path) {
    for (const char* suffix : {"", "-wal", "-shm"}) {
        char name[4096];
        snprintf(name, sizeof name, "%s%s", path, suffix);
        unlink(name);
    }
}

const char* sqlite_origin() {
    Dl_info info;
    void* sym = dlsym(RTLD_DEFAULT, "sqlite3_step");
    if (sym && dladdr(sym, &info) && info.dli_fname) return info.dli_fname;
    return "?";
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s DB ROUNDS\n", argv[0]);
        return 2;
    }
    const char* path = argv[1];
    long rounds = atol(argv[2]);
    if (rounds < kChunk) {
        fprintf(stderr, "sqlite_loop: ROUNDS must be >= %ld\n", kChunk);
        return 2;
    }
    remove_db(path);
    sqlite3* db = nullptr;
    if (sqlite3_open(path, &db) != SQLITE_OK) die(db, "open");
    if (sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;"
                     "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER, s TEXT)",
                     nullptr, nullptr, nullptr) != SQLITE_OK)
        die(db, "schema");
    Loop loop{db, prepare(db, "BEGIN"), prepare(db, "COMMIT"),
              prepare(db, "INSERT OR REPLACE INTO t(id, v, s) VALUES(?, ?, ?)"),
              prepare(db, "SELECT v FROM t WHERE id = ?")};

    // Fill the table, then warm up (caches, WAL, branch predictors).
    for (long i = 0; i < kRows / kBatch; ++i) loop.round();
    for (long i = 0; i < rounds / 10 + kChunk; ++i) loop.round();
    loop.found = 0;

    double best = 0;
    int64_t t0 = now_ns();
    for (long done = 0; done + kChunk <= rounds; done += kChunk) {
        int64_t c0 = now_ns();
        for (long i = 0; i < kChunk; ++i) loop.round();
        double ns = double(now_ns() - c0) / double(kChunk * 2 * kBatch);
        if (best == 0 || ns < best) best = ns;
    }
    long timed = rounds / kChunk * kChunk;
    double whole = double(now_ns() - t0) / double(timed * 2 * kBatch);

    sqlite3_stmt* count = prepare(db, "SELECT count(*) FROM t");
    long rows = sqlite3_step(count) == SQLITE_ROW ? long(sqlite3_column_int64(count, 0)) : -1;
    sqlite3_finalize(count);

    printf("sqlite3_from=%s\n", sqlite_origin());
    printf("ns_per_op=%.3f best_chunk_ns=%.3f\n", whole, best);
    printf("rows=%ld found=%ld selects=%ld\n", rows, loop.found, timed * kBatch);

    sqlite3_stmt* del = nullptr;
    int rc = sqlite3_prepare_v2(db, "DELETE FROM t WHERE id < 0", -1, &del, nullptr);
    printf("probe_db=%s\n", rc == SQLITE_OK ? "ok" : rc == SQLITE_BUSY ? "busy" : "other");
    sqlite3_finalize(del);
    char other[4096];
    snprintf(other, sizeof other, "%s.nomatch", path);
    remove_db(other);
    sqlite3* probe = nullptr;
    rc = sqlite3_open(other, &probe);
    if (rc == SQLITE_OK) rc = sqlite3_exec(probe, "CREATE TABLE p(x)", nullptr, nullptr, nullptr);
    printf("probe_vfs=%s\n", rc == SQLITE_OK ? "ok" : "failed");
    sqlite3_close(probe);
    remove_db(other);

    for (sqlite3_stmt* s : {loop.begin, loop.commit, loop.insert, loop.select}) sqlite3_finalize(s);
    sqlite3_close(db);
    remove_db(path);
    return 0;
}
