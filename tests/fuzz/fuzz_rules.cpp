// libFuzzer target: the rule parser (common/rule_parser.cpp) on any bytes.
// It must never crash, hang or read out of bounds, and what it accepts must
// be a rule the rest of the code can use: a known kind, p within [0, 1],
// NUL-terminated text fields. `make fuzz` runs it; `make test` briefly.
#include "common/rule_parser.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

using namespace faultline;

namespace {
void require(bool ok) {
    if (!ok) abort();
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static Rule rules[8];
    std::string_view text(reinterpret_cast<const char*>(data), size);
    size_t count = 0;
    ParseError err;
    if (!parse_rules(text, rules, 8, count, err)) {
        require(count == 0);
        require(memchr(err.why, 0, sizeof err.why) != nullptr);
        require(memchr(err.token, 0, sizeof err.token) != nullptr);
        return 0;
    }
    require(count <= 8);
    for (size_t i = 0; i < count; ++i) {
        const Rule& r = rules[i];
        require(r.kind <= Kind::DbCorrupt);
        require(r.p >= 0 && r.p <= 1);
        require(memchr(r.text, 0, sizeof r.text) && memchr(r.name, 0, sizeof r.name));
        require(memchr(r.caller, 0, sizeof r.caller) && memchr(r.proc, 0, sizeof r.proc));
        require(memchr(r.sql, 0, sizeof r.sql) && memchr(r.file, 0, sizeof r.file));
        require(r.start_ns >= 0 && r.for_ns >= 0 && r.delay_ns >= 0);
        // What was accepted parses again to the same rule.
        Rule again;
        require(parse_rule(r.text, again, err));
        require(again.kind == r.kind && again.p == r.p && again.keys == r.keys);
    }
    return 0;
}
