#include "controller/cli/cli.h"

#include "common/units.h"

#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iterator>
#include <sys/random.h>
#include <unistd.h>

namespace faultline::cli {

void fail(std::string what, std::string why, int code) {
    throw Failure{std::move(what), std::move(why), code};
}

Args::Args(std::string command, std::string usage, std::string summary,
           std::initializer_list<Option> options)
    : command_(std::move(command)), usage_(std::move(usage)), summary_(std::move(summary)),
      options_(options) {}

bool Args::parse(const std::vector<std::string>& argv, bool stop_at_dashes) {
    for (size_t i = 0; i < argv.size(); ++i) {
        const std::string& a = argv[i];
        if (a == "--help" || a == "-h") {
            print_help();
            return false;
        }
        if (a == "--" && stop_at_dashes) {
            after_dashes_.assign(argv.begin() + long(i) + 1, argv.end());
            return true;
        }
        if (a.size() > 1 && a[0] == '-' && a != "-") {
            std::string name = a, inline_value;
            bool has_inline = false;
            if (a.rfind("--", 0) == 0) {
                size_t eq = a.find('=');
                if (eq != std::string::npos) {
                    name = a.substr(0, eq);
                    inline_value = a.substr(eq + 1);
                    has_inline = true;
                }
            }
            const Option* opt = nullptr;
            for (auto& o : options_)
                if (name == o.name || (a.size() == 2 && o.letter && a[1] == o.letter)) opt = &o;
            if (!opt) usage_error("unknown option '" + a + "'");
            if (opt->takes_value) {
                if (!has_inline) {
                    if (i + 1 >= argv.size())
                        usage_error(std::string(opt->name) + " needs a value");
                    inline_value = argv[++i];
                }
                values_[opt->name].push_back(inline_value);
            } else {
                if (has_inline) usage_error(std::string(opt->name) + " takes no value");
                values_[opt->name].push_back("");
            }
            continue;
        }
        positionals_.push_back(a);
    }
    return true;
}

std::optional<std::string> Args::get(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) return std::nullopt;
    return it->second.back();
}

std::vector<std::string> Args::all(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? std::vector<std::string>{} : it->second;
}

void Args::print_help() const {
    printf("usage: faultline %s %s\n\n%s\n", command_.c_str(), usage_.c_str(), summary_.c_str());
    if (options_.empty()) return;
    printf("\noptions:\n");
    for (auto& o : options_) {
        std::string flag = o.letter ? std::string("-") + o.letter + ", " : "    ";
        flag += o.name;
        if (o.takes_value) flag += " VALUE";
        printf("  %-24s %s\n", flag.c_str(), o.help);
    }
    printf("  %-24s %s\n", "-h, --help", "this help");
}

void Args::usage_error(const std::string& why) const {
    fail(command_, why + " (see faultline " + command_ + " --help)");
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (c < 0x20) {
                char buf[8];
                snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else {
                out += char(c);
            }
        }
    }
    return out + "\"";
}

std::string session_name(const Args& args, const char* command) {
    if (auto s = args.get("--session")) return *s;
    const char* env = getenv("FAULTLINE_SESSION");
    if (env && *env) return env;
    fail(command, "no session: give -s NAME or set FAULTLINE_SESSION");
}

int64_t parse_duration_arg(const std::string& text, const char* command, const char* option) {
    int64_t ns = 0;
    const char* why = nullptr;
    if (!parse_duration(text, ns, why))
        fail(command, std::string(option) + " '" + text + "': " + (why ? why : "bad duration"));
    return ns;
}

double parse_number_arg(const std::string& text, const char* command, const char* option) {
    char* end = nullptr;
    errno = 0;
    double v = strtod(text.c_str(), &end);
    if (text.empty() || *end || errno || !std::isfinite(v))
        fail(command, std::string(option) + " '" + text + "': expected a number");
    return v;
}

uint64_t parse_count_arg(const std::string& text, const char* command, const char* option) {
    char* end = nullptr;
    errno = 0;
    unsigned long long v = strtoull(text.c_str(), &end, 10);
    if (text.empty() || *end || errno || text[0] == '-')
        fail(command, std::string(option) + " '" + text + "': expected a whole number");
    return v;
}

uint64_t random_seed() {
    uint64_t s = 0;
    if (getrandom(&s, sizeof s, 0) != sizeof s)
        s = uint64_t(getpid()) * 2654435761u ^ uint64_t(time(nullptr));
    return s;
}

namespace {
constexpr int kResetSignals[] = {SIGCHLD, SIGPIPE};
bool g_inherited_ignored[std::size(kResetSignals)] = {};
} // namespace

void reset_inherited_signals() {
    for (size_t i = 0; i < std::size(kResetSignals); ++i) {
        struct sigaction old = {};
        sigaction(kResetSignals[i], nullptr, &old);
        g_inherited_ignored[i] = !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_IGN;
        struct sigaction dfl = {}; // also clears SA_NOCLDWAIT
        dfl.sa_handler = SIG_DFL;
        sigaction(kResetSignals[i], &dfl, nullptr);
    }
}

void restore_inherited_signals() {
    for (size_t i = 0; i < std::size(kResetSignals); ++i)
        if (g_inherited_ignored[i]) signal(kResetSignals[i], SIG_IGN);
}

} // namespace faultline::cli
