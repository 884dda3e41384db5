#include "units.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <netdb.h>
#include <sqlite3.h>

namespace faultline {
namespace {

// A decimal number "12", "1.5", "0.05" as mantissa / 10^scale. Own parser
// because strtod depends on the locale's decimal point.
struct Decimal {
    unsigned __int128 mantissa = 0;
    unsigned scale = 0;
};

// Splits text into a decimal prefix and a unit suffix.
bool split_number(std::string_view text, Decimal& d, std::string_view& unit, const char*& why) {
    size_t i = 0;
    bool digits = false, dot = false;
    for (; i < text.size(); ++i) {
        char c = text[i];
        if (c >= '0' && c <= '9') {
            if (d.mantissa > (unsigned __int128)1 << 100) {
                why = "number too large";
                return false;
            }
            d.mantissa = d.mantissa * 10 + unsigned(c - '0');
            if (dot) ++d.scale;
            digits = true;
        } else if (c == '.' && !dot) {
            dot = true;
        } else {
            break;
        }
    }
    if (!digits) {
        why = "expected a number";
        return false;
    }
    if (d.scale > 18) {
        why = "too many decimals";
        return false;
    }
    unit = std::string_view(text.data() + i, text.size() - i);
    return true;
}

unsigned __int128 pow10(unsigned n) {
    unsigned __int128 r = 1;
    while (n--) r *= 10;
    return r;
}

// mantissa * multiplier / 10^scale, rounded down, checked against max.
bool scale_to(const Decimal& d, uint64_t multiplier, uint64_t max, uint64_t& out,
              const char*& why) {
    unsigned __int128 v = d.mantissa * multiplier / pow10(d.scale);
    if (v > max) {
        why = "value out of range";
        return false;
    }
    out = uint64_t(v);
    return true;
}

bool ieq(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'a' && x <= 'z') x = char(x - 32);
        if (y >= 'a' && y <= 'z') y = char(y - 32);
        if (x != y) return false;
    }
    return true;
}

struct Unit {
    const char* name;
    uint64_t factor;
};

bool lookup_unit(std::string_view unit, const Unit* table, size_t n, uint64_t& factor) {
    for (size_t i = 0; i < n; ++i)
        if (unit == table[i].name) {
            factor = table[i].factor;
            return true;
        }
    return false;
}

constexpr Unit kDurationUnits[] = {
    {"ns", 1},         {"us", 1000},       {"ms", 1000000},
    {"s", 1000000000}, {"m", 60000000000}, {"h", 3600000000000},
};

constexpr Unit kSizeUnits[] = {
    {"", 1},
    {"B", 1},
    {"KB", 1000},
    {"MB", 1000000},
    {"GB", 1000000000},
    {"TB", 1000000000000},
    {"KiB", 1ull << 10},
    {"MiB", 1ull << 20},
    {"GiB", 1ull << 30},
    {"TiB", 1ull << 40},
};

// Bits per second, as tc spells them.
constexpr Unit kBitRateUnits[] = {
    {"bit", 1},
    {"kbit", 1000},
    {"mbit", 1000000},
    {"gbit", 1000000000},
};

} // namespace

bool parse_duration(std::string_view text, int64_t& ns, const char*& why) {
    Decimal d;
    std::string_view unit;
    if (!split_number(text, d, unit, why)) return false;
    uint64_t factor = 0;
    if (unit.empty()) {
        why = "a duration needs a unit: ns, us, ms, s, m, h";
        return false;
    }
    if (!lookup_unit(unit, kDurationUnits, sizeof kDurationUnits / sizeof *kDurationUnits,
                     factor)) {
        why = "unknown duration unit (ns, us, ms, s, m, h)";
        return false;
    }
    uint64_t v = 0;
    // One year is long enough for any fault, and keeps deadline sums far
    // from overflowing int64.
    if (!scale_to(d, factor, 365ull * 86400 * 1000000000, v, why)) return false;
    ns = int64_t(v);
    return true;
}

bool parse_size(std::string_view text, uint64_t& bytes, const char*& why) {
    Decimal d;
    std::string_view unit;
    if (!split_number(text, d, unit, why)) return false;
    uint64_t factor = 0;
    if (!lookup_unit(unit, kSizeUnits, sizeof kSizeUnits / sizeof *kSizeUnits, factor)) {
        why = "unknown size unit (B, KB, MB, GB, KiB, MiB, GiB)";
        return false;
    }
    return scale_to(d, factor, uint64_t(1) << 60, bytes, why);
}

bool parse_rate(std::string_view text, double& bytes_per_s, const char*& why) {
    Decimal d;
    std::string_view unit;
    if (!split_number(text, d, unit, why)) return false;
    uint64_t factor = 0;
    double value = double(d.mantissa) / double(pow10(d.scale));
    if (lookup_unit(unit, kBitRateUnits, sizeof kBitRateUnits / sizeof *kBitRateUnits, factor)) {
        bytes_per_s = value * double(factor) / 8.0;
    } else if (unit.size() > 2 && unit[unit.size() - 2] == '/' && unit.back() == 's' &&
               lookup_unit(std::string_view(unit.data(), unit.size() - 2), kSizeUnits,
                           sizeof kSizeUnits / sizeof *kSizeUnits, factor)) {
        bytes_per_s = value * double(factor);
    } else {
        why = "unknown rate unit (kbit, mbit, gbit, or bytes as KB/s, MiB/s)";
        return false;
    }
    if (bytes_per_s <= 0) {
        why = "a rate must be positive";
        return false;
    }
    return true;
}

bool parse_probability(std::string_view text, double& p, const char*& why) {
    Decimal d;
    std::string_view unit;
    if (!split_number(text, d, unit, why)) return false;
    double value = double(d.mantissa) / double(pow10(d.scale));
    if (unit == "%") {
        value /= 100.0;
    } else if (!unit.empty()) {
        why = "a probability is 0..1 or a percentage like 5%";
        return false;
    }
    if (value > 1.0) {
        why = "a probability cannot exceed 1 (100%)";
        return false;
    }
    p = value;
    return true;
}

bool parse_count(std::string_view text, uint64_t& n, const char*& why) {
    Decimal d;
    std::string_view unit;
    if (!split_number(text, d, unit, why)) return false;
    if (!unit.empty() || d.scale != 0) {
        why = "expected a whole number";
        return false;
    }
    return scale_to(d, 1, uint64_t(1) << 62, n, why);
}

bool parse_port(std::string_view text, uint16_t& port, const char*& why) {
    uint64_t n = 0;
    if (!parse_count(text, n, why)) return false;
    if (n == 0 || n > 65535) {
        why = "a port is 1..65535";
        return false;
    }
    port = uint16_t(n);
    return true;
}

bool parse_site(std::string_view text, uint64_t& site, const char*& why) {
    why = "a site is 1 to 16 hexadecimal digits, as faultline sweep prints it";
    if (text.empty() || text.size() > 16) return false;
    uint64_t v = 0;
    for (char c : text) {
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return false;
        v = v << 4 | uint64_t(d);
    }
    if (v == 0) return false;
    site = v;
    return true;
}

bool errno_from_name(std::string_view name, int& err) {
    // strerrorname_np (glibc 2.32) knows every errno name; no table to keep.
    for (int e = 1; e < 256; ++e) {
        const char* n = strerrorname_np(e);
        if (n && name == n) {
            err = e;
            return true;
        }
    }
    return false;
}

bool eai_from_name(std::string_view name, int& code) {
    static constexpr struct {
        const char* name;
        int code;
    } kCodes[] = {
        {"EAI_AGAIN", EAI_AGAIN},   {"EAI_NONAME", EAI_NONAME}, {"EAI_FAIL", EAI_FAIL},
        {"EAI_NODATA", EAI_NODATA}, {"EAI_MEMORY", EAI_MEMORY}, {"EAI_SERVICE", EAI_SERVICE},
        {"EAI_SYSTEM", EAI_SYSTEM},
    };
    for (auto& c : kCodes)
        if (name == c.name) {
            code = c.code;
            return true;
        }
    return false;
}

namespace {
struct SqliteCode {
    const char* name; // without the SQLITE_ prefix
    int code;
};
#define FL_SQLITE(name)                                                                            \
    { #name, SQLITE_##name }
constexpr SqliteCode kSqliteCodes[] = {
    FL_SQLITE(ERROR),
    FL_SQLITE(INTERNAL),
    FL_SQLITE(PERM),
    FL_SQLITE(ABORT),
    FL_SQLITE(BUSY),
    FL_SQLITE(LOCKED),
    FL_SQLITE(NOMEM),
    FL_SQLITE(READONLY),
    FL_SQLITE(INTERRUPT),
    FL_SQLITE(IOERR),
    FL_SQLITE(CORRUPT),
    FL_SQLITE(NOTFOUND),
    FL_SQLITE(FULL),
    FL_SQLITE(CANTOPEN),
    FL_SQLITE(PROTOCOL),
    FL_SQLITE(EMPTY),
    FL_SQLITE(SCHEMA),
    FL_SQLITE(TOOBIG),
    FL_SQLITE(CONSTRAINT),
    FL_SQLITE(MISMATCH),
    FL_SQLITE(MISUSE),
    FL_SQLITE(NOLFS),
    FL_SQLITE(AUTH),
    FL_SQLITE(FORMAT),
    FL_SQLITE(RANGE),
    FL_SQLITE(NOTADB),
    FL_SQLITE(IOERR_READ),
    FL_SQLITE(IOERR_SHORT_READ),
    FL_SQLITE(IOERR_WRITE),
    FL_SQLITE(IOERR_FSYNC),
    FL_SQLITE(IOERR_DIR_FSYNC),
    FL_SQLITE(IOERR_TRUNCATE),
    FL_SQLITE(IOERR_FSTAT),
    FL_SQLITE(IOERR_UNLOCK),
    FL_SQLITE(IOERR_RDLOCK),
    FL_SQLITE(IOERR_DELETE),
    FL_SQLITE(IOERR_NOMEM),
    FL_SQLITE(IOERR_ACCESS),
    FL_SQLITE(IOERR_CHECKRESERVEDLOCK),
    FL_SQLITE(IOERR_LOCK),
    FL_SQLITE(IOERR_CLOSE),
    FL_SQLITE(IOERR_SHMOPEN),
    FL_SQLITE(IOERR_SHMSIZE),
    FL_SQLITE(IOERR_SHMMAP),
    FL_SQLITE(IOERR_SEEK),
    FL_SQLITE(IOERR_DELETE_NOENT),
    FL_SQLITE(IOERR_MMAP),
    FL_SQLITE(IOERR_GETTEMPPATH),
    FL_SQLITE(IOERR_CONVPATH),
    FL_SQLITE(IOERR_CORRUPTFS),
    FL_SQLITE(LOCKED_SHAREDCACHE),
    FL_SQLITE(BUSY_RECOVERY),
    FL_SQLITE(BUSY_SNAPSHOT),
    FL_SQLITE(BUSY_TIMEOUT),
    FL_SQLITE(CANTOPEN_NOTEMPDIR),
    FL_SQLITE(CANTOPEN_ISDIR),
    FL_SQLITE(CANTOPEN_FULLPATH),
    FL_SQLITE(CORRUPT_VTAB),
    FL_SQLITE(CORRUPT_SEQUENCE),
    FL_SQLITE(CORRUPT_INDEX),
    FL_SQLITE(READONLY_RECOVERY),
    FL_SQLITE(READONLY_CANTLOCK),
    FL_SQLITE(READONLY_ROLLBACK),
    FL_SQLITE(READONLY_DBMOVED),
    FL_SQLITE(ABORT_ROLLBACK),
    FL_SQLITE(CONSTRAINT_CHECK),
    FL_SQLITE(CONSTRAINT_FOREIGNKEY),
    FL_SQLITE(CONSTRAINT_NOTNULL),
    FL_SQLITE(CONSTRAINT_PRIMARYKEY),
    FL_SQLITE(CONSTRAINT_UNIQUE),
};
#undef FL_SQLITE
} // namespace

bool sqlite_code_from_name(std::string_view name, int& code) {
    if (name.size() > 7 && ieq(std::string_view(name.data(), 7), "SQLITE_")) name.remove_prefix(7);
    for (auto& c : kSqliteCodes)
        if (ieq(name, c.name)) {
            code = c.code;
            return true;
        }
    return false;
}

const char* sqlite_code_name(int code) {
    for (auto& c : kSqliteCodes)
        if (c.code == code) return c.name;
    return nullptr;
}

bool glob_match(std::string_view pattern, std::string_view text, bool nocase) {
    auto fold = [nocase](char c) { return nocase && c >= 'A' && c <= 'Z' ? char(c + 32) : c; };
    // Iterative matcher with one backtrack point: linear in practice, no
    // recursion, no allocation (it runs in the shim's hot path).
    size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
    while (t < text.size()) {
        if (p < pattern.size() &&
            (pattern[p] == '?' || (pattern[p] != '*' && fold(pattern[p]) == fold(text[t])))) {
            ++p;
            ++t;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            mark = t;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            t = ++mark;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

size_t format_duration(int64_t ns, char* out, size_t cap) {
    struct {
        const char* unit;
        int64_t factor;
    } units[] = {{"h", 3600000000000}, {"m", 60000000000}, {"s", 1000000000},
                 {"ms", 1000000},      {"us", 1000},       {"ns", 1}};
    for (auto& u : units)
        if (ns != 0 && ns % u.factor == 0) {
            int n = snprintf(out, cap, "%lld%s", (long long)(ns / u.factor), u.unit);
            return n < 0 ? 0 : size_t(n);
        }
    if (ns >= 1000000) {
        int n = snprintf(out, cap, "%.3fs", double(ns) / 1e9);
        return n < 0 ? 0 : size_t(n);
    }
    int n = snprintf(out, cap, "%lldns", (long long)ns);
    return n < 0 ? 0 : size_t(n);
}

size_t format_size(uint64_t bytes, char* out, size_t cap) {
    const char* units[] = {"TiB", "GiB", "MiB", "KiB"};
    for (int i = 0; i < 4; ++i) {
        uint64_t f = uint64_t(1) << (10 * (4 - i));
        if (bytes != 0 && bytes % f == 0) {
            int n = snprintf(out, cap, "%llu%s", (unsigned long long)(bytes / f), units[i]);
            return n < 0 ? 0 : size_t(n);
        }
    }
    int n = snprintf(out, cap, "%llu", (unsigned long long)bytes);
    return n < 0 ? 0 : size_t(n);
}

} // namespace faultline
