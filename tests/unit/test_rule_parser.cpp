// The rule language parser (docs/rules.md): every key, every kind, every error.
#include "common/rule_parser.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <doctest/doctest.h>
#include <netdb.h>
#include <sqlite3.h>
#include <string>

using namespace faultline;

namespace {

Rule parse_ok(const char* text) {
    Rule r;
    ParseError err;
    bool ok = parse_rule(text, r, err);
    INFO("rule: ", text, " token: ", err.token, " why: ", err.why);
    REQUIRE(ok);
    return r;
}

// Returns the offending token; fails the test if the rule parsed.
std::string parse_bad(const char* text, std::string* why = nullptr) {
    Rule r;
    ParseError err;
    bool ok = parse_rule(text, r, err);
    INFO("rule: ", text);
    CHECK_FALSE(ok);
    CHECK(err.why[0] != 0);
    if (why) *why = err.why;
    return err.token;
}

} // namespace

TEST_CASE("defaults") {
    Rule r = parse_ok("mem.fail");
    CHECK(r.kind == Kind::MemFail);
    CHECK(r.p == 1.0);
    CHECK(r.after == 0);
    CHECK(r.every == 0);
    CHECK(r.nth == 0);
    CHECK(r.times == 0);
    CHECK(r.start_ns == 0);
    CHECK(r.for_ns == 0);
    CHECK(r.ops == 0);
    CHECK(r.min_size == 0);
    CHECK(r.max_size == UINT64_MAX);
    CHECK(r.name[0] == 0);
    CHECK(std::string(r.text) == "mem.fail");
    CHECK(parse_ok("net.timeout").timeout_ns == 30'000'000'000);
    CHECK(parse_ok("net.loss").rto_ns == 200'000'000);
    CHECK(parse_ok("net.refuse").code == ECONNREFUSED);
    CHECK(parse_ok("net.dns").code == EAI_AGAIN);
    CHECK(parse_ok("net.dns delay=1s").code == 0); // slow, not failing
    CHECK(parse_ok("db.io").code == SQLITE_IOERR);
}

TEST_CASE("common keys") {
    Rule r = parse_ok("mem.fail name=oom p=5% after=10 every=3 times=7 start=1s for=2m "
                      "proc=py* trace=0");
    CHECK(std::string(r.name) == "oom");
    CHECK(r.p == doctest::Approx(0.05));
    CHECK(r.after == 10);
    CHECK(r.every == 3);
    CHECK(r.times == 7);
    CHECK(r.start_ns == 1'000'000'000);
    CHECK(r.for_ns == 120'000'000'000);
    CHECK(std::string(r.proc) == "py*");
    CHECK(r.trace == 0);
    CHECK(parse_ok("mem.fail nth=3").nth == 3);
    CHECK(parse_ok("mem.fail trace=1").trace == 1);
    CHECK(std::string(parse_ok("mem.fail caller=*parse*").caller) == "*parse*");
    CHECK(parse_ok("mem.fail site=00f3A9c2e4b16d07").site == 0x00f3a9c2e4b16d07ull);
    CHECK(parse_ok("net.reset site=1 nth=1").site == 1);
    CHECK(parse_ok("db.io op=write rc=FULL site=ffffffffffffffff").site == ~0ull);
    CHECK(parse_ok("mem.fail").site == 0);
}

TEST_CASE("site= is 1 to 16 hexadecimal digits, not 0") {
    std::string why;
    CHECK(parse_bad("mem.fail site=0", &why) == "site=0");
    CHECK(why.find("hexadecimal") != std::string::npos);
    CHECK(parse_bad("mem.fail site=") == "site=");
    CHECK(parse_bad("mem.fail site=12345678901234567") == "site=12345678901234567");
    CHECK(parse_bad("mem.fail site=0x12") == "site=0x12");
    CHECK(parse_bad("mem.fail site=g1") == "site=g1");
}

TEST_CASE("text is kept with spaces normalised") {
    Rule r = parse_ok("  mem.fail\tp=1%   fn=malloc  ");
    CHECK(std::string(r.text) == "mem.fail p=1% fn=malloc");
}

TEST_CASE("memory kinds") {
    Rule r = parse_ok("mem.fail fn=malloc,calloc,posix_memalign min=64MiB max=1GiB");
    CHECK(r.ops == (kFnMalloc | kFnCalloc | kFnPosixMemalign));
    CHECK(r.min_size == 64ull << 20);
    CHECK(r.max_size == 1ull << 30);
    CHECK(parse_ok("mem.fail fn=realloc,reallocarray,aligned_alloc,memalign,valloc,pvalloc").ops ==
          (kFnRealloc | kFnReallocarray | kFnAlignedAlloc | kFnMemalign | kFnValloc | kFnPvalloc));
    CHECK(parse_ok("mem.limit limit=256MiB").amount == 256ull << 20);
    Rule d = parse_ok("mem.delay delay=5ms jitter=1ms");
    CHECK(d.delay_ns == 5'000'000);
    CHECK(d.jitter_ns == 1'000'000);
    CHECK(parse_ok("mem.ballast size=1GiB").amount == 1ull << 30);
}

TEST_CASE("network kinds and filters") {
    Rule r = parse_ok("net.delay delay=200ms jitter=50ms peer=*:5432");
    CHECK(r.delay_ns == 200'000'000);
    CHECK(r.has_peer);
    CHECK(r.peer.family == 0);
    CHECK(r.peer.port == 5432);

    Rule b = parse_ok("net.bandwidth rate=1mbit dir=recv scope=process burst=64KiB "
                      "peer=10.1.0.0/16 proto=tcp on=send,recv lport=8080");
    CHECK(b.rate == doctest::Approx(125'000));
    CHECK(b.dir == Direction::Recv);
    CHECK(b.scope == Scope::Process);
    CHECK(b.burst == 65536);
    CHECK(b.peer.family == 4);
    CHECK(b.peer.prefix == 16);
    uint8_t ten[4] = {10, 1, 0, 0};
    CHECK(memcmp(b.peer.addr, ten, 4) == 0);
    CHECK(b.proto == Proto::Tcp);
    CHECK(b.ops == (kOnSend | kOnRecv));
    CHECK(b.lport == 8080);

    Rule v6 = parse_ok("net.partition peer=[::1]:6379");
    CHECK(v6.peer.family == 6);
    CHECK(v6.peer.prefix == 128);
    CHECK(v6.peer.port == 6379);
    CHECK(v6.peer.addr[15] == 1);
    Rule v6p = parse_ok("net.partition peer=[fd00::]/8:53");
    CHECK(v6p.peer.prefix == 8);
    CHECK(v6p.peer.port == 53);
    CHECK(parse_ok("net.partition peer=[fd00::/8]").peer.prefix == 8);
    CHECK(parse_ok("net.partition peer=127.0.0.1").peer.port == 0);

    CHECK(parse_ok("net.timeout timeout=5s").timeout_ns == 5'000'000'000);
    CHECK(parse_ok("net.loss p=10% proto=udp rto=1s").rto_ns == 1'000'000'000);
    CHECK(parse_ok("net.reset bytes=64KiB lport=8080 times=3").amount == 65536);
    CHECK(parse_ok("net.refuse errno=EHOSTUNREACH").code == EHOSTUNREACH);
    Rule dns = parse_ok("net.dns host=*.internal error=EAI_NONAME delay=2s");
    CHECK(std::string(dns.host) == "*.internal");
    CHECK(dns.code == EAI_NONAME);
    CHECK(dns.delay_ns == 2'000'000'000);
    CHECK(parse_ok("net.slice max=1").max_size == 1);
    CHECK(parse_ok("net.corrupt on=recv").ops == kOnRecv);
}

TEST_CASE("sqlite kinds and filters") {
    Rule e = parse_ok("db.error rc=BUSY on=step sql='INSERT*' file=*.db");
    CHECK(e.code == SQLITE_BUSY);
    CHECK(e.ops == kOnStep);
    CHECK(std::string(e.sql) == "INSERT*");
    CHECK(std::string(parse_ok("db.error rc=BUSY sql=\"INSERT INTO t*\"").sql) == "INSERT INTO t*");
    CHECK(parse_bad("db.error rc=BUSY sql='INSERT") == "sql='INSERT");
    CHECK(std::string(e.file) == "*.db");
    CHECK(parse_ok("db.error rc=SQLITE_IOERR_READ on=open,prepare,step,exec").ops == kOnAllDb);
    CHECK(parse_ok("db.delay delay=500ms jitter=100ms").delay_ns == 500'000'000);
    Rule io = parse_ok("db.io op=read,write,sync,lock,open,truncate rc=FULL");
    CHECK(io.ops == kIoAll);
    CHECK(io.code == SQLITE_FULL);
    CHECK(parse_ok("db.io rc=IOERR_FSYNC").code == SQLITE_IOERR_FSYNC);
    CHECK(parse_ok("db.corrupt file=test.db").kind == Kind::DbCorrupt);
    // The file layer is a family of its own: API calls never "see" its rules.
    CHECK(kind_family(Kind::DbError) == Family::Db);
    CHECK(kind_family(Kind::DbIo) == Family::Vfs);
    CHECK(kind_family(Kind::DbCorrupt) == Family::Vfs);
}

TEST_CASE("errors name the offending token") {
    std::string why;
    CHECK(parse_bad("mem.fial") == "mem.fial");
    CHECK(parse_bad("mem.fail p=2", &why) == "p=2");
    CHECK(why.find("exceed") != std::string::npos);
    CHECK(parse_bad("mem.fail p=x") == "p=x");
    CHECK(parse_bad("mem.fail bogus=1", &why) == "bogus=1");
    CHECK(why == "unknown key");
    CHECK(parse_bad("mem.fail delay=1s", &why) == "delay=1s");
    CHECK(why.find("does not apply") != std::string::npos);
    CHECK(parse_bad("mem.fail p=1 p=2", &why) == "p=2");
    CHECK(why == "key given twice");
    CHECK(parse_bad("mem.fail p") == "p");
    CHECK(parse_bad("mem.fail =1") == "=1");
    CHECK(parse_bad("mem.fail p=") == "p=");
    CHECK(parse_bad("mem.fail fn=mallocx") == "fn=mallocx");
    CHECK(parse_bad("mem.fail min=1XB") == "min=1XB");
    CHECK(parse_bad("mem.fail every=0") == "every=0");
    CHECK(parse_bad("mem.fail nth=0") == "nth=0");
    CHECK(parse_bad("mem.fail times=0") == "times=0");
    CHECK(parse_bad("mem.fail after=-1") == "after=-1");
    CHECK(parse_bad("mem.fail start=10") == "start=10");
    CHECK(parse_bad("mem.fail for=0s") == "for=0s");
    CHECK(parse_bad("mem.fail trace=2") == "trace=2");
    CHECK(parse_bad("mem.fail name=a/b") == "name=a/b");
    CHECK(parse_bad("mem.fail name=123", &why) == "name=123");
    CHECK(parse_bad("mem.limit", &why) == "mem.limit");
    CHECK(why == "limit= is required");
    CHECK(parse_bad("mem.delay") == "mem.delay");
    CHECK(parse_bad("mem.ballast") == "mem.ballast");
    CHECK(parse_bad("net.delay") == "net.delay");
    CHECK(parse_bad("net.bandwidth dir=up rate=1mbit") == "dir=up");
    CHECK(parse_bad("net.bandwidth rate=1mbit scope=host") == "scope=host");
    CHECK(parse_bad("net.bandwidth rate=fast") == "rate=fast");
    CHECK(parse_bad("net.delay delay=1s proto=sctp") == "proto=sctp");
    CHECK(parse_bad("net.delay delay=1s on=listen") == "on=listen");
    CHECK(parse_bad("net.delay delay=1s peer=1.2.3") == "peer=1.2.3");
    CHECK(parse_bad("net.delay delay=1s peer=10.0.0.0/33") == "peer=10.0.0.0/33");
    CHECK(parse_bad("net.delay delay=1s peer=::1") == "peer=::1");
    CHECK(parse_bad("net.delay delay=1s peer=[::1") == "peer=[::1");
    CHECK(parse_bad("net.delay delay=1s peer=*:70000") == "peer=*:70000");
    CHECK(parse_bad("net.delay delay=1s lport=0") == "lport=0");
    CHECK(parse_bad("net.refuse errno=ENOPE") == "errno=ENOPE");
    CHECK(parse_bad("net.dns error=EAI_OOPS") == "error=EAI_OOPS");
    CHECK(parse_bad("net.slice max=0") == "max=0");
    CHECK(parse_bad("db.error") == "db.error");
    CHECK(parse_bad("db.error rc=SLOW") == "rc=SLOW");
    CHECK(parse_bad("db.io rc=CONSTRAINT") == "rc=CONSTRAINT");
    CHECK(parse_bad("db.io op=seek") == "op=seek");
    CHECK(parse_bad("db.error rc=BUSY on=connect") == "on=connect");
    CHECK(parse_bad("db.io sql=x") == "sql=x");
}

TEST_CASE("combinations") {
    CHECK_FALSE(parse_bad("mem.fail nth=3 every=2").empty());
    CHECK_FALSE(parse_bad("mem.fail nth=3 after=2").empty());
    CHECK_FALSE(parse_bad("mem.fail min=2MiB max=1MiB").empty());
    CHECK_FALSE(parse_bad("mem.delay jitter=1ms").empty());
    parse_ok("mem.fail after=5 every=2");
}

TEST_CASE("rule lists are all or nothing") {
    Rule rules[4];
    size_t n = 99;
    ParseError err;
    CHECK(parse_rules("mem.fail p=1%; mem.delay delay=1ms ;; ", rules, 4, n, err));
    CHECK(n == 2);
    CHECK(rules[1].kind == Kind::MemDelay);
    CHECK_FALSE(parse_rules("mem.fail p=1%; mem.delay delay=1", rules, 4, n, err));
    CHECK(n == 0);
    CHECK(err.rule_index == 1);
    CHECK(std::string(err.token) == "delay=1");
    CHECK_FALSE(parse_rules("mem.fail;mem.fail;mem.fail", rules, 2, n, err));
    CHECK(n == 0);
    CHECK(parse_rules("  ", rules, 4, n, err));
    CHECK(n == 0);
}

TEST_CASE("a control character in a rule is refused (found by fuzz_rules)") {
    Rule r;
    ParseError err;
    CHECK_FALSE(parse_rule(std::string_view("mem.fail caller=lo\0ad", 21), r, err));
    CHECK(std::string(err.why) == "control character in the rule text");
    CHECK_FALSE(parse_rule("mem.fail name=a\x01", r, err));
    CHECK(parse_rule("mem.fail\tp=1%\nname=tabs", r, err));
}

TEST_CASE("a rule that can never fire is refused: on= names none of its kind's operations") {
    std::string why;
    CHECK(parse_bad("net.corrupt on=send", &why) == "net.corrupt on=send");
    CHECK(why == "net.corrupt acts on recv only: this on= never fires");
    parse_bad("net.loss on=dns", &why);
    CHECK(why == "net.loss acts on connect, send, recv only: this on= never fires");
    parse_bad("net.refuse on=send,recv", &why);
    CHECK(why == "net.refuse acts on connect only: this on= never fires");
    parse_bad("net.timeout on=accept", &why);
    CHECK(why == "net.timeout acts on connect, recv only: this on= never fires");
    parse_bad("net.bandwidth rate=1mbit dir=send on=recv", &why);
    CHECK(why == "dir= and on= name different directions: the rule never fires");
    // One operation it acts on is enough; without on= every kind can fire.
    CHECK(parse_ok("net.corrupt on=send,recv").ops == (kOnSend | kOnRecv));
    CHECK(parse_ok("net.delay delay=1ms on=dns").ops == kOnDns);
    CHECK(parse_ok("net.bandwidth rate=1mbit dir=recv on=recv").ops == kOnRecv);
    CHECK(parse_ok("db.error rc=BUSY on=open").ops == kOnOpen);
    CHECK(parse_ok("net.corrupt").ops == 0);
}

TEST_CASE("per= says what one decision covers: call, connection (net), statement (db)") {
    CHECK(parse_ok("net.reset").per == Per::Call);
    CHECK(parse_ok("net.reset p=50% per=connection").per == Per::Connection);
    CHECK(parse_ok("net.loss per=call").per == Per::Call);
    CHECK(parse_ok("db.delay delay=200ms per=statement").per == Per::Statement);
    CHECK(parse_ok("db.error rc=BUSY per=statement").per == Per::Statement);
    CHECK(parse_ok("mem.fail per=call").per == Per::Call);
    std::string why;
    CHECK(parse_bad("db.delay delay=1ms per=connection", &why) == "per=connection");
    CHECK(why.find("net kinds") != std::string::npos);
    CHECK(parse_bad("mem.fail per=connection") == "per=connection");
    CHECK(parse_bad("net.dns per=connection") == "per=connection");
    CHECK(parse_bad("net.reset per=statement", &why) == "per=statement");
    CHECK(why.find("db.error") != std::string::npos);
    CHECK(parse_bad("db.io per=statement") == "per=statement");
    CHECK(parse_bad("net.reset per=packet") == "per=packet");
}
