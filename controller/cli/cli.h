// Shared pieces of the faultline commands: exit codes, error reporting,
// option parsing, JSON strings.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace faultline::cli {

// README.md, "Commands": 0 success, 1 a failed check, 2 bad usage or input.
enum Exit { kOk = 0, kCheckFailed = 1, kUsage = 2 };

// Thrown by commands for errors a user can cause; main() prints
// "faultline: <what>: <why>" and exits with `code`.
struct Failure {
    std::string what;
    std::string why;
    int code = kUsage;
};
[[noreturn]] void fail(std::string what, std::string why, int code = kUsage);

struct Option {
    const char* name; // "--seed"
    char letter;      // 's', or 0
    bool takes_value;
    const char* help;
};

// Options, positionals, and with `stop_at_dashes` everything after "--".
class Args {
  public:
    Args(std::string command, std::string usage, std::string summary,
         std::initializer_list<Option> options);
    // Parses argv; false when --help was printed.
    bool parse(const std::vector<std::string>& argv, bool stop_at_dashes = false);

    bool has(const std::string& name) const { return values_.count(name) > 0; }
    std::optional<std::string> get(const std::string& name) const;
    std::vector<std::string> all(const std::string& name) const;
    const std::vector<std::string>& positionals() const { return positionals_; }
    const std::vector<std::string>& after_dashes() const { return after_dashes_; }
    void print_help() const;
    [[noreturn]] void usage_error(const std::string& why) const;

  private:
    std::string command_, usage_, summary_;
    std::vector<Option> options_;
    std::map<std::string, std::vector<std::string>> values_;
    std::vector<std::string> positionals_, after_dashes_;
};

std::string json_string(const std::string& s);

// Option values: exit 2 naming the option when malformed.
int64_t parse_duration_arg(const std::string& text, const char* command, const char* option);
double parse_number_arg(const std::string& text, const char* command, const char* option);
uint64_t parse_count_arg(const std::string& text, const char* command, const char* option);

// A seed from the kernel's random source, for a run given no --seed.
uint64_t random_seed();

// The session a live command acts on: -s, else $FAULTLINE_SESSION.
std::string session_name(const Args& args, const char* command);

// Signal dispositions inherited from whoever started faultline (a test
// harness that ignores SIGCHLD, a shell that ignores SIGPIPE). With SIGCHLD
// ignored the kernel reaps our children itself and waitpid fails: a target's
// status would be lost (docs/pitfalls.md item 24). main() resets SIGCHLD and
// SIGPIPE to SIG_DFL, remembering which were ignored; a forked child calls
// restore_inherited_signals() before exec, so that a target still starts
// with the dispositions it would have without faultline.
void reset_inherited_signals();
void restore_inherited_signals();

} // namespace faultline::cli
