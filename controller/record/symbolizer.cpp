#include "controller/record/symbolizer.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <cxxabi.h>
#include <elf.h>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace faultline {

// An ELF object's functions, sorted by address, and its loadable segments
// (to turn a file offset into the address its symbols use).
struct Symbolizer::Object {
    struct Symbol {
        uint64_t addr, size;
        std::string name;
    };
    struct Load {
        uint64_t offset, vaddr, filesz;
    };
    std::vector<Symbol> symbols;
    std::vector<Load> loads;

    explicit Object(const std::string& path) {
        int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return;
        struct stat st;
        void* map = MAP_FAILED;
        if (fstat(fd, &st) == 0 && size_t(st.st_size) >= sizeof(Elf64_Ehdr))
            map = mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (map == MAP_FAILED) return;
        read(static_cast<const uint8_t*>(map), size_t(st.st_size));
        munmap(map, size_t(st.st_size));
    }

    void read(const uint8_t* data, size_t size) {
        auto eh = reinterpret_cast<const Elf64_Ehdr*>(data);
        if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64)
            return;
        auto inside = [&](uint64_t off, uint64_t len) { return off <= size && len <= size - off; };
        if (inside(eh->e_phoff, uint64_t(eh->e_phnum) * sizeof(Elf64_Phdr)))
            for (unsigned i = 0; i < eh->e_phnum; ++i) {
                auto ph = reinterpret_cast<const Elf64_Phdr*>(data + eh->e_phoff) + i;
                if (ph->p_type == PT_LOAD)
                    loads.push_back({ph->p_offset, ph->p_vaddr, ph->p_filesz});
            }
        if (!inside(eh->e_shoff, uint64_t(eh->e_shnum) * sizeof(Elf64_Shdr))) return;
        auto sections = reinterpret_cast<const Elf64_Shdr*>(data + eh->e_shoff);
        // .symtab has every function; a stripped object has .dynsym only.
        for (uint32_t want : {uint32_t(SHT_SYMTAB), uint32_t(SHT_DYNSYM)}) {
            for (unsigned i = 0; i < eh->e_shnum; ++i) {
                const Elf64_Shdr& sh = sections[i];
                if (sh.sh_type != want || sh.sh_link >= eh->e_shnum) continue;
                const Elf64_Shdr& strtab = sections[sh.sh_link];
                if (!inside(sh.sh_offset, sh.sh_size) || !inside(strtab.sh_offset, strtab.sh_size))
                    continue;
                auto syms = reinterpret_cast<const Elf64_Sym*>(data + sh.sh_offset);
                size_t count = sh.sh_size / sizeof(Elf64_Sym);
                const char* names = reinterpret_cast<const char*>(data + strtab.sh_offset);
                for (size_t k = 0; k < count; ++k) {
                    const Elf64_Sym& s = syms[k];
                    if (ELF64_ST_TYPE(s.st_info) != STT_FUNC || !s.st_value ||
                        s.st_name >= strtab.sh_size)
                        continue;
                    symbols.push_back(
                        {s.st_value, s.st_size,
                         std::string(names + s.st_name,
                                     strnlen(names + s.st_name, strtab.sh_size - s.st_name))});
                }
            }
            if (!symbols.empty()) break;
        }
        std::sort(symbols.begin(), symbols.end(),
                  [](const Symbol& a, const Symbol& b) { return a.addr < b.addr; });
    }

    // The function holding file offset `off`, and the distance into it.
    const Symbol* at(uint64_t off, uint64_t& into) const {
        uint64_t addr = off;
        for (const Load& l : loads)
            if (off >= l.offset && off < l.offset + l.filesz) {
                addr = off - l.offset + l.vaddr;
                break;
            }
        return at_address(addr, into);
    }

    // The address its symbols use of a place `off` bytes past where the
    // object is loaded (the start of its first loadable segment's page).
    uint64_t address_of_load_offset(uint64_t off) const {
        uint64_t first = UINT64_MAX;
        for (const Load& l : loads) first = std::min(first, l.vaddr - l.offset);
        return off + (first == UINT64_MAX ? 0 : first);
    }

    const Symbol* at_address(uint64_t addr, uint64_t& into) const {
        auto it = std::upper_bound(symbols.begin(), symbols.end(), addr,
                                   [](uint64_t a, const Symbol& s) { return a < s.addr; });
        if (it == symbols.begin()) return nullptr;
        --it;
        if (it->size && addr >= it->addr + it->size) return nullptr;
        into = addr - it->addr;
        return &*it;
    }
};

Symbolizer::Symbolizer() = default;
Symbolizer::~Symbolizer() = default;

const std::vector<Symbolizer::Mapping>& Symbolizer::maps(int32_t pid, uint64_t ip) {
    auto& m = maps_[pid];
    bool covered = false;
    for (auto& e : m) covered = covered || (ip >= e.start && ip < e.end);
    if (covered) return m;
    // Not known yet (a library loaded since): read the maps again.
    m.clear();
    std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
    std::string line;
    while (std::getline(in, line)) {
        Mapping e{};
        char perms[8] = {};
        int path_at = 0;
        if (sscanf(line.c_str(), "%lx-%lx %7s %lx %*s %*s %n", &e.start, &e.end, perms, &e.offset,
                   &path_at) < 4)
            continue;
        if (path_at > 0 && size_t(path_at) < line.size()) e.path = line.substr(size_t(path_at));
        if (!e.path.empty() && e.path[0] == '/') m.push_back(std::move(e));
    }
    return m;
}

Symbolizer::Object& Symbolizer::object(const std::string& path) {
    auto& o = objects_[path];
    if (!o) o = std::make_unique<Object>(path);
    return *o;
}

std::string Symbolizer::frame(int32_t pid, uint64_t ip) {
    char buf[64];
    // A return address points after its call: look up the call itself.
    uint64_t at = ip ? ip - 1 : ip;
    for (const Mapping& m : maps(pid, at)) {
        if (at < m.start || at >= m.end) continue;
        uint64_t into = 0;
        const Object::Symbol* s = object(m.path).at(at - m.start + m.offset, into);
        std::string base = m.path.substr(m.path.rfind('/') + 1);
        if (!s) {
            snprintf(buf, sizeof buf, "0x%lx", (unsigned long)ip);
            return std::string(buf) + " (" + base + ")";
        }
        snprintf(buf, sizeof buf, "+0x%lx", (unsigned long)(into + 1));
        return s->name + buf + " (" + base + ")";
    }
    snprintf(buf, sizeof buf, "0x%lx", (unsigned long)ip);
    return buf;
}

std::string Symbolizer::object_frame(const std::string& path, uint64_t offset) {
    char buf[64];
    std::string base = path.substr(path.rfind('/') + 1);
    if (base.empty()) base = "?";
    uint64_t into = 0;
    const Object& o = object(path);
    const Object::Symbol* s =
        offset ? o.at_address(o.address_of_load_offset(offset - 1), into) : nullptr;
    if (!s) {
        snprintf(buf, sizeof buf, "0x%lx", (unsigned long)offset);
        return std::string(buf) + " (" + base + ")";
    }
    snprintf(buf, sizeof buf, "+0x%lx", (unsigned long)(into + 1));
    std::string name = s->name;
    if (name.compare(0, 2, "_Z") == 0) {
        int status = 0;
        char* d = abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status);
        if (d && status == 0) name = d;
        free(d);
    }
    return name + buf + " (" + base + ")";
}

std::string Symbolizer::backtrace(int32_t pid, const uint64_t* ips, unsigned n) {
    std::string out;
    for (unsigned i = 0; i < n; ++i) out += (i ? "\n" : "") + frame(pid, ips[i]);
    return out;
}

} // namespace faultline
