// Values of the rule language: durations, sizes, rates, probabilities, error
// names and globs (docs/rules.md, "Units").
//
// Everything here is shared by the controller and the shim, so it must not
// allocate, throw or touch stdio: the shim parses FAULTLINE_RULES inside other
// people's processes, possibly before their malloc is usable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace faultline {

// Each parser returns false on a bad value and leaves `why` pointing at a
// static explanation ("needs a unit: us, ms, s, m").
bool parse_duration(std::string_view text, int64_t& ns, const char*& why);
bool parse_size(std::string_view text, uint64_t& bytes, const char*& why);
bool parse_rate(std::string_view text, double& bytes_per_s, const char*& why);
bool parse_probability(std::string_view text, double& p, const char*& why);
bool parse_count(std::string_view text, uint64_t& n, const char*& why);
bool parse_port(std::string_view text, uint16_t& port, const char*& why);
// A failure site (common/site.h): 1 to 16 hexadecimal digits, not 0.
bool parse_site(std::string_view text, uint64_t& site, const char*& why);

// errno names ("ECONNRESET"), getaddrinfo codes ("EAI_AGAIN") and SQLite
// result codes ("BUSY", "SQLITE_BUSY", "IOERR_READ").
bool errno_from_name(std::string_view name, int& err);
bool eai_from_name(std::string_view name, int& code);
bool sqlite_code_from_name(std::string_view name, int& code);
const char* sqlite_code_name(int code); // "SQLITE_BUSY", or nullptr

// Shell-style glob with `*` and `?`, optionally ASCII case-insensitive.
bool glob_match(std::string_view pattern, std::string_view text, bool nocase = false);

// Formats durations and sizes back for display ("150ms", "64MiB"); returns
// the number of characters written (always NUL-terminated when cap > 0).
size_t format_duration(int64_t ns, char* out, size_t cap);
size_t format_size(uint64_t bytes, char* out, size_t cap);

} // namespace faultline
