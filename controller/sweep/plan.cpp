#include "controller/sweep/plan.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace faultline::sweep {

namespace {

// The kind and keys that fail a call of `hook` the way it fails for real.
std::string failure_of(Hook hook) {
    const HookInfo& h = kHooks[unsigned(hook)];
    std::string name = h.name;
    switch (h.family) {
    case Family::Mem:
        return "mem.fail fn=" + name;
    case Family::Net:
        if (hook == Hook::NetConnect) return "net.refuse on=connect";
        if (hook == Hook::NetGetaddrinfo) return "net.dns error=EAI_FAIL";
        if (hook == Hook::NetAccept || hook == Hook::NetAccept4) return "";
        if (name.find("send") != std::string::npos || name.find("write") != std::string::npos)
            return "net.reset on=send";
        if (name.find("recv") != std::string::npos || name.find("read") != std::string::npos)
            return "net.reset on=recv";
        return "";
    case Family::Db:
        if (name.find("open") != std::string::npos) return "db.error rc=CANTOPEN on=open";
        if (name.find("prepare") != std::string::npos) return "db.error rc=ERROR on=prepare";
        if (hook == Hook::DbStep) return "db.error rc=IOERR on=step";
        if (hook == Hook::DbExec) return "db.error rc=ERROR on=exec";
        return "";
    case Family::Vfs:
        switch (hook) {
        case Hook::VfsOpen:
            return "db.io op=open rc=CANTOPEN";
        case Hook::VfsRead:
            return "db.io op=read rc=IOERR";
        case Hook::VfsWrite:
            return "db.io op=write rc=FULL";
        case Hook::VfsSync:
            return "db.io op=sync rc=IOERR";
        case Hook::VfsLock:
            return "db.io op=lock rc=BUSY";
        case Hook::VfsTruncate:
            return "db.io op=truncate rc=IOERR";
        default:
            return "";
        }
    }
    return "";
}

} // namespace

std::string failing_rule(const Site& site, Mode mode) {
    std::string rule = failure_of(site.hook);
    if (rule.empty()) return rule;
    rule += " site=" + site_text(site.id);
    if (mode == Mode::Once) rule += " nth=1";
    return rule;
}

std::string self_command() {
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return "faultline";
    self[n] = 0;
    const char* path = getenv("PATH");
    std::string dirs = path ? path : "";
    for (size_t at = 0; at <= dirs.size();) {
        size_t colon = dirs.find(':', at);
        std::string dir = dirs.substr(at, colon == std::string::npos ? colon : colon - at);
        std::string candidate = (dir.empty() ? "." : dir) + "/faultline";
        char real[4096];
        if (access(candidate.c_str(), X_OK) == 0 && realpath(candidate.c_str(), real))
            return strcmp(real, self) == 0 ? "faultline" : self;
        if (colon == std::string::npos) break;
        at = colon + 1;
    }
    return self;
}

std::string shell_quote(const std::string& word) {
    bool plain = !word.empty();
    for (char c : word) plain = plain && (isalnum(uint8_t(c)) || strchr("-_./=:,+@%", c));
    if (plain) return word;
    std::string out = "'";
    for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string reproducer(const std::string& rule, const std::vector<std::string>& command,
                       Outcome outcome, int64_t timeout_ns, const std::string& faultline) {
    std::string line;
    if (outcome == Outcome::Hung) {
        char t[48];
        snprintf(t, sizeof t, "timeout -k 5 %.0fs ", std::ceil(double(timeout_ns) / 1e9));
        line = t;
    }
    line += shell_quote(faultline) + " run -o none -r " + shell_quote(rule) + " -- ";
    return line + command_text(command);
}

std::string command_text(const std::vector<std::string>& command) {
    std::string line;
    for (const std::string& word : command) line += (line.empty() ? "" : " ") + shell_quote(word);
    return line;
}

std::string site_text(uint64_t site) {
    char b[24];
    snprintf(b, sizeof b, "%016" PRIx64, site);
    return b;
}

} // namespace faultline::sweep
