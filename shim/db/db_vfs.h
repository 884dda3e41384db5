// The wrapping VFS for db.io and db.corrupt (see db_vfs.cpp).
#pragma once

namespace faultline::shim {

// Registers the "faultline" VFS as SQLite's default, wrapping the one that
// was. Once per process, at the application's first sqlite3_open*; a no-op
// afterwards. Connections opened through an explicitly named VFS keep it.
void vfs_install();

} // namespace faultline::shim
