// Which loaded object holds an address, without dladdr: dladdr also looks
// for the nearest symbol, a walk of the object's whole symbol table on every
// call (tens of microseconds a frame in python3). A table of the objects'
// loadable segments is built from dl_iterate_phdr and built again when an
// address falls outside it and a library was loaded since (dlpi_adds).
#pragma once

#include <cstdint>

namespace faultline::shim {

struct LoadedObject {
    uintptr_t base; // where it is loaded: the start of its first loadable segment's page
    uint64_t hash;  // object_hash() of its path (common/site.h)
    bool shim;      // the shim itself
    char path[247]; // the main program's is its file's (/proc/self/exe), not argv[0]
};

// False for an address outside every loaded object (JIT code, the vdso).
// Async-signal-safe enough for a crash handler: no allocation, no lock of
// its own (dl_iterate_phdr takes the loader's).
bool object_at(uintptr_t addr, LoadedObject& out);

} // namespace faultline::shim
