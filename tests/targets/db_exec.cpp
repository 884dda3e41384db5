// One sqlite3_exec of a several-statement script, as an application makes it,
// and what the application sees. Linked with -lsqlite3. Used by
// test_db_outermost.sh: SQLite's exec prepares and steps each statement
// through its own PLT (docs/pitfalls.md item 13), and only the exec call
// itself is the application's.
//
//   db_exec DB SCRIPT
//
// Output:
//   open rc=N
//   exec rc=N errcode=N extended=N errmsg=TEXT exec_errmsg=TEXT rows=N
// rows counts the result rows exec handed to the callback; exec_errmsg is
// exec's *errmsg ("-" when null). Exit status: exec's rc (0 ok).
#include <sqlite3.h>

#include <cstdio>

namespace {

int on_row(void* rows, int, char**, char**) {
    ++*static_cast<int*>(rows);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: db_exec DB SCRIPT\n");
        return 2;
    }
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    printf("open rc=%d\n", rc);
    if (rc != SQLITE_OK) {
        sqlite3_close(db);
        return rc;
    }
    int rows = 0;
    char* msg = nullptr;
    rc = sqlite3_exec(db, argv[2], on_row, &rows, &msg);
    printf("exec rc=%d errcode=%d extended=%d errmsg=%s exec_errmsg=%s rows=%d\n", rc,
           sqlite3_errcode(db), sqlite3_extended_errcode(db), sqlite3_errmsg(db), msg ? msg : "-",
           rows);
    sqlite3_free(msg);
    sqlite3_close(db);
    return rc;
}
