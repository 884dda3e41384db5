// The trigger engine (shim/trigger.h): order of evaluation, counters,
// seeding and timing, driven with a fake clock and a fake thread.
#include "common/rule_parser.h"
#include "common/segment.h"
#include "shim/core/trigger.h"

#include <cstring>
#include <doctest/doctest.h>
#include <string>
#include <vector>

using namespace faultline;
using namespace faultline::shim;

namespace {

int64_t g_now = 0;
int64_t fake_clock() {
    return g_now;
}

// A private segment, a thread with its own counter slot, and helpers.
struct Fixture {
    Segment* seg = segment_create_private(42);
    ThreadState ts{};
    const char* comm = "target";

    Fixture() {
        REQUIRE(seg);
        ts.slot = &seg->threads[0];
        seg->threads_used.store(1); // as the shim's claim does
        ts.rng = 1;
        ts.ready = true;
        g_now = 1'000'000'000;
    }
    ~Fixture() { segment_unmap(seg); }

    unsigned arm(const char* text) {
        Rule r;
        ParseError err;
        REQUIRE_MESSAGE(parse_rule(text, r, err), text);
        uint32_t id = 0;
        const char* why = nullptr;
        REQUIRE(segment_arm(seg, &r, 1, &id, why));
        for (unsigned i = 0; i < kMaxRules; ++i)
            if (seg->rules[i].id == id) {
                seg->rules[i].armed_ns = g_now; // on the fake clock
                return i;
            }
        FAIL("armed rule not found");
        return 0;
    }

    // One call of size `size`; returns the slot that injected, or -1.
    // `site`, when given, is the call's failure site.
    int call(size_t size = 64, uint64_t (*site)(Hook) = nullptr) {
        CallContext ctx{ts, comm, fake_clock, nullptr, site, Hook::MemMalloc};
        Injection inj;
        auto matches = [&](const Rule& r, unsigned) {
            return r.kind == Kind::MemFail && size >= r.min_size && size <= r.max_size;
        };
        return pick_rule(*seg, seg->armed[0].load(), ctx, matches, inj) ? int(inj.slot) : -1;
    }

    RuleCounters counters(unsigned slot) { return segment_rule_counters(seg, slot); }
    RuleState state(unsigned slot) { return state_of(seg->rules[slot].state.load()); }
};

} // namespace

TEST_CASE("a plain rule injects every matching call and counts") {
    Fixture f;
    unsigned s = f.arm("mem.fail min=100");
    CHECK(f.call(50) == -1);
    CHECK(f.call(200) == int(s));
    CHECK(f.call(200) == int(s));
    RuleCounters c = f.counters(s);
    CHECK(c.seen == 3);
    CHECK(c.matched == 2);
    CHECK(c.injected == 2);
}

TEST_CASE("nth injects once, on the n-th matching call") {
    Fixture f;
    unsigned s = f.arm("mem.fail nth=3");
    std::vector<int> hits;
    for (int i = 1; i <= 6; ++i)
        if (f.call() >= 0) hits.push_back(i);
    CHECK(hits == std::vector<int>{3});
    CHECK(f.counters(s).matched == 6);
    CHECK(f.counters(s).injected == 1);
}

TEST_CASE("after and every count matching calls only") {
    Fixture f;
    f.arm("mem.fail min=100 after=2 every=3");
    std::vector<int> hits;
    int matching = 0;
    for (int i = 0; i < 40; ++i) {
        bool big = i % 2 == 0; // only every other call matches
        if (big) ++matching;
        if (f.call(big ? 200 : 10) >= 0) hits.push_back(matching);
    }
    // matching calls 1,2 let through; then 5, 8, 11... (every 3rd after 2)
    CHECK(hits == std::vector<int>{5, 8, 11, 14, 17, 20});
}

TEST_CASE("times retires the rule after N injections") {
    Fixture f;
    unsigned s = f.arm("mem.fail times=2");
    CHECK(f.call() >= 0);
    CHECK(f.state(s) == RuleState::Armed);
    CHECK(f.call() >= 0);
    CHECK(f.state(s) == RuleState::Retired);
    CHECK(f.call() == -1);
    CHECK(f.counters(s).injected == 2);
    CHECK((f.seg->armed[0].load() & (1ull << s)) == 0);
}

TEST_CASE("start and for follow the clock") {
    Fixture f;
    unsigned s = f.arm("mem.fail start=1s for=2s");
    CHECK(f.call() == -1); // not active yet: not even seen
    CHECK(f.counters(s).seen == 0);
    g_now += 999'999'999;
    CHECK(f.call() == -1);
    g_now += 1;
    CHECK(f.call() == int(s));
    g_now += 1'999'999'999;
    CHECK(f.call() == int(s));
    g_now += 1;
    CHECK(f.call() == -1); // for= elapsed: retired
    CHECK(f.state(s) == RuleState::Retired);
    CHECK(f.counters(s).injected == 2);
}

TEST_CASE("p draws from the thread's stream: same seed, same sequence") {
    auto run = [](uint64_t seed) {
        Fixture f;
        f.ts.rng = seed;
        f.arm("mem.fail p=10%");
        std::vector<int> hits;
        for (int i = 0; i < 2000; ++i)
            if (f.call() >= 0) hits.push_back(i);
        return hits;
    };
    auto a = run(7), b = run(7), c = run(8);
    CHECK(a == b);
    CHECK(a != c);
    CHECK(a.size() > 140); // 10% of 2000, loosely
    CHECK(a.size() < 260);
}

TEST_CASE("p=0 never injects, and its calls still match") {
    Fixture f;
    unsigned s = f.arm("mem.fail p=0");
    for (int i = 0; i < 100; ++i) CHECK(f.call() == -1);
    CHECK(f.counters(s).matched == 100);
    CHECK(f.counters(s).injected == 0);
}

TEST_CASE("proc filters by process name after the kind's filters") {
    Fixture f;
    unsigned s = f.arm("mem.fail proc=py* min=100");
    CHECK(f.call(200) == -1);
    CHECK(f.counters(s).seen == 1);
    CHECK(f.counters(s).matched == 0);
    f.comm = "python3";
    CHECK(f.call(200) == int(s));
    CHECK(f.call(10) == -1);
}

TEST_CASE("several rules: the first armed that injects wins") {
    Fixture f;
    unsigned a = f.arm("mem.fail min=1000 name=big");
    unsigned b = f.arm("mem.fail name=all");
    CHECK(f.call(2000) == int(a));
    CHECK(f.counters(b).seen == 0); // never reached
    CHECK(f.call(10) == int(b));
    CHECK(f.counters(a).seen == 2);
    CHECK(f.counters(a).matched == 1);
}

TEST_CASE("order: filters before counting, counting before p, p before times") {
    Fixture f;
    // nth counts matching calls only; p=0 makes the n-th call pass; times
    // is then never consumed.
    unsigned s = f.arm("mem.fail min=100 nth=2 p=0 times=1");
    f.call(10);
    f.call(200);
    f.call(200);
    f.call(200);
    CHECK(f.seg->rules[s].ordinal.load() == 3);
    CHECK(f.seg->rules[s].taken.load() == 0);
    CHECK(f.state(s) == RuleState::Armed);
}

TEST_CASE("disarm is seen by the next call") {
    Fixture f;
    unsigned s = f.arm("mem.fail name=x");
    CHECK(f.call() >= 0);
    CHECK(segment_disarm(f.seg, "x") == 1);
    CHECK(f.call() == -1);
    CHECK(f.state(s) == RuleState::Retired);
    CHECK(segment_disarm(f.seg, "x") == 0);
}

TEST_CASE("a re-armed slot starts its counters from zero") {
    Fixture f;
    unsigned s = f.arm("mem.fail name=a");
    for (int i = 0; i < 5; ++i) f.call();
    segment_disarm_all(f.seg);
    // Fill every other slot so that the retired one is reused.
    unsigned s2 = f.arm("mem.fail name=b");
    if (s2 != s) {
        for (unsigned i = 0; i < kMaxRules - 2; ++i) f.arm("mem.fail p=0");
        segment_disarm(f.seg, "b");
        s2 = f.arm("mem.fail name=c");
    }
    CHECK(f.counters(s2).seen == 0);
    CHECK(f.counters(s2).injected == 0);
}

TEST_CASE("arming is all or nothing") {
    Fixture f;
    Rule rules[2];
    ParseError err;
    REQUIRE(parse_rule("mem.fail name=dup", rules[0], err));
    REQUIRE(parse_rule("mem.fail name=dup", rules[1], err));
    uint32_t ids[2];
    const char* why = nullptr;
    CHECK_FALSE(segment_arm(f.seg, rules, 2, ids, why));
    CHECK(f.seg->armed[0].load() == 0);
    CHECK(segment_arm(f.seg, rules, 1, ids, why));
    CHECK_FALSE(segment_arm(f.seg, rules + 1, 1, ids, why)); // name already armed
    CHECK(std::string(why).find("name") != std::string::npos);
}

namespace {
unsigned g_site_asks = 0;
uint64_t site_a(Hook) {
    ++g_site_asks;
    return 0xa;
}
uint64_t site_b(Hook) {
    ++g_site_asks;
    return 0xb;
}
} // namespace

TEST_CASE("site= injects only at its site, and nth= counts that site's calls") {
    Fixture f;
    unsigned s = f.arm("mem.fail site=a nth=2");
    g_site_asks = 0;
    CHECK(f.call(64, site_b) == -1);
    CHECK(f.call(64, site_a) == -1); // the site's first call
    CHECK(f.call(64, site_b) == -1);
    CHECK(f.call(64, site_a) == int(s));
    CHECK(f.call(64, site_a) == -1); // nth=2: once
    CHECK(f.call(64) == -1);         // no site known: never at it
    CHECK(g_site_asks == 5);         // once per call, only for site rules
    RuleCounters c = f.counters(s);
    CHECK(c.seen == 6);
    CHECK(c.matched == 3);
    CHECK(c.injected == 1);
}

TEST_CASE("rules without site= never ask for the call's site") {
    Fixture f;
    f.arm("mem.fail");
    g_site_asks = 0;
    CHECK(f.call(64, site_a) >= 0);
    CHECK(g_site_asks == 0);
}

namespace {
// A connection's memory of decisions, as a socket keeps it.
struct Memo {
    int decided[kMaxRules];
    Memo() {
        for (int& d : decided) d = -1;
    }
    static int recall(void* m, unsigned slot, uint64_t) {
        return static_cast<Memo*>(m)->decided[slot];
    }
    static void remember(void* m, unsigned slot, uint64_t, bool hit) {
        static_cast<Memo*>(m)->decided[slot] = hit;
    }
};
} // namespace

TEST_CASE("per=connection: one draw at a connection's first matching call, kept for its life") {
    Fixture f;
    unsigned s = f.arm("net.reset p=50% per=connection");
    int faulted = 0;
    for (int conn = 0; conn < 400; ++conn) {
        Memo m;
        int first = -1;
        for (int call = 0; call < 10; ++call) {
            CallContext ctx{f.ts, f.comm, fake_clock, nullptr, nullptr, Hook::NetSend};
            ctx.recall = Memo::recall;
            ctx.remember = Memo::remember;
            ctx.memo = &m;
            Injection inj;
            auto matches = [](const Rule&, unsigned) { return true; };
            int hit = pick_rule(*f.seg, f.seg->armed[1].load(), ctx, matches, inj) ? 1 : 0;
            if (call == 0) first = hit;
            CHECK(hit == first); // the same answer for every call of the connection
        }
        faulted += first;
    }
    CHECK(faulted > 160); // 400 draws at 50%: 200 +- 10 (sd), 4 sd either side
    CHECK(faulted < 240);
    CHECK(f.counters(s).injected == uint64_t(faulted) * 10);
}
