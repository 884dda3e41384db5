#include "shim/core/objects.h"

#include "common/site.h"

#include <atomic>
#include <cstring>
#include <link.h>
#include <unistd.h>

namespace faultline::shim {

namespace {

constexpr unsigned kMaxSegments = 1024, kMaxObjects = 512;

struct Segment {
    uintptr_t start, end;
    unsigned object;
};

// Two tables: readers use the published one, a rebuild writes the other.
// Each has a sequence number, odd while written: a reader that sees it
// change reads again (a table rebuilt twice under a slow reader).
struct Table {
    std::atomic<uint64_t> seq;
    unsigned long long adds; // dlpi_adds when built
    unsigned segments, objects;
    Segment segment[kMaxSegments];
    LoadedObject object[kMaxObjects];
};

Table g_tables[2];
std::atomic<int> g_current{-1}; // -1: none built yet
std::atomic<bool> g_building{false};
char g_exe[sizeof(LoadedObject::path)];

uintptr_t self_address() {
    return reinterpret_cast<uintptr_t>(&object_at);
}

void copy_path(char* out, const char* in) {
    size_t n = strnlen(in, sizeof(LoadedObject::path) - 1);
    memcpy(out, in, n);
    out[n] = 0;
}

// What `info` says of its object, but its segments.
void describe(dl_phdr_info* info, bool main_program, uintptr_t lowest, LoadedObject& o) {
    o.base = lowest & ~uintptr_t(getpagesize() - 1);
    const char* name = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : nullptr;
    if (!name && main_program) {
        if (!g_exe[0]) {
            ssize_t n = readlink("/proc/self/exe", g_exe, sizeof g_exe - 1);
            g_exe[n > 0 ? n : 0] = 0;
        }
        name = g_exe;
    }
    copy_path(o.path, name ? name : "");
    o.hash = object_hash(o.path);
    o.shim = false;
}

// One object's loadable segments into `t`.
int add_object(dl_phdr_info* info, size_t, void* data) {
    Table& t = *static_cast<Table*>(data);
    t.adds = info->dlpi_adds;
    if (t.objects == kMaxObjects) return 1;
    unsigned index = t.objects;
    uintptr_t lowest = UINTPTR_MAX;
    unsigned first = t.segments;
    bool shim = false;
    for (unsigned i = 0; i < info->dlpi_phnum && t.segments < kMaxSegments; ++i) {
        const ElfW(Phdr)& ph = info->dlpi_phdr[i];
        if (ph.p_type != PT_LOAD) continue;
        uintptr_t start = info->dlpi_addr + ph.p_vaddr;
        t.segment[t.segments++] = {start, start + ph.p_memsz, index};
        if (start < lowest) lowest = start;
        shim = shim || (self_address() >= start && self_address() < start + ph.p_memsz);
    }
    if (t.segments == first) return 0; // nothing loadable
    describe(info, index == 0, lowest, t.object[index]);
    t.object[index].shim = shim;
    ++t.objects;
    return 0;
}

unsigned long long loaded_count() {
    unsigned long long adds = 0;
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* data) {
            *static_cast<unsigned long long*>(data) = info->dlpi_adds;
            return 1;
        },
        &adds);
    return adds;
}

// Builds the table not in use and publishes it; false when another thread
// is building (it will publish).
bool rebuild() {
    bool expected = false;
    if (!g_building.compare_exchange_strong(expected, true, std::memory_order_acquire))
        return false;
    int cur = g_current.load(std::memory_order_acquire);
    Table& t = g_tables[cur == 0 ? 1 : 0];
    t.seq.fetch_add(1, std::memory_order_acq_rel); // odd: being written
    t.segments = t.objects = 0;
    dl_iterate_phdr(add_object, &t);
    t.seq.fetch_add(1, std::memory_order_release);
    g_current.store(cur == 0 ? 1 : 0, std::memory_order_release);
    g_building.store(false, std::memory_order_release);
    return true;
}

enum class Found { Yes, No, Retry };

Found lookup(const Table& t, uintptr_t addr, LoadedObject& out) {
    uint64_t seq = t.seq.load(std::memory_order_acquire);
    if (seq & 1) return Found::Retry;
    Found found = Found::No;
    unsigned n = t.segments < kMaxSegments ? t.segments : kMaxSegments;
    for (unsigned i = 0; i < n; ++i)
        if (addr >= t.segment[i].start && addr < t.segment[i].end) {
            unsigned o = t.segment[i].object;
            if (o < kMaxObjects) {
                out = t.object[o];
                found = Found::Yes;
            }
            break;
        }
    std::atomic_thread_fence(std::memory_order_acquire);
    return t.seq.load(std::memory_order_relaxed) == seq ? found : Found::Retry;
}

// The slow way, for a thread that finds another building the table.
bool walk(uintptr_t addr, LoadedObject& out) {
    struct Search {
        uintptr_t addr;
        LoadedObject* out;
        bool first, found;
    } search{addr, &out, true, false};
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* data) {
            auto& s = *static_cast<Search*>(data);
            bool main_program = s.first;
            s.first = false;
            uintptr_t lowest = UINTPTR_MAX;
            bool inside = false, shim = false;
            for (unsigned i = 0; i < info->dlpi_phnum; ++i) {
                const ElfW(Phdr)& ph = info->dlpi_phdr[i];
                if (ph.p_type != PT_LOAD) continue;
                uintptr_t start = info->dlpi_addr + ph.p_vaddr;
                if (start < lowest) lowest = start;
                inside = inside || (s.addr >= start && s.addr < start + ph.p_memsz);
                shim = shim || (self_address() >= start && self_address() < start + ph.p_memsz);
            }
            if (!inside) return 0;
            describe(info, main_program, lowest, *s.out);
            s.out->shim = shim;
            s.found = true;
            return 1;
        },
        &search);
    return search.found;
}

} // namespace

bool object_at(uintptr_t addr, LoadedObject& out) {
    for (int attempt = 0; attempt < 4; ++attempt) {
        int cur = g_current.load(std::memory_order_acquire);
        if (cur >= 0) {
            Found f = lookup(g_tables[cur], addr, out);
            if (f == Found::Yes) return true;
            if (f == Found::Retry) continue;
            if (loaded_count() == g_tables[cur].adds) return false; // nothing loaded since
        }
        if (!rebuild()) return walk(addr, out);
    }
    return false;
}

} // namespace faultline::shim
