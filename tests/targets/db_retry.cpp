// An application that survives SQLITE_BUSY the way real ones do: every call
// that can return it is retried with exponential backoff (100 us, doubling,
// capped at 5 ms; 40 attempts at most). Linked with -lsqlite3 (the Makefile's
// "targets that link test libraries"). Used by test_db_retry.sh.
//
//   db_retry DB N
//
// Opens DB (sqlite3_open_v2), creates table t with sqlite3_exec, prepares one
// INSERT and steps it N times (autocommit: one transaction per row), then
// counts the rows with a prepared SELECT. On every failure it checks that
// the connection tells the same story as the return value (docs/pitfalls.md
// item 13):
// sqlite3_errcode() == rc & 0xff, sqlite3_extended_errcode() == rc,
// sqlite3_errmsg() == sqlite3_errstr(rc), exec's *errmsg likewise, and after
// a failed step, sqlite3_reset() == rc.
//
// Output (one line): "rows=C retries=R open=A exec=B prepare=P step=S
// checks=K mismatches=M other=O"; R = A+B+P+S, the BUSY failures the program
// saw and retried; O counts failures other than BUSY (must be 0). Exit 0 when
// C == N, M == 0 and O == 0.
#include <sqlite3.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace {

struct Counts {
    long open = 0, exec = 0, prepare = 0, step = 0;
    long checks = 0, mismatches = 0, other = 0;
};
Counts g;

void backoff(int attempt) {
    long us = 100L << (attempt < 6 ? attempt : 6);
    if (us > 5000) us = 5000;
    timespec ts{0, us * 1000};
    nanosleep(&ts, nullptr);
}

void expect(bool ok, const char* what, int rc) {
    ++g.checks;
    if (ok) return;
    ++g.mismatches;
    fprintf(stderr, "mismatch: %s after rc=%d\n", what, rc);
}

// The connection must report `rc` the way SQLite reports its own failures.
void check_connection(sqlite3* db, int rc) {
    expect(sqlite3_errcode(db) == (rc & 0xff), "sqlite3_errcode", rc);
    expect(sqlite3_extended_errcode(db) == rc, "sqlite3_extended_errcode", rc);
    expect(strcmp(sqlite3_errmsg(db), sqlite3_errstr(rc)) == 0, "sqlite3_errmsg", rc);
}

// Returns true to retry (BUSY), false to give up (counted in `other`).
bool busy(int rc, long& counter) {
    if (rc == SQLITE_BUSY) {
        ++counter;
        return true;
    }
    ++g.other;
    fprintf(stderr, "unexpected rc=%d (%s)\n", rc, sqlite3_errstr(rc));
    return false;
}

constexpr int kAttempts = 40;

sqlite3* open_db(const char* path) {
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
        sqlite3* db = nullptr;
        int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
        if (rc == SQLITE_OK) return db;
        if (db) check_connection(db, rc);
        sqlite3_close(db);
        if (!busy(rc, g.open)) return nullptr;
        backoff(attempt);
    }
    return nullptr;
}

bool exec(sqlite3* db, const char* sql) {
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
        char* msg = nullptr;
        int rc = sqlite3_exec(db, sql, nullptr, nullptr, &msg);
        if (rc == SQLITE_OK) return true;
        check_connection(db, rc);
        expect(msg && strcmp(msg, sqlite3_errstr(rc)) == 0, "exec's *errmsg", rc);
        sqlite3_free(msg);
        if (!busy(rc, g.exec)) return false;
        backoff(attempt);
    }
    return false;
}

sqlite3_stmt* prepare(sqlite3* db, const char* sql) {
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
        sqlite3_stmt* stmt = nullptr;
        int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
        if (rc == SQLITE_OK) return stmt;
        check_connection(db, rc);
        expect(stmt == nullptr, "failed prepare leaves *stmt null", rc);
        if (!busy(rc, g.prepare)) return nullptr;
        backoff(attempt);
    }
    return nullptr;
}

// Steps until `want` (SQLITE_ROW or SQLITE_DONE); false on giving up.
bool step(sqlite3* db, sqlite3_stmt* stmt, int want) {
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
        int rc = sqlite3_step(stmt);
        if (rc == want) return true;
        check_connection(db, rc);
        expect(sqlite3_reset(stmt) == rc, "sqlite3_reset after a failed step", rc);
        if (!busy(rc, g.step)) return false;
        backoff(attempt);
    }
    return false;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: db_retry DB N\n");
        return 2;
    }
    long n = atol(argv[2]);
    sqlite3* db = open_db(argv[1]);
    if (!db) return 3;
    long rows = -1;
    sqlite3_stmt* insert = nullptr;
    sqlite3_stmt* count = nullptr;
    if (exec(db, "CREATE TABLE IF NOT EXISTS t(i INTEGER PRIMARY KEY, v TEXT)") &&
        (insert = prepare(db, "INSERT INTO t(i, v) VALUES(?, 'row')"))) {
        long done = 0;
        for (long i = 1; i <= n; ++i) {
            sqlite3_bind_int64(insert, 1, i);
            if (!step(db, insert, SQLITE_DONE)) break;
            sqlite3_reset(insert);
            ++done;
        }
        if (done == n && (count = prepare(db, "SELECT count(*) FROM t")) &&
            step(db, count, SQLITE_ROW))
            rows = sqlite3_column_int64(count, 0);
    }
    sqlite3_finalize(insert);
    sqlite3_finalize(count);
    sqlite3_close(db);
    printf("rows=%ld retries=%ld open=%ld exec=%ld prepare=%ld step=%ld checks=%ld "
           "mismatches=%ld other=%ld\n",
           rows, g.open + g.exec + g.prepare + g.step, g.open, g.exec, g.prepare, g.step, g.checks,
           g.mismatches, g.other);
    return rows == n && g.mismatches == 0 && g.other == 0 ? 0 : 1;
}
