#include "rule_parser.h"

#include "units.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <netdb.h>
#include <sqlite3.h>

namespace faultline {

namespace {

constexpr uint64_t bit(RuleKey k) {
    return uint64_t(1) << k;
}

constexpr uint64_t kCommonKeys = bit(kKeyName) | bit(kKeyP) | bit(kKeyAfter) | bit(kKeyEvery) |
                                 bit(kKeyNth) | bit(kKeyTimes) | bit(kKeyStart) | bit(kKeyFor) |
                                 bit(kKeyCaller) | bit(kKeyProc) | bit(kKeyTrace) | bit(kKeySite) |
                                 bit(kKeyPer);
constexpr uint64_t kMemFilters = bit(kKeyFn) | bit(kKeyMin) | bit(kKeyMax);
constexpr uint64_t kNetFilters = bit(kKeyPeer) | bit(kKeyLport) | bit(kKeyProto) | bit(kKeyOn);
constexpr uint64_t kDbFilters = bit(kKeySql) | bit(kKeyFile) | bit(kKeyOn);

struct KindSpec {
    Kind kind;
    const char* name;
    Family family;
    uint64_t keys;     // allowed besides kCommonKeys
    uint64_t required; // must be given
};

// The Memory, Network and SQLite tables of docs/rules.md.
constexpr KindSpec kKinds[] = {
    {Kind::MemFail, "mem.fail", Family::Mem, kMemFilters, 0},
    {Kind::MemLimit, "mem.limit", Family::Mem, kMemFilters | bit(kKeyLimit), bit(kKeyLimit)},
    {Kind::MemDelay, "mem.delay", Family::Mem, kMemFilters | bit(kKeyDelay) | bit(kKeyJitter),
     bit(kKeyDelay)},
    {Kind::MemBallast, "mem.ballast", Family::Mem, bit(kKeySize), bit(kKeySize)},
    {Kind::NetDelay, "net.delay", Family::Net, kNetFilters | bit(kKeyDelay) | bit(kKeyJitter),
     bit(kKeyDelay)},
    {Kind::NetTimeout, "net.timeout", Family::Net, kNetFilters | bit(kKeyTimeout), 0},
    {Kind::NetLoss, "net.loss", Family::Net, kNetFilters | bit(kKeyRto), 0},
    {Kind::NetBandwidth, "net.bandwidth", Family::Net,
     kNetFilters | bit(kKeyRate) | bit(kKeyDir) | bit(kKeyScope) | bit(kKeyBurst), bit(kKeyRate)},
    {Kind::NetReset, "net.reset", Family::Net, kNetFilters | bit(kKeyBytes), 0},
    {Kind::NetRefuse, "net.refuse", Family::Net, kNetFilters | bit(kKeyErrno), 0},
    {Kind::NetPartition, "net.partition", Family::Net, kNetFilters, 0},
    {Kind::NetDns, "net.dns", Family::Net, bit(kKeyHost) | bit(kKeyError) | bit(kKeyDelay), 0},
    {Kind::NetSlice, "net.slice", Family::Net, kNetFilters | bit(kKeyMax), bit(kKeyMax)},
    {Kind::NetCorrupt, "net.corrupt", Family::Net, kNetFilters, 0},
    {Kind::DbError, "db.error", Family::Db, kDbFilters | bit(kKeyRc), bit(kKeyRc)},
    {Kind::DbDelay, "db.delay", Family::Db, kDbFilters | bit(kKeyDelay) | bit(kKeyJitter),
     bit(kKeyDelay)},
    {Kind::DbIo, "db.io", Family::Vfs, bit(kKeyFile) | bit(kKeyOp) | bit(kKeyRc), 0},
    {Kind::DbCorrupt, "db.corrupt", Family::Vfs, bit(kKeyFile), 0},
};

constexpr const char* kKeyNames[kKeyCount] = {
    "name",  "p",     "after",   "every", "nth",   "times", "start",  "for",   "caller", "proc",
    "trace", "fn",    "min",     "max",   "limit", "delay", "jitter", "size",  "peer",   "lport",
    "proto", "on",    "timeout", "rto",   "rate",  "dir",   "scope",  "burst", "bytes",  "errno",
    "host",  "error", "sql",     "file",  "rc",    "op",    "site",   "per",
};

const KindSpec* find_kind(std::string_view name) {
    for (auto& k : kKinds)
        if (name == k.name) return &k;
    return nullptr;
}

struct Word {
    const char* name;
    uint32_t flag;
};

constexpr Word kMemFns[] = {
    {"malloc", kFnMalloc},
    {"calloc", kFnCalloc},
    {"realloc", kFnRealloc},
    {"reallocarray", kFnReallocarray},
    {"posix_memalign", kFnPosixMemalign},
    {"aligned_alloc", kFnAlignedAlloc},
    {"memalign", kFnMemalign},
    {"valloc", kFnValloc},
    {"pvalloc", kFnPvalloc},
};
constexpr Word kNetOps[] = {
    {"connect", kOnConnect}, {"accept", kOnAccept}, {"send", kOnSend},
    {"recv", kOnRecv},       {"dns", kOnDns},
};
constexpr Word kDbOps[] = {
    {"open", kOnOpen}, {"prepare", kOnPrepare}, {"step", kOnStep}, {"exec", kOnExec}};
constexpr Word kIoOps[] = {
    {"read", kIoRead}, {"write", kIoWrite}, {"sync", kIoSync},
    {"lock", kIoLock}, {"open", kIoOpen},   {"truncate", kIoTruncate},
};

template <size_t N>
bool parse_list(std::string_view value, const Word (&words)[N], uint32_t& mask, const char*& why) {
    mask = 0;
    while (true) {
        size_t comma = value.find(',');
        std::string_view item(value.data(), comma == value.npos ? value.size() : comma);
        bool found = false;
        for (auto& w : words)
            if (item == w.name) {
                mask |= w.flag;
                found = true;
            }
        if (!found) {
            why = "unknown list item";
            return false;
        }
        if (comma == value.npos) return true;
        value.remove_prefix(comma + 1);
    }
}

class Parser {
  public:
    Parser(Rule& rule, ParseError& err) : rule_(rule), err_(err) {}

    bool fail(std::string_view token, const char* why) {
        size_t n = token.size() < sizeof err_.token - 1 ? token.size() : sizeof err_.token - 1;
        memcpy(err_.token, token.data(), n);
        err_.token[n] = 0;
        strncpy(err_.why, why, sizeof err_.why - 1);
        err_.why[sizeof err_.why - 1] = 0;
        return false;
    }

    bool copy_text(std::string_view token, std::string_view value, char* dst, size_t cap) {
        if (value.empty()) return fail(token, "empty value");
        if (value.size() >= cap) return fail(token, "value too long");
        memcpy(dst, value.data(), value.size());
        dst[value.size()] = 0;
        return true;
    }

    bool parse_peer(std::string_view token, std::string_view v) {
        Peer& peer = rule_.peer;
        memset(&peer, 0, sizeof peer);
        std::string_view addr, port;
        if (!v.empty() && v[0] == '[') {
            size_t close = v.find(']');
            if (close == v.npos) return fail(token, "missing ']' after an IPv6 address");
            addr = std::string_view(v.data() + 1, close - 1);
            std::string_view rest(v.data() + close + 1, v.size() - close - 1);
            // "[addr]/prefix:port" as well as "[addr/prefix]:port"
            if (!rest.empty() && rest[0] == '/') {
                size_t colon = rest.find(':');
                std::string_view pfx(rest.data() + 1,
                                     (colon == rest.npos ? rest.size() : colon) - 1);
                uint64_t bits = 0;
                const char* why = nullptr;
                if (!parse_count(pfx, bits, why) || bits > 128)
                    return fail(token, "bad IPv6 prefix length (0..128)");
                peer.prefix = uint8_t(bits);
                rest = colon == rest.npos
                           ? std::string_view()
                           : std::string_view(rest.data() + colon, rest.size() - colon);
            } else {
                peer.prefix = 128;
            }
            if (!rest.empty()) {
                if (rest[0] != ':') return fail(token, "expected ':PORT' after ']'");
                port = std::string_view(rest.data() + 1, rest.size() - 1);
            }
            peer.family = 6;
        } else {
            size_t colon = v.rfind(':');
            if (colon != v.npos) {
                addr = std::string_view(v.data(), colon);
                port = std::string_view(v.data() + colon + 1, v.size() - colon - 1);
            } else {
                addr = v;
            }
            if (addr.find(':') != addr.npos)
                return fail(token, "write IPv6 addresses in brackets: [::1]:5432");
            peer.family = addr == "*" ? 0 : 4;
            peer.prefix = 32;
        }
        if (peer.family != 0) {
            size_t slash = addr.find('/');
            if (slash != addr.npos) {
                uint64_t bits = 0;
                const char* why = nullptr;
                std::string_view pfx(addr.data() + slash + 1, addr.size() - slash - 1);
                if (!parse_count(pfx, bits, why) || bits > (peer.family == 4 ? 32u : 128u))
                    return fail(token, "bad prefix length");
                peer.prefix = uint8_t(bits);
                addr = std::string_view(addr.data(), slash);
            }
            char buf[64];
            if (addr.empty() || addr.size() >= sizeof buf) return fail(token, "bad address");
            memcpy(buf, addr.data(), addr.size());
            buf[addr.size()] = 0;
            if (inet_pton(peer.family == 4 ? AF_INET : AF_INET6, buf, peer.addr) != 1)
                return fail(token,
                            peer.family == 4 ? "not an IPv4 address" : "not an IPv6 address");
        }
        if (!port.empty()) {
            const char* why = nullptr;
            if (port != "*" && !parse_port(port, peer.port, why)) return fail(token, why);
        }
        rule_.has_peer = 1;
        return true;
    }

    // Long on purpose: one case per rule key, a few lines each, the single
    // table of how every key's value is read and checked. The keys do not
    // divide by family (delay=, max=, on=, file= and rc= serve several
    // families' kinds), so splitting would scatter this table over several
    // switches without making any case shorter.
    bool parse_value(RuleKey key, std::string_view token, std::string_view v) {
        const char* why = "bad value";
        bool ok = true;
        Family fam = spec_->family;
        switch (key) {
        case kKeyName: {
            if (!copy_text(token, v, rule_.name, sizeof rule_.name)) return false;
            bool digits_only = true;
            for (char c : v) {
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-' || c == '.'))
                    return fail(token, "a name uses letters, digits, '_', '-' and '.'");
                digits_only = digits_only && c >= '0' && c <= '9';
            }
            if (digits_only) return fail(token, "a name cannot be all digits (ids are)");
            return true;
        }
        case kKeyP:
            ok = parse_probability(v, rule_.p, why);
            break;
        case kKeyAfter:
            ok = parse_count(v, rule_.after, why);
            break;
        case kKeyEvery:
            ok = parse_count(v, rule_.every, why) &&
                 (rule_.every > 0 || (why = "must be >= 1", false));
            break;
        case kKeyNth:
            ok = parse_count(v, rule_.nth, why) && (rule_.nth > 0 || (why = "must be >= 1", false));
            break;
        case kKeyTimes:
            ok = parse_count(v, rule_.times, why) &&
                 (rule_.times > 0 || (why = "must be >= 1", false));
            break;
        case kKeyStart:
            ok = parse_duration(v, rule_.start_ns, why);
            break;
        case kKeyFor:
            ok = parse_duration(v, rule_.for_ns, why) &&
                 (rule_.for_ns > 0 || (why = "must be longer than 0", false));
            break;
        case kKeyCaller:
            return copy_text(token, v, rule_.caller, sizeof rule_.caller);
        case kKeyProc:
            return copy_text(token, v, rule_.proc, sizeof rule_.proc);
        case kKeySite:
            ok = parse_site(v, rule_.site, why);
            break;
        case kKeyTrace:
            if (v != "0" && v != "1") return fail(token, "trace= is 0 or 1");
            rule_.trace = v == "1";
            return true;
        case kKeyFn:
            ok = parse_list(v, kMemFns, rule_.ops, why);
            if (!ok)
                why = "unknown function (malloc, calloc, realloc, reallocarray, "
                      "posix_memalign, aligned_alloc, memalign, valloc, pvalloc)";
            break;
        case kKeyMin:
            ok = parse_size(v, rule_.min_size, why);
            break;
        case kKeyMax:
            ok = parse_size(v, rule_.max_size, why);
            if (ok && rule_.kind == Kind::NetSlice && rule_.max_size == 0) {
                ok = false;
                why = "must be at least 1 byte";
            }
            break;
        case kKeyLimit:
        case kKeySize:
        case kKeyBytes:
            ok = parse_size(v, rule_.amount, why);
            break;
        case kKeyBurst:
            ok = parse_size(v, rule_.burst, why);
            break;
        case kKeyDelay:
            ok = parse_duration(v, rule_.delay_ns, why);
            break;
        case kKeyJitter:
            ok = parse_duration(v, rule_.jitter_ns, why);
            break;
        case kKeyTimeout:
            ok = parse_duration(v, rule_.timeout_ns, why) &&
                 (rule_.timeout_ns > 0 || (why = "must be longer than 0", false));
            break;
        case kKeyRto:
            ok = parse_duration(v, rule_.rto_ns, why) &&
                 (rule_.rto_ns > 0 || (why = "must be longer than 0", false));
            break;
        case kKeyRate:
            ok = parse_rate(v, rule_.rate, why);
            break;
        case kKeyPeer:
            return parse_peer(token, v);
        case kKeyLport:
            ok = parse_port(v, rule_.lport, why);
            break;
        case kKeyProto:
            if (v == "tcp")
                rule_.proto = Proto::Tcp;
            else if (v == "udp")
                rule_.proto = Proto::Udp;
            else
                return fail(token, "proto= is tcp or udp");
            return true;
        case kKeyOn:
            if (fam == Family::Net) {
                ok = parse_list(v, kNetOps, rule_.ops, why);
                if (!ok) why = "unknown operation (connect, accept, send, recv, dns)";
            } else {
                ok = parse_list(v, kDbOps, rule_.ops, why);
                if (!ok) why = "unknown operation (open, prepare, step, exec)";
            }
            break;
        case kKeyOp:
            ok = parse_list(v, kIoOps, rule_.ops, why);
            if (!ok) why = "unknown operation (read, write, sync, lock, open, truncate)";
            break;
        case kKeyDir:
            if (v == "send")
                rule_.dir = Direction::Send;
            else if (v == "recv")
                rule_.dir = Direction::Recv;
            else if (v == "both")
                rule_.dir = Direction::Both;
            else
                return fail(token, "dir= is send, recv or both");
            return true;
        case kKeyScope:
            if (v == "socket")
                rule_.scope = Scope::Socket;
            else if (v == "process")
                rule_.scope = Scope::Process;
            else
                return fail(token, "scope= is socket or process");
            return true;
        case kKeyPer:
            if (v == "call") {
                rule_.per = Per::Call;
            } else if (v == "connection") {
                if (spec_->family != Family::Net || rule_.kind == Kind::NetDns)
                    return fail(token,
                                "per=connection is for net kinds with a socket (not "
                                "net.dns): per=call, or per=statement for db.error/db.delay");
                rule_.per = Per::Connection;
            } else if (v == "statement") {
                if (spec_->family != Family::Db)
                    return fail(token, "per=statement is for db.error and db.delay: per=call, or "
                                       "per=connection for net kinds");
                rule_.per = Per::Statement;
            } else {
                return fail(token, "per= is call, connection (net) or statement (db)");
            }
            return true;
        case kKeyErrno:
            if (!errno_from_name(v, rule_.code)) return fail(token, "unknown errno name");
            return true;
        case kKeyError:
            if (!eai_from_name(v, rule_.code))
                return fail(token, "unknown getaddrinfo error (EAI_AGAIN, EAI_NONAME, EAI_FAIL)");
            return true;
        case kKeyHost:
            return copy_text(token, v, rule_.host, sizeof rule_.host);
        case kKeySql:
            return copy_text(token, v, rule_.sql, sizeof rule_.sql);
        case kKeyFile:
            return copy_text(token, v, rule_.file, sizeof rule_.file);
        case kKeyRc: {
            int code = 0;
            if (!sqlite_code_from_name(v, code)) return fail(token, "unknown SQLite result code");
            if (rule_.kind == Kind::DbIo) {
                int primary = code & 0xff;
                if (primary != SQLITE_IOERR && primary != SQLITE_FULL && primary != SQLITE_BUSY &&
                    primary != SQLITE_CANTOPEN)
                    return fail(token,
                                "db.io takes rc= IOERR (or IOERR_*), FULL, BUSY or CANTOPEN");
            }
            rule_.code = code;
            return true;
        }
        case kKeyCount:
            break;
        }
        return ok ? true : fail(token, why);
    }

    void set_defaults() {
        memset(&rule_, 0, sizeof rule_);
        rule_.kind = spec_->kind;
        rule_.p = 1.0;
        rule_.max_size = UINT64_MAX;
        switch (rule_.kind) {
        case Kind::NetTimeout:
            rule_.timeout_ns = 30'000'000'000;
            break;
        case Kind::NetLoss:
            rule_.rto_ns = 200'000'000;
            break;
        case Kind::NetRefuse:
            rule_.code = ECONNREFUSED;
            break;
        case Kind::DbIo:
            rule_.code = SQLITE_IOERR;
            break;
        default:
            break;
        }
    }

    // "net.corrupt acts on recv only: this on= never fires" (no allocation:
    // the shim parses FAULTLINE_RULES too).
    bool fail_never_fires(std::string_view text) {
        char why[120];
        size_t n = 0;
        auto put = [&](const char* part) {
            for (; *part && n < sizeof why - 1; ++part) why[n++] = *part;
        };
        put(spec_->name);
        put(" acts on ");
        uint32_t can = kind_operations(rule_.kind);
        bool net = spec_->family == Family::Net;
        const Word* words = net ? kNetOps : kDbOps;
        size_t count = net ? std::size(kNetOps) : std::size(kDbOps);
        bool first = true;
        for (size_t i = 0; i < count; ++i)
            if (can & words[i].flag) {
                if (!first) put(", ");
                put(words[i].name);
                first = false;
            }
        put(" only: this on= never fires");
        why[n] = 0;
        return fail(text, why);
    }

    bool check_combinations(std::string_view text) {
        if (rule_.nth && (rule_.keys & (bit(kKeyEvery) | bit(kKeyAfter))))
            return fail(text, "nth= cannot be combined with after= or every=");
        if (rule_.min_size > rule_.max_size && rule_.kind != Kind::NetSlice)
            return fail(text, "min= is larger than max=");
        if ((rule_.keys & bit(kKeyJitter)) && !(rule_.keys & bit(kKeyDelay)))
            return fail(text, "jitter= needs delay=");
        if ((rule_.keys & bit(kKeyOn)) && !(rule_.ops & kind_operations(rule_.kind)))
            return fail_never_fires(text);
        if (rule_.kind == Kind::NetBandwidth && (rule_.keys & bit(kKeyOn)) &&
            ((rule_.dir == Direction::Send && !(rule_.ops & kOnSend)) ||
             (rule_.dir == Direction::Recv && !(rule_.ops & kOnRecv))))
            return fail(text, "dir= and on= name different directions: the rule never fires");
        if (rule_.kind == Kind::NetDns && !(rule_.keys & bit(kKeyError)) &&
            !(rule_.keys & bit(kKeyDelay)))
            rule_.code = EAI_AGAIN;
        return true;
    }

    bool parse(std::string_view text) {
        // Rules travel as C strings (the environment, the segment): a NUL or
        // another control character inside one would cut or garble it.
        for (char c : text)
            if ((unsigned char)c < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r')
                return fail("rule", "control character in the rule text");
        size_t used = 0; // bytes written to rule_.text
        bool first = true;
        while (true) {
            while (!text.empty() && (text[0] == ' ' || text[0] == '\t' || text[0] == '\n'))
                text.remove_prefix(1);
            if (text.empty()) break;
            // A token ends at white space outside quotes: sql='INSERT INTO t*'.
            size_t end = 0;
            char quote = 0;
            for (; end < text.size(); ++end) {
                char c = text[end];
                if (quote) {
                    if (c == quote) quote = 0;
                } else if (c == '\'' || c == '"') {
                    quote = c;
                } else if (c == ' ' || c == '\t' || c == '\n') {
                    break;
                }
            }
            std::string_view token(text.data(), end);
            text.remove_prefix(end);
            if (quote) return fail(token, "unterminated quote");

            if (used + token.size() + 2 > sizeof rule_.text) return fail(token, "rule too long");

            if (first) {
                spec_ = find_kind(token);
                if (!spec_)
                    return fail(token, "unknown fault kind (mem.fail, mem.limit, mem.delay, "
                                       "mem.ballast, net.*, db.*: see docs/rules.md)");
                set_defaults();
                first = false;
            } else {
                size_t eq = token.find('=');
                if (eq == token.npos || eq == 0) return fail(token, "expected KEY=VALUE");
                std::string_view key(token.data(), eq);
                std::string_view value(token.data() + eq + 1, token.size() - eq - 1);
                if (value.size() >= 2 && (value[0] == '\'' || value[0] == '"') &&
                    value.back() == value[0])
                    value = std::string_view(value.data() + 1, value.size() - 2);
                RuleKey k = kKeyCount;
                for (unsigned i = 0; i < kKeyCount; ++i)
                    if (key == kKeyNames[i]) k = RuleKey(i);
                if (k == kKeyCount) return fail(token, "unknown key");
                if (!((kCommonKeys | spec_->keys) & bit(k)))
                    return fail(token, "this key does not apply to this kind of fault");
                if (rule_.keys & bit(k)) return fail(token, "key given twice");
                if (value.empty()) return fail(token, "empty value");
                if (!parse_value(k, token, value)) return false;
                rule_.keys |= bit(k);
                rule_.text[used++] = ' ';
            }
            memcpy(rule_.text + used, token.data(), token.size());
            used += token.size();
            rule_.text[used] = 0;
        }
        if (first) return fail("", "empty rule");
        for (unsigned i = 0; i < kKeyCount; ++i)
            if ((spec_->required & bit(RuleKey(i))) && !(rule_.keys & bit(RuleKey(i)))) {
                char what[48];
                size_t n = strlen(kKeyNames[i]);
                memcpy(what, kKeyNames[i], n);
                memcpy(what + n, "= is required", 14);
                return fail(spec_->name, what);
            }
        return check_combinations(rule_.text);
    }

  private:
    Rule& rule_;
    ParseError& err_;
    const KindSpec* spec_ = nullptr;
};

} // namespace

const char* kind_name(Kind k) {
    for (auto& s : kKinds)
        if (s.kind == k) return s.name;
    return "?";
}

Family kind_family(Kind k) {
    for (auto& s : kKinds)
        if (s.kind == k) return s.family;
    return Family::Mem;
}

uint32_t kind_operations(Kind k) {
    switch (k) {
    case Kind::NetDelay:
        return kOnAllNet;
    case Kind::NetTimeout:
        return kOnConnect | kOnRecv;
    case Kind::NetLoss:
    case Kind::NetPartition:
        return kOnConnect | kOnSend | kOnRecv;
    case Kind::NetBandwidth:
    case Kind::NetReset:
    case Kind::NetSlice:
        return kOnSend | kOnRecv;
    case Kind::NetRefuse:
        return kOnConnect;
    case Kind::NetCorrupt:
        return kOnRecv;
    case Kind::DbError:
    case Kind::DbDelay:
        return kOnAllDb;
    default:
        return 0;
    }
}

bool parse_rule(std::string_view text, Rule& out, ParseError& err) {
    memset(&err, 0, sizeof err);
    return Parser(out, err).parse(text);
}

bool parse_rules(std::string_view text, Rule* out, size_t cap, size_t& count, ParseError& err) {
    count = 0;
    memset(&err, 0, sizeof err);
    size_t index = 0;
    while (true) {
        size_t semi = text.npos;
        char quote = 0;
        for (size_t i = 0; i < text.size() && semi == text.npos; ++i) {
            if (quote)
                quote = text[i] == quote ? 0 : quote;
            else if (text[i] == '\'' || text[i] == '"')
                quote = text[i];
            else if (text[i] == ';')
                semi = i;
        }
        std::string_view one(text.data(), semi == text.npos ? text.size() : semi);
        bool blank = true;
        for (char c : one) blank = blank && (c == ' ' || c == '\t' || c == '\n');
        if (!blank) {
            if (count == cap) {
                Parser(out[0], err).fail(one, "too many rules");
                err.rule_index = index;
                count = 0;
                return false;
            }
            if (!Parser(out[count], err).parse(one)) {
                err.rule_index = index;
                count = 0;
                return false;
            }
            ++count;
        }
        ++index;
        if (semi == text.npos) return true;
        text.remove_prefix(semi + 1);
    }
}

} // namespace faultline
