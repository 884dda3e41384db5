// The real SQLite functions the db hooks call. Resolved on first use with
// dlsym(RTLD_NEXT), and where that fails (python3's _sqlite3 loads
// libsqlite3 RTLD_LOCAL: PITFALLS 10) from the already loaded library via
// dlopen(RTLD_NOLOAD). A field may stay null: never call one unchecked.
#pragma once

#include <sqlite3.h>

namespace faultline::shim {

#define FL_SQLITE_API(X)                                                                           \
    X(open, int (*)(const char*, sqlite3**), "sqlite3_open")                                       \
    X(open_v2, int (*)(const char*, sqlite3**, int, const char*), "sqlite3_open_v2")               \
    X(open16, int (*)(const void*, sqlite3**), "sqlite3_open16")                                   \
    X(prepare, int (*)(sqlite3*, const char*, int, sqlite3_stmt**, const char**),                  \
      "sqlite3_prepare")                                                                           \
    X(prepare_v2, int (*)(sqlite3*, const char*, int, sqlite3_stmt**, const char**),               \
      "sqlite3_prepare_v2")                                                                        \
    X(prepare_v3, int (*)(sqlite3*, const char*, int, unsigned, sqlite3_stmt**, const char**),     \
      "sqlite3_prepare_v3")                                                                        \
    X(prepare16, int (*)(sqlite3*, const void*, int, sqlite3_stmt**, const void**),                \
      "sqlite3_prepare16")                                                                         \
    X(prepare16_v2, int (*)(sqlite3*, const void*, int, sqlite3_stmt**, const void**),             \
      "sqlite3_prepare16_v2")                                                                      \
    X(prepare16_v3, int (*)(sqlite3*, const void*, int, unsigned, sqlite3_stmt**, const void**),   \
      "sqlite3_prepare16_v3")                                                                      \
    X(step, int (*)(sqlite3_stmt*), "sqlite3_step")                                                \
    X(exec, int (*)(sqlite3*, const char*, int (*)(void*, int, char**, char**), void*, char**),    \
      "sqlite3_exec")                                                                              \
    X(errcode, int (*)(sqlite3*), "sqlite3_errcode")                                               \
    X(extended_errcode, int (*)(sqlite3*), "sqlite3_extended_errcode")                             \
    X(errmsg, const char* (*)(sqlite3*), "sqlite3_errmsg")                                         \
    X(errmsg16, const void* (*)(sqlite3*), "sqlite3_errmsg16")                                     \
    X(reset, int (*)(sqlite3_stmt*), "sqlite3_reset")                                              \
    X(finalize, int (*)(sqlite3_stmt*), "sqlite3_finalize")                                        \
    X(close, int (*)(sqlite3*), "sqlite3_close")                                                   \
    X(close_v2, int (*)(sqlite3*), "sqlite3_close_v2")                                             \
    X(errstr, const char* (*)(int), "sqlite3_errstr")                                              \
    X(sql, const char* (*)(sqlite3_stmt*), "sqlite3_sql")                                          \
    X(db_handle, sqlite3* (*)(sqlite3_stmt*), "sqlite3_db_handle")                                 \
    X(db_filename, const char* (*)(sqlite3*, const char*), "sqlite3_db_filename")                  \
    X(mprintf, char* (*)(const char*, ...), "sqlite3_mprintf")                                     \
    X(vfs_find, sqlite3_vfs* (*)(const char*), "sqlite3_vfs_find")                                 \
    X(vfs_register, int (*)(sqlite3_vfs*, int), "sqlite3_vfs_register")

template <class T> using Type = T; // lets a function pointer type precede the name

struct SqliteApi {
#define FL_FIELD(field, type, name) Type<type> field;
    FL_SQLITE_API(FL_FIELD)
#undef FL_FIELD
};

const SqliteApi& sqlite_api();

} // namespace faultline::shim
