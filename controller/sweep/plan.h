// What each run of a sweep does: the rule that fails one site the way its
// function really fails (NULL and ENOMEM, ECONNREFUSED, ECONNRESET, EAI_FAIL,
// an SQLite code), and the command line that does it again.
#pragma once

#include "controller/sweep/sweep.h"

#include <string>
#include <vector>

namespace faultline::sweep {

// The rule that fails `site` (first call only in Mode::Once, every call from
// it on in Mode::Persistent); empty when no kind can fail its function
// (accept).
std::string failing_rule(const Site& site, Mode mode);

// `faultline run -o none -r 'RULE' -- CMD...`, quoted for a POSIX shell;
// a hang's is bounded by timeout(1) at `timeout_ns`. `faultline`: how to
// call this faultline (self_command()).
std::string reproducer(const std::string& rule, const std::vector<std::string>& command,
                       Outcome outcome, int64_t timeout_ns, const std::string& faultline);

// "faultline" when that is what PATH finds, else this binary's absolute path.
std::string self_command();

std::string shell_quote(const std::string& word);
// CMD as one shell line, each word quoted.
std::string command_text(const std::vector<std::string>& command);
// A site as site= takes it: 16 hexadecimal digits.
std::string site_text(uint64_t site);

} // namespace faultline::sweep
