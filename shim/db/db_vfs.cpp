// SQLite's file layer: a wrapping VFS, registered as the default when the
// application first opens a database, through which db.io and db.corrupt
// happen *below* SQLite. SQLite then runs its own error handling, journal,
// rollback and corruption checks, as on a real disk fault (this is how
// SQLite's own test harness injects I/O errors).
//
// Every file method forwards to the VFS that was the default before us; the
// faultable ones first ask the trigger engine (family Vfs).

#include "shim/db/db_vfs.h"

#include "shim/core/caller.h"
#include "shim/core/originals.h"
#include "shim/core/runtime.h"
#include "shim/core/sites.h"
#include "shim/core/thread_state.h"
#include "shim/core/trigger.h"

#include <cerrno>
#include <cstring>
#include <sched.h>

namespace faultline::shim {

namespace {

struct WrapFile {
    sqlite3_file base;  // pMethods: one of kMethods, or null
    sqlite3_file* real; // the wrapped VFS's file, right after this struct
    int flags;          // SQLITE_OPEN_* it was opened with
    char db_path[512];  // its database's path ("-journal", "-wal" cut): file=
};
constexpr size_t kWrapSize = (sizeof(WrapFile) + 7) & ~size_t(7);

sqlite3_vfs g_vfs;
sqlite3_vfs* g_real = nullptr;
std::atomic<int> g_install{0}; // 0 not yet, 1 installing, 2 done (or impossible)

WrapFile* wrap(sqlite3_file* f) {
    return reinterpret_cast<WrapFile*>(f);
}
const sqlite3_io_methods* real_methods(sqlite3_file* f) {
    return wrap(f)->real->pMethods;
}

// -- decisions -------------------------------------------------------------------

struct IoDecision {
    int rc = SQLITE_OK;
    bool corrupt = false;
};

// db.io's default code says which operation failed, as SQLite's own would.
int default_code(uint32_t op) {
    switch (op) {
    case kIoRead:
        return SQLITE_IOERR_READ;
    case kIoWrite:
        return SQLITE_IOERR_WRITE;
    case kIoSync:
        return SQLITE_IOERR_FSYNC;
    case kIoLock:
        return SQLITE_IOERR_LOCK;
    case kIoTruncate:
        return SQLITE_IOERR_TRUNCATE;
    case kIoOpen:
        return SQLITE_CANTOPEN;
    }
    return SQLITE_IOERR;
}

// db.io is decided before the operation (which then does not happen);
// db.corrupt after a read, on what was read (see f_read). Each decision
// shows a rule only the calls it can act on, so that `seen` counts a read
// once per rule.
enum class Pass { Io, Corrupt };

uint64_t slots_of(const Segment& seg, uint64_t mask, Pass pass) {
    uint64_t out = 0;
    for (uint64_t m = mask & kRuleBits; m; m &= m - 1) {
        unsigned i = unsigned(__builtin_ctzll(m));
        if ((seg.rules[i].rule.kind == Kind::DbCorrupt) == (pass == Pass::Corrupt))
            out |= uint64_t(1) << i;
    }
    return out;
}

IoDecision io_decide(Hook hook, uint32_t op, const WrapFile& file, Pass pass = Pass::Io) {
    IoDecision d;
    uint64_t mask = armed_mask(Family::Vfs);
    ThreadState& ts = tls;
    Segment* seg = g_segment;
    if (__builtin_expect(mask == 0, 1) || ts.depth || !seg) return d;
    HookScope scope(ts);
    int saved_errno = errno;
    prepare_thread(ts);
    unsigned h = unsigned(hook);
    if (pass == Pass::Io) count_call(*seg, ts, hook); // the call, once
    mask = slots_of(*seg, mask, pass);
    if (!mask) {
        errno = saved_errno;
        return d;
    }
    auto matches = [&](const Rule& r, unsigned) {
        if (r.kind == Kind::DbIo && r.ops && !(r.ops & op)) return false;
        return !r.file[0] || glob_match(r.file, file.db_path);
    };
    CallContext ctx{ts, g_comm, monotonic_ns, caller_matches, call_site, hook};
    Injection inj;
    if (pick_rule(*seg, mask, ctx, matches, inj)) {
        if (inj.rule->kind == Kind::DbCorrupt) {
            d.corrupt = true;
        } else {
            d.rc = (inj.rule->keys & (uint64_t(1) << kKeyRc)) ? inj.rule->code : default_code(op);
            seg->hooks[h].errors.fetch_add(1, std::memory_order_relaxed);
        }
        note_injection(*seg, ts, hook, inj.slot, d.rc);
    }
    errno = saved_errno;
    return d;
}

// What db.corrupt may touch: a whole b-tree page of the main database other
// than page 1. SQLite parses a b-tree page's type byte before it changes the
// page, so the flipped bit (0x40 of that byte: no valid type) is always
// caught and never written back. Not page 1: SQLite rewrites its header
// (the change counter, at every rollback-journal commit) checking only the
// first 100 bytes, and would write the flip to the file. Not freelist,
// overflow or pointer-map pages: SQLite updates them without checking byte 0.
bool corruptible(const WrapFile& w, const void* buf, int amount, sqlite3_int64 offset) {
    if (!(w.flags & SQLITE_OPEN_MAIN_DB) || amount < 512 || offset == 0) return false;
    unsigned char type = static_cast<const unsigned char*>(buf)[0];
    return type == 2 || type == 5 || type == 10 || type == 13;
}

// -- file methods ------------------------------------------------------------------

int f_close(sqlite3_file* f) {
    sqlite3_file* real = wrap(f)->real;
    return real->pMethods ? real->pMethods->xClose(real) : SQLITE_OK;
}

int f_read(sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset) {
    WrapFile* w = wrap(f);
    IoDecision d = io_decide(Hook::VfsRead, kIoRead, *w);
    if (d.rc) {
        if (d.rc == SQLITE_IOERR_SHORT_READ) memset(buf, 0, size_t(amount)); // SQLite's contract
        return d.rc;
    }
    int rc = real_methods(f)->xRead(w->real, buf, amount, offset);
    if (rc == SQLITE_OK && corruptible(*w, buf, amount, offset) &&
        io_decide(Hook::VfsRead, kIoRead, *w, Pass::Corrupt).corrupt)
        static_cast<unsigned char*>(buf)[0] ^= 0x40;
    return rc;
}

int f_write(sqlite3_file* f, const void* buf, int amount, sqlite3_int64 offset) {
    WrapFile* w = wrap(f);
    IoDecision d = io_decide(Hook::VfsWrite, kIoWrite, *w);
    if (d.rc) return d.rc; // nothing written, as when the disk refuses
    return real_methods(f)->xWrite(w->real, buf, amount, offset);
}

int f_truncate(sqlite3_file* f, sqlite3_int64 size) {
    WrapFile* w = wrap(f);
    IoDecision d = io_decide(Hook::VfsTruncate, kIoTruncate, *w);
    if (d.rc) return d.rc;
    return real_methods(f)->xTruncate(w->real, size);
}

int f_sync(sqlite3_file* f, int flags) {
    WrapFile* w = wrap(f);
    IoDecision d = io_decide(Hook::VfsSync, kIoSync, *w);
    if (d.rc) return d.rc;
    return real_methods(f)->xSync(w->real, flags);
}

int f_file_size(sqlite3_file* f, sqlite3_int64* size) {
    return real_methods(f)->xFileSize(wrap(f)->real, size);
}

int f_lock(sqlite3_file* f, int level) {
    WrapFile* w = wrap(f);
    IoDecision d = io_decide(Hook::VfsLock, kIoLock, *w);
    if (d.rc) return d.rc;
    return real_methods(f)->xLock(w->real, level);
}

int f_unlock(sqlite3_file* f, int level) {
    return real_methods(f)->xUnlock(wrap(f)->real, level);
}

int f_check_reserved_lock(sqlite3_file* f, int* out) {
    return real_methods(f)->xCheckReservedLock(wrap(f)->real, out);
}

int f_file_control(sqlite3_file* f, int op, void* arg) {
    return real_methods(f)->xFileControl(wrap(f)->real, op, arg);
}

int f_sector_size(sqlite3_file* f) {
    return real_methods(f)->xSectorSize(wrap(f)->real);
}

int f_device_characteristics(sqlite3_file* f) {
    return real_methods(f)->xDeviceCharacteristics(wrap(f)->real);
}

int f_shm_map(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
    return real_methods(f)->xShmMap(wrap(f)->real, page, size, extend, out);
}

int f_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
    return real_methods(f)->xShmLock(wrap(f)->real, offset, n, flags);
}

void f_shm_barrier(sqlite3_file* f) {
    real_methods(f)->xShmBarrier(wrap(f)->real);
}

int f_shm_unmap(sqlite3_file* f, int del) {
    return real_methods(f)->xShmUnmap(wrap(f)->real, del);
}

int f_fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
    // Memory-mapped pages would bypass xRead: while file-layer rules are
    // armed, tell SQLite to read instead (allowed by the xFetch contract).
    if (rule_mask(Family::Vfs) != 0) {
        *out = nullptr;
        return SQLITE_OK;
    }
    return real_methods(f)->xFetch(wrap(f)->real, offset, amount, out);
}

int f_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
    return real_methods(f)->xUnfetch(wrap(f)->real, offset, p);
}

// One table per io_methods version: SQLite looks at iVersion before using
// the newer members, so ours must match the wrapped file's.
#define FL_METHODS(version)                                                                        \
    {                                                                                              \
        version, f_close, f_read, f_write, f_truncate, f_sync, f_file_size, f_lock, f_unlock,      \
            f_check_reserved_lock, f_file_control, f_sector_size, f_device_characteristics,        \
            f_shm_map, f_shm_lock, f_shm_barrier, f_shm_unmap, f_fetch, f_unfetch                  \
    }
const sqlite3_io_methods kMethods[] = {FL_METHODS(1), FL_METHODS(2), FL_METHODS(3)};
#undef FL_METHODS

// -- the VFS ------------------------------------------------------------------------

void set_db_path(WrapFile* w, const char* name) {
    w->db_path[0] = 0;
    if (!name) return; // a temporary file
    size_t n = strnlen(name, sizeof w->db_path - 1);
    memcpy(w->db_path, name, n);
    w->db_path[n] = 0;
    for (const char* suffix : {"-journal", "-wal"}) {
        size_t s = strlen(suffix);
        if (n > s && strcmp(w->db_path + n - s, suffix) == 0) w->db_path[n - s] = 0;
    }
}

int v_open(sqlite3_vfs*, const char* name, sqlite3_file* f, int flags, int* out_flags) {
    WrapFile* w = wrap(f);
    w->base.pMethods = nullptr;
    w->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + kWrapSize);
    w->real->pMethods = nullptr;
    w->flags = flags;
    set_db_path(w, name);
    IoDecision d = io_decide(Hook::VfsOpen, kIoOpen, *w);
    if (d.rc) return d.rc;
    int rc = g_real->xOpen(g_real, name, w->real, flags, out_flags);
    // SQLite calls xClose when pMethods is set, even after a failed open.
    if (w->real->pMethods) {
        int version = w->real->pMethods->iVersion;
        w->base.pMethods = &kMethods[(version < 1 ? 1 : version > 3 ? 3 : version) - 1];
    }
    return rc;
}

int v_delete(sqlite3_vfs*, const char* name, int sync_dir) {
    return g_real->xDelete(g_real, name, sync_dir);
}
int v_access(sqlite3_vfs*, const char* name, int flags, int* out) {
    return g_real->xAccess(g_real, name, flags, out);
}
int v_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
    return g_real->xFullPathname(g_real, name, n, out);
}
void* v_dl_open(sqlite3_vfs*, const char* name) {
    return g_real->xDlOpen(g_real, name);
}
void v_dl_error(sqlite3_vfs*, int n, char* out) {
    g_real->xDlError(g_real, n, out);
}
void (*v_dl_sym(sqlite3_vfs*, void* lib, const char* name))(void) {
    return g_real->xDlSym(g_real, lib, name);
}
void v_dl_close(sqlite3_vfs*, void* lib) {
    g_real->xDlClose(g_real, lib);
}
int v_randomness(sqlite3_vfs*, int n, char* out) {
    return g_real->xRandomness(g_real, n, out);
}
int v_sleep(sqlite3_vfs*, int us) {
    return g_real->xSleep(g_real, us);
}
int v_current_time(sqlite3_vfs*, double* t) {
    return g_real->xCurrentTime(g_real, t);
}
int v_get_last_error(sqlite3_vfs*, int n, char* out) {
    return g_real->xGetLastError(g_real, n, out);
}
int v_current_time_int64(sqlite3_vfs*, sqlite3_int64* t) {
    return g_real->xCurrentTimeInt64(g_real, t);
}
int v_set_system_call(sqlite3_vfs*, const char* name, sqlite3_syscall_ptr p) {
    return g_real->xSetSystemCall(g_real, name, p);
}
sqlite3_syscall_ptr v_get_system_call(sqlite3_vfs*, const char* name) {
    return g_real->xGetSystemCall(g_real, name);
}
const char* v_next_system_call(sqlite3_vfs*, const char* name) {
    return g_real->xNextSystemCall(g_real, name);
}

void build_vfs(sqlite3_vfs* real) {
    g_real = real;
    g_vfs = sqlite3_vfs{};
    g_vfs.iVersion = real->iVersion;
    g_vfs.szOsFile = int(kWrapSize) + real->szOsFile;
    g_vfs.mxPathname = real->mxPathname;
    g_vfs.zName = "faultline";
    g_vfs.xOpen = v_open;
    g_vfs.xDelete = real->xDelete ? v_delete : nullptr;
    g_vfs.xAccess = real->xAccess ? v_access : nullptr;
    g_vfs.xFullPathname = v_full_pathname;
    g_vfs.xDlOpen = real->xDlOpen ? v_dl_open : nullptr;
    g_vfs.xDlError = real->xDlError ? v_dl_error : nullptr;
    g_vfs.xDlSym = real->xDlSym ? v_dl_sym : nullptr;
    g_vfs.xDlClose = real->xDlClose ? v_dl_close : nullptr;
    g_vfs.xRandomness = v_randomness;
    g_vfs.xSleep = v_sleep;
    g_vfs.xCurrentTime = v_current_time;
    g_vfs.xGetLastError = real->xGetLastError ? v_get_last_error : nullptr;
    if (real->iVersion >= 2)
        g_vfs.xCurrentTimeInt64 = real->xCurrentTimeInt64 ? v_current_time_int64 : nullptr;
    if (real->iVersion >= 3) {
        g_vfs.xSetSystemCall = real->xSetSystemCall ? v_set_system_call : nullptr;
        g_vfs.xGetSystemCall = real->xGetSystemCall ? v_get_system_call : nullptr;
        g_vfs.xNextSystemCall = real->xNextSystemCall ? v_next_system_call : nullptr;
    }
}

} // namespace

void vfs_install() {
    if (__builtin_expect(g_install.load(std::memory_order_acquire) == 2, 1)) return;
    int expected = 0;
    if (!g_install.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
        // Another thread is installing: a few microseconds; its open must
        // not race ahead of the registration.
        for (int i = 0; i < 100000 && g_install.load(std::memory_order_acquire) == 1; ++i)
            sched_yield();
        return;
    }
    {
        HookScope scope(tls); // SQLite's allocations here are the shim's
        auto& api = db_originals();
        sqlite3_vfs* real = api.sqlite3_vfs_find ? api.sqlite3_vfs_find(nullptr) : nullptr;
        if (real && strcmp(real->zName, "faultline") != 0 && api.sqlite3_vfs_register) {
            build_vfs(real);
            api.sqlite3_vfs_register(&g_vfs, 1);
        }
    }
    g_install.store(2, std::memory_order_release);
}

} // namespace faultline::shim
