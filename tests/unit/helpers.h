// What several unit tests need: a rule from its text, as the parser makes it.
#pragma once

#include "common/rule_parser.h"

#include <doctest/doctest.h>

namespace faultline::test {

inline Rule rule(const char* text) {
    Rule r;
    ParseError err;
    REQUIRE_MESSAGE(parse_rule(text, r, err), text);
    return r;
}

} // namespace faultline::test
