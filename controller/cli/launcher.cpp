#include "controller/cli/launcher.h"

#include "common/hooks.h"
#include "controller/cli/cli.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <elf.h>
#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace faultline {

using cli::fail;

namespace {

bool is_file(const std::string& p) {
    struct stat st;
    return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string absolute(const std::string& p) {
    char buf[PATH_MAX];
    return realpath(p.c_str(), buf) ? std::string(buf) : std::string();
}

} // namespace

std::string find_shim(const char* command) {
    if (const char* env = getenv("FAULTLINE_SHIM"); env && *env) {
        std::string p = absolute(env);
        if (p.empty() || !is_file(p))
            fail(command, std::string("FAULTLINE_SHIM=") + env + ": no such file");
        return p;
    }
    std::string self = absolute("/proc/self/exe");
    std::string dir = self.substr(0, self.rfind('/'));
    for (std::string candidate :
         {dir + "/libfaultline.so", dir + "/../lib/faultline/libfaultline.so"})
        if (is_file(candidate)) return absolute(candidate);
    fail(command, "cannot find libfaultline.so next to " + self +
                      " or in ../lib/faultline/ (set FAULTLINE_SHIM)");
}

std::string resolve_program(const std::string& program, const char* command) {
    if (program.find('/') != std::string::npos) {
        if (!is_file(program)) fail(command, program + ": no such file", 127);
        return program;
    }
    const char* path = getenv("PATH");
    std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
    size_t start = 0;
    while (start <= dirs.size()) {
        size_t end = dirs.find(':', start);
        if (end == std::string::npos) end = dirs.size();
        std::string dir = dirs.substr(start, end - start);
        std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
        if (is_file(candidate) && access(candidate.c_str(), X_OK) == 0) return candidate;
        start = end + 1;
    }
    fail(command, program + ": command not found", 127);
}

std::vector<std::string> check_target(const std::string& path, const char* command) {
    std::ifstream in(path, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (data.size() < sizeof(Elf64_Ehdr) || memcmp(data.data(), ELFMAG, SELFMAG) != 0)
        return {}; // a script: its interpreter is checked when it runs
    auto* eh = reinterpret_cast<const Elf64_Ehdr*>(data.data());
    if (eh->e_ident[EI_CLASS] != ELFCLASS64) return {};
    auto in_range = [&](uint64_t off, uint64_t len) { return off + len <= data.size(); };

    bool dynamic = false;
    if (in_range(eh->e_phoff, uint64_t(eh->e_phnum) * sizeof(Elf64_Phdr)))
        for (unsigned i = 0; i < eh->e_phnum; ++i) {
            auto* ph = reinterpret_cast<const Elf64_Phdr*>(data.data() + eh->e_phoff) + i;
            dynamic = dynamic || ph->p_type == PT_INTERP;
        }
    if (!dynamic)
        fail(command, path + " is statically linked: LD_PRELOAD cannot reach it, faultline "
                             "cannot inject faults into it");

    std::vector<std::string> warnings;
    if (!in_range(eh->e_shoff, uint64_t(eh->e_shnum) * sizeof(Elf64_Shdr)) ||
        eh->e_shstrndx >= eh->e_shnum)
        return warnings;
    auto* sh = reinterpret_cast<const Elf64_Shdr*>(data.data() + eh->e_shoff);
    const Elf64_Shdr& names = sh[eh->e_shstrndx];
    for (unsigned i = 0; i < eh->e_shnum; ++i) {
        if (!in_range(names.sh_offset + sh[i].sh_name, 16)) continue;
        const char* name = data.data() + names.sh_offset + sh[i].sh_name;
        if (strcmp(name, ".go.buildinfo") == 0)
            fail(command, path + " is a Go program: Go makes its system calls without libc, "
                                 "so faultline cannot inject faults into it");
        if (sh[i].sh_type != SHT_DYNSYM || sh[i].sh_link >= eh->e_shnum) continue;
        const Elf64_Shdr& strs = sh[sh[i].sh_link];
        if (!in_range(sh[i].sh_offset, sh[i].sh_size) || !in_range(strs.sh_offset, strs.sh_size))
            continue;
        auto* syms = reinterpret_cast<const Elf64_Sym*>(data.data() + sh[i].sh_offset);
        for (size_t k = 0; k < sh[i].sh_size / sizeof(Elf64_Sym); ++k) {
            if (syms[k].st_shndx == SHN_UNDEF || syms[k].st_name >= strs.sh_size) continue;
            const char* sym = data.data() + strs.sh_offset + syms[k].st_name;
            for (auto& h : kHooks)
                if (strcmp(sym, h.name) == 0)
                    warnings.push_back(path + " defines " + h.name +
                                       " itself: its own calls to it bypass the shim");
        }
    }
    return warnings;
}

void exec_target(const std::vector<std::string>& argv, const LaunchEnv& env) {
    sigprocmask(SIG_SETMASK, &env.sigmask, nullptr);
    cli::restore_inherited_signals();
    if (env.stdout_to_stderr) dup2(2, 1);
    if (env.output_fd >= 0) {
        dup2(env.output_fd, 1);
        dup2(env.output_fd, 2);
    }
    if (env.preload) {
        std::string preload = env.shim;
        if (const char* old = getenv("LD_PRELOAD"); old && *old) preload += std::string(":") + old;
        setenv("LD_PRELOAD", preload.c_str(), 1);
    }
    setenv("FAULTLINE_SESSION", env.session.c_str(), 1);
    // An AddressSanitizer program refuses to start unless its runtime is the
    // first library loaded; the shim is. Its allocator still serves the
    // program (the shim's malloc calls the next one: ASan's).
    if (env.preload) {
        const char* asan = getenv("ASAN_OPTIONS");
        std::string opts = asan ? asan : "";
        if (opts.find("verify_asan_link_order") == std::string::npos)
            setenv("ASAN_OPTIONS",
                   (opts + (opts.empty() ? "" : ":") + "verify_asan_link_order=0").c_str(), 1);
    }
    unsetenv("FAULTLINE_RULES"); // the session holds the rules
    if (!env.inherit) setenv("FAULTLINE_NO_INHERIT", "1", 1);
    if (env.client)
        setenv("FAULTLINE_CLIENT", "1", 1);
    else
        unsetenv("FAULTLINE_CLIENT"); // a target started from a client's shell is a target
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    int e = errno;
    dprintf(2, "faultline: run: %s: %s\n", argv[0].c_str(), strerror(e));
    _exit(e == ENOENT ? 127 : 126);
}

} // namespace faultline
