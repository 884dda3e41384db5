// The one parser of the rule language, used by the controller (`-r`,
// `enable`) and by the shim (FAULTLINE_RULES). Allocation-free and
// exception-free for the shim's sake.
#pragma once

#include "rule.h"

#include <cstddef>
#include <string_view>

namespace faultline {

struct ParseError {
    char token[96];    // the offending token, as written
    char why[160];     // what is wrong with it
    size_t rule_index; // which rule of a RULES list
};

// Parses one RULE ("mem.fail p=1% fn=malloc"). On failure fills `err` and
// leaves `out` unspecified.
bool parse_rule(std::string_view text, Rule& out, ParseError& err);

// Parses RULES (rules separated by ';', empty ones skipped) into out[0..cap).
// All or nothing: on failure `count` is 0.
bool parse_rules(std::string_view text, Rule* out, size_t cap, size_t& count, ParseError& err);

} // namespace faultline
