// Units of the rule language (docs/rules.md "Units").
#include "common/units.h"

#include <cerrno>
#include <doctest/doctest.h>
#include <netdb.h>
#include <sqlite3.h>
#include <string>

using namespace faultline;

namespace {
int64_t dur(const char* s) {
    int64_t ns = -1;
    const char* why = nullptr;
    REQUIRE_MESSAGE(parse_duration(s, ns, why), s);
    return ns;
}
bool dur_bad(const char* s) {
    int64_t ns;
    const char* why = nullptr;
    bool ok = parse_duration(s, ns, why);
    return !ok && why != nullptr;
}
uint64_t size(const char* s) {
    uint64_t b = 0;
    const char* why = nullptr;
    REQUIRE_MESSAGE(parse_size(s, b, why), s);
    return b;
}
double rate(const char* s) {
    double r = 0;
    const char* why = nullptr;
    REQUIRE_MESSAGE(parse_rate(s, r, why), s);
    return r;
}
} // namespace

TEST_CASE("durations") {
    CHECK(dur("500us") == 500'000);
    CHECK(dur("150ms") == 150'000'000);
    CHECK(dur("2s") == 2'000'000'000);
    CHECK(dur("1.5s") == 1'500'000'000);
    CHECK(dur("1m") == 60'000'000'000);
    CHECK(dur("1h") == 3'600'000'000'000);
    CHECK(dur("10ns") == 10);
    CHECK(dur("0s") == 0);
    CHECK(dur_bad("30"));    // no unit
    CHECK(dur_bad("30sec")); // unknown unit
    CHECK(dur_bad("ms"));    // no number
    CHECK(dur_bad("-1s"));   // negative
    CHECK(dur_bad("1.2.3s"));
    CHECK(dur_bad("9999999h")); // beyond a year
}

TEST_CASE("sizes") {
    CHECK(size("4096") == 4096);
    CHECK(size("4KiB") == 4096);
    CHECK(size("1MiB") == 1 << 20);
    CHECK(size("1GiB") == 1ull << 30);
    CHECK(size("1KB") == 1000);
    CHECK(size("1MB") == 1'000'000);
    CHECK(size("1.5KiB") == 1536);
    CHECK(size("64B") == 64);
    uint64_t b;
    const char* why = nullptr;
    CHECK_FALSE(parse_size("1kb", b, why)); // units are case-sensitive, as written
    CHECK_FALSE(parse_size("1XB", b, why));
    CHECK_FALSE(parse_size("", b, why));
    CHECK_FALSE(parse_size("99999999TiB", b, why));
}

TEST_CASE("rates: bits as tc writes them, or bytes per second") {
    CHECK(rate("256kbit") == doctest::Approx(32'000));
    CHECK(rate("1mbit") == doctest::Approx(125'000));
    CHECK(rate("1gbit") == doctest::Approx(125'000'000));
    CHECK(rate("100KB/s") == doctest::Approx(100'000));
    CHECK(rate("1MiB/s") == doctest::Approx(1 << 20));
    double r;
    const char* why = nullptr;
    CHECK_FALSE(parse_rate("1mbps", r, why));
    CHECK_FALSE(parse_rate("0kbit", r, why));
    CHECK_FALSE(parse_rate("100", r, why));
}

TEST_CASE("probabilities") {
    double p = -1;
    const char* why = nullptr;
    CHECK(parse_probability("0.05", p, why));
    CHECK(p == doctest::Approx(0.05));
    CHECK(parse_probability("5%", p, why));
    CHECK(p == doctest::Approx(0.05));
    CHECK(parse_probability("100%", p, why));
    CHECK(p == 1.0);
    CHECK(parse_probability("0", p, why));
    CHECK(p == 0.0);
    CHECK_FALSE(parse_probability("1.5", p, why));
    CHECK_FALSE(parse_probability("150%", p, why));
    CHECK_FALSE(parse_probability("5x", p, why));
    CHECK_FALSE(parse_probability("-0.1", p, why));
}

TEST_CASE("counts and ports") {
    uint64_t n = 0;
    const char* why = nullptr;
    CHECK(parse_count("42", n, why));
    CHECK(n == 42);
    CHECK_FALSE(parse_count("4.2", n, why));
    CHECK_FALSE(parse_count("4k", n, why));
    uint16_t port = 0;
    CHECK(parse_port("6379", port, why));
    CHECK(port == 6379);
    CHECK_FALSE(parse_port("0", port, why));
    CHECK_FALSE(parse_port("65536", port, why));
}

TEST_CASE("error names") {
    int e = 0;
    CHECK(errno_from_name("ECONNRESET", e));
    CHECK(e == ECONNRESET);
    CHECK(errno_from_name("EHOSTUNREACH", e));
    CHECK(e == EHOSTUNREACH);
    CHECK_FALSE(errno_from_name("ECONNRESETX", e));
    CHECK_FALSE(errno_from_name("econnreset", e));
    CHECK(eai_from_name("EAI_AGAIN", e));
    CHECK(e == EAI_AGAIN);
    CHECK(eai_from_name("EAI_NONAME", e));
    CHECK(e == EAI_NONAME);
    CHECK_FALSE(eai_from_name("EAI_WHATEVER", e));
    CHECK(sqlite_code_from_name("BUSY", e));
    CHECK(e == SQLITE_BUSY);
    CHECK(sqlite_code_from_name("SQLITE_BUSY", e));
    CHECK(e == SQLITE_BUSY);
    CHECK(sqlite_code_from_name("IOERR_READ", e));
    CHECK(e == SQLITE_IOERR_READ);
    CHECK(sqlite_code_from_name("sqlite_full", e));
    CHECK(e == SQLITE_FULL);
    CHECK_FALSE(sqlite_code_from_name("SLOW", e));
    CHECK(std::string(sqlite_code_name(SQLITE_IOERR_WRITE)) == "IOERR_WRITE");
}

TEST_CASE("globs") {
    CHECK(glob_match("*", ""));
    CHECK(glob_match("*", "anything"));
    CHECK(glob_match("py*", "python3"));
    CHECK_FALSE(glob_match("py*", "xpython"));
    CHECK(glob_match("*.internal", "db.internal"));
    CHECK(glob_match("a?c", "abc"));
    CHECK_FALSE(glob_match("a?c", "ac"));
    CHECK(glob_match("*a*b*c*", "xxaxxbxxcxx"));
    CHECK_FALSE(glob_match("*a*b*c", "xxaxxbxxcxxd"));
    CHECK(glob_match("INSERT*", "insert into t", true));
    CHECK_FALSE(glob_match("INSERT*", "insert into t", false));
}

TEST_CASE("formatting back") {
    char buf[32];
    format_duration(150'000'000, buf, sizeof buf);
    CHECK(std::string(buf) == "150ms");
    format_duration(2'000'000'000, buf, sizeof buf);
    CHECK(std::string(buf) == "2s");
    format_size(64ull << 20, buf, sizeof buf);
    CHECK(std::string(buf) == "64MiB");
    format_size(1000, buf, sizeof buf);
    CHECK(std::string(buf) == "1000");
}
