// faultline sweep's pure parts: site identity and the shared site table
// (common/site*.h), the rule and reproducer of a site (controller/sweep/plan.h),
// the outcome of a run and the grouping of findings (verdict.h).
#include "common/rule_parser.h"
#include "common/site_table.h"
#include "controller/sweep/plan.h"
#include "controller/sweep/verdict.h"

#include <csignal>
#include <cstdlib>
#include <doctest/doctest.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

using namespace faultline;
using namespace faultline::sweep;

namespace {

int exited(int code) {
    return code << 8; // a wait status, as waitpid writes it
}

Site site(uint64_t id, Hook hook, std::vector<std::string> stack) {
    Site s;
    s.id = id;
    s.hook = hook;
    s.stack = std::move(stack);
    return s;
}

RunResult reached(int status) {
    RunResult r;
    r.ran = true;
    r.injected = 1;
    r.status = status;
    return r;
}

} // namespace

TEST_CASE("a site is its function and frames: the object's name, not its directory") {
    SiteFrame a[2] = {{object_hash("/usr/lib/x86_64-linux-gnu/libc.so.6"), 0x1234},
                      {object_hash("/usr/bin/prog"), 0x99}};
    SiteFrame b[2] = {{object_hash("/lib/x86_64-linux-gnu/libc.so.6"), 0x1234},
                      {object_hash("prog"), 0x99}};
    CHECK(site_hash("malloc", a, 2) == site_hash("malloc", b, 2));
    CHECK(site_hash("malloc", a, 2) != site_hash("calloc", a, 2));
    CHECK(site_hash("malloc", a, 2) != site_hash("malloc", a, 1));
    SiteFrame c[2] = {a[0], {a[1].object, 0x9a}};
    CHECK(site_hash("malloc", a, 2) != site_hash("malloc", c, 2));
    CHECK(site_hash("malloc", nullptr, 0) != 0);
}

TEST_CASE("the site table counts calls per site and keeps the order of first reach") {
    std::string path = "/tmp/faultline-unit-sites-" + std::to_string(getpid());
    SiteTable* t = site_table_create(path.c_str(), 1u << unsigned(Family::Mem));
    REQUIRE(t);
    unsigned fills = 0;
    auto fill = [&](SiteEntry& e) {
        ++fills;
        e.hook = unsigned(Hook::MemMalloc);
        e.depth = 1;
    };
    for (int i = 0; i < 3; ++i) CHECK(site_table_count(*t, 0xbeef, fill));
    CHECK(site_table_count(*t, 0xcafe, fill));
    CHECK(site_table_count(*t, 0xbeef + kMaxSites, fill)); // same bucket, another site
    CHECK(fills == 3);
    site_table_object(*t, 77, "/usr/lib/libx.so");
    site_table_object(*t, 77, "/elsewhere/libx.so"); // entered once
    CHECK(std::string(site_table_object_path(*t, 77)) == "/usr/lib/libx.so");
    CHECK(site_table_object_path(*t, 78) == nullptr);

    SiteTable* again = site_table_map(path.c_str()); // as the controller reads it back
    REQUIRE(again);
    unsigned found = 0;
    for (const SiteEntry& e : again->sites) {
        uint64_t k = e.key.load();
        if (k == 0xbeef) CHECK((e.count.load() == 3 && e.first.load() == 1));
        if (k == 0xcafe) CHECK((e.count.load() == 1 && e.first.load() == 2));
        if (k == 0xbeef + kMaxSites) CHECK(e.first.load() == 3);
        found += k != 0;
    }
    CHECK(found == 3);
    CHECK(again->families == 1u << unsigned(Family::Mem));
    site_table_unmap(again);
    site_table_unmap(t);
    CHECK(site_table_map("/nonexistent/faultline-sites") == nullptr);
    unlink(path.c_str());
}

TEST_CASE("each site is failed the way its function fails, and the rule parses") {
    struct Case {
        Hook hook;
        const char* rule;
    } cases[] = {
        {Hook::MemMalloc, "mem.fail fn=malloc site=00000000000000ab nth=1"},
        {Hook::MemPosixMemalign, "mem.fail fn=posix_memalign site=00000000000000ab nth=1"},
        {Hook::NetConnect, "net.refuse on=connect site=00000000000000ab nth=1"},
        {Hook::NetSendto, "net.reset on=send site=00000000000000ab nth=1"},
        {Hook::NetWritev, "net.reset on=send site=00000000000000ab nth=1"},
        {Hook::NetRecvmsg, "net.reset on=recv site=00000000000000ab nth=1"},
        {Hook::NetRead, "net.reset on=recv site=00000000000000ab nth=1"},
        {Hook::NetGetaddrinfo, "net.dns error=EAI_FAIL site=00000000000000ab nth=1"},
        {Hook::DbOpenV2, "db.error rc=CANTOPEN on=open site=00000000000000ab nth=1"},
        {Hook::DbPrepare16V3, "db.error rc=ERROR on=prepare site=00000000000000ab nth=1"},
        {Hook::DbStep, "db.error rc=IOERR on=step site=00000000000000ab nth=1"},
        {Hook::DbExec, "db.error rc=ERROR on=exec site=00000000000000ab nth=1"},
        {Hook::VfsWrite, "db.io op=write rc=FULL site=00000000000000ab nth=1"},
        {Hook::VfsLock, "db.io op=lock rc=BUSY site=00000000000000ab nth=1"},
    };
    for (const Case& c : cases) {
        std::string rule = failing_rule(site(0xab, c.hook, {}), Mode::Once);
        CHECK(rule == c.rule);
        Rule r;
        ParseError err;
        CHECK_MESSAGE(parse_rule(rule, r, err), rule);
        CHECK(r.site == 0xab);
        CHECK(r.nth == 1);
    }
    CHECK(failing_rule(site(0xab, Hook::MemCalloc, {}), Mode::Persistent) ==
          "mem.fail fn=calloc site=00000000000000ab");
    CHECK(failing_rule(site(0xab, Hook::NetAccept4, {}), Mode::Once).empty());
}

TEST_CASE("the reproducer is one shell line") {
    std::vector<std::string> cmd = {"sqlite3", "my db.sqlite", "it's"};
    CHECK(reproducer("mem.fail site=1 nth=1", cmd, Outcome::Crashed, 2'000'000'000, "faultline") ==
          "faultline run -o none -r 'mem.fail site=1 nth=1' -- sqlite3 'my db.sqlite' 'it'\\''s'");
    CHECK(reproducer("x", {"a"}, Outcome::Hung, 3'000'000'000, "/opt/fl/faultline") ==
          "timeout -k 5 3s /opt/fl/faultline run -o none -r x -- a");
    CHECK(shell_quote("") == "''");
    CHECK(shell_quote("a$b") == "'a$b'");
}

TEST_CASE("outcomes: unreached before all, then hung, sanitizer, crashed, probe") {
    RunResult r;
    CHECK(classify(r) == Outcome::NotRun);
    r = reached(exited(0));
    CHECK(classify(r) == Outcome::Handled);
    r.status = exited(3);
    CHECK(classify(r) == Outcome::Handled); // a changed exit status is handled
    r.status = SIGSEGV;                     // killed by a signal
    CHECK(classify(r) == Outcome::Crashed);
    CHECK(run_signal(r) == SIGSEGV);
    r = reached(exited(1));
    r.crashes.push_back({42, "child", SIGABRT, {}}); // a process of the run died
    CHECK(classify(r) == Outcome::Crashed);
    CHECK(run_signal(r) == SIGABRT);
    r.sanitizer = "x.c:1: runtime error: signed integer overflow";
    CHECK(classify(r) == Outcome::Sanitizer);
    r.timed_out = true;
    CHECK(classify(r) == Outcome::Hung);
    r.injected = 0;
    CHECK(classify(r) == Outcome::Unreached); // nothing was failed: nothing is its doing
    r = reached(exited(0));
    r.probe_ran = true;
    r.probe_status = exited(1);
    CHECK(classify(r) == Outcome::ProbeFailed);
    r.probe_status = exited(0);
    CHECK(classify(r) == Outcome::Handled);
}

TEST_CASE("sanitizer reports are found by their own first line") {
    CHECK(sanitizer_line("hello\nx.c:3:5: runtime error: load of null pointer\nmore") ==
          "x.c:3:5: runtime error: load of null pointer");
    CHECK(sanitizer_line("==1==ERROR: AddressSanitizer: heap-use-after-free on 0x1") ==
          "==1==ERROR: AddressSanitizer: heap-use-after-free on 0x1");
    CHECK(sanitizer_line("==9==ERROR: LeakSanitizer: detected memory leaks").find("Leak") !=
          std::string::npos);
    CHECK(sanitizer_line("error: no such table\nSegmentation fault").empty());
    CHECK(signal_name(SIGSEGV) == "SIGSEGV");
}

TEST_CASE("findings group by failure site and crash site; handled runs are none") {
    Sweep s;
    s.options.command = {"prog"};
    s.timeout_ns = 2'000'000'000;
    s.sites = {site(1, Hook::MemMalloc, {"parse+0x10 (prog)", "main+0x5 (prog)"}),
               site(2, Hook::MemMalloc, {"parse+0x10 (prog)", "load+0x7 (prog)"}),
               site(3, Hook::MemMalloc, {"parse+0x20 (prog)", "main+0x9 (prog)"}),
               site(4, Hook::NetConnect, {"dial+0x3 (prog)"}),
               site(5, Hook::MemCalloc, {"safe+0x1 (prog)"})};
    auto run = [&](size_t i, RunResult r) {
        Run x;
        x.site = i;
        x.rule = failing_rule(s.sites[i], Mode::Once);
        x.result = std::move(r);
        x.outcome = classify(x.result);
        s.runs.push_back(std::move(x));
    };
    RunResult segv = reached(SIGSEGV);
    segv.crashes.push_back({7, "prog", SIGSEGV, {"parse+0x14 (prog)", "main+0x5 (prog)"}});
    run(0, segv);
    run(1, segv); // the same call through another caller, the same crash: one finding
    run(2, segv); // another call: another finding
    RunResult hang = reached(SIGKILL);
    hang.timed_out = true;
    run(3, hang);
    run(4, reached(exited(1))); // handled: not a finding
    std::vector<Finding> f = find(s);
    REQUIRE(f.size() == 3);
    CHECK(f[0].outcome == Outcome::Crashed);
    CHECK(f[0].signal == SIGSEGV);
    CHECK(f[0].runs == std::vector<size_t>{0, 1});
    CHECK(f[0].function == "malloc");
    CHECK(f[0].stack.front() == "parse+0x10 (prog)");
    CHECK(f[0].crash_stack.front() == "parse+0x14 (prog)");
    CHECK(f[0].reproduce ==
          "faultline run -o none -r 'mem.fail fn=malloc site=0000000000000001 nth=1' -- prog");
    CHECK(f[1].runs == std::vector<size_t>{2});
    CHECK(f[2].outcome == Outcome::Hung);
    CHECK(f[2].signal == 0);
    CHECK(f[2].reproduce.rfind("timeout -k 5 2s faultline run", 0) == 0);
}
