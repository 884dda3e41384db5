// A session seen from the controller: its segment, mapped, with the
// questions the commands ask of it.
#pragma once

#include "common/rule.h"
#include "common/segment.h"

#include <cstdint>
#include <string>
#include <vector>

namespace faultline {

// One rule slot as `list` shows it.
struct RuleView {
    unsigned slot;
    uint32_t id;
    std::string name, text, state; // state: armed, pending (start= not reached), retired
    RuleCounters counters;
    double armed_at_s;   // seconds since the session was created
    double retired_at_s; // < 0 when still armed
};

struct ProcessView {
    int32_t pid;
    std::string comm;
    bool client = false; // run --client, role = "client" (and their children)
};

class Session {
  public:
    // Throws cli::Failure naming `command` when the session cannot be used.
    static Session open(const std::string& name, const char* command);
    static Session create(const std::string& name, uint64_t seed, const char* command);
    Session(Session&& other) noexcept : seg_(other.seg_), name_(std::move(other.name_)) {
        other.seg_ = nullptr;
    }
    Session& operator=(Session&&) = delete;
    ~Session() { segment_unmap(seg_); }

    Segment& segment() { return *seg_; }
    const std::string& name() const { return name_; }

    // Arms all or nothing; returns the ids.
    std::vector<uint32_t> arm(std::vector<Rule>& rules, const char* command);
    std::vector<RuleView> rules() const;
    std::vector<ProcessView> processes() const;

  private:
    Session(Segment* seg, std::string name) : seg_(seg), name_(std::move(name)) {}
    Segment* seg_;
    std::string name_;
};

// Parses rule texts (each may hold several rules separated by ';'). Throws
// cli::Failure naming the offending token; nothing is returned partially.
std::vector<Rule> parse_rule_texts(const std::vector<std::string>& texts, const char* command);

struct SessionInfo {
    std::string name;
    bool valid = false;
    std::string problem; // why it cannot be used, when !valid
    bool stale = false;
    unsigned live_processes = 0;
    unsigned armed_rules = 0;
    int32_t controller_pid = 0;
};
std::vector<SessionInfo> list_sessions();

} // namespace faultline
