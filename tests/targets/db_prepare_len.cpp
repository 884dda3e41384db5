// Prepares statements out of one script buffer the way SQLite's tail
// mechanism invites: sqlite3_prepare_v2(db, text, nByte, ...) with nByte
// the length of the statement alone, so that what follows it in the buffer
// is not part of it. Linked with -lsqlite3. Used by test_db_api_edges.sh
// (sql= must see the statement, i.e. the first nByte bytes).
//
//   db_prepare_len SCRIPT
//
// SCRIPT holds statements separated by ';'. For each, prints
// "prepare <statement> rc=N" (on an in-memory database).
#include <sqlite3.h>

#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: db_prepare_len SCRIPT\n");
        return 2;
    }
    sqlite3* db = nullptr;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK) return 3;
    const char* text = argv[1];
    while (*text) {
        while (*text == ' ' || *text == ';') ++text;
        if (!*text) break;
        int n = int(strcspn(text, ";"));
        sqlite3_stmt* stmt = nullptr;
        int rc = sqlite3_prepare_v2(db, text, n, &stmt, nullptr);
        printf("prepare %.*s rc=%d\n", n, text, rc);
        sqlite3_finalize(stmt);
        text += n;
    }
    sqlite3_close(db);
    return 0;
}
