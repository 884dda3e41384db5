// The recorder: drains a session's event and outcome rings and samples its
// counters into a RecordingDb (docs/recording.md). Runs inside `faultline
// run` (while the target runs) and `faultline record`. It only reads the
// segment and /proc: the target never waits for it.
#pragma once

#include "controller/record/recording_db.h"
#include "controller/record/symbolizer.h"

#include "common/segment.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace faultline {

struct RecorderOptions {
    std::string path;                // the SQLite file
    int64_t sample_ns = 100'000'000; // counter samples
    std::string command;             // what was started, for the sessions row
};

// Where a recording goes: `output` (-o) when given, else $FAULTLINE_DB, else
// ./faultline.db. "none" means nowhere (for the callers that allow it). An
// empty -o is refused (exit 2, naming `command`): it is an unset variable,
// not a file.
std::string recording_path(const std::optional<std::string>& output, const char* command);

class Recorder {
  public:
    // Claims the session's recorder role (throws cli::Failure naming
    // `command` when another live process records it) and opens the file.
    Recorder(Segment& seg, const RecorderOptions& opt, const char* command);
    ~Recorder(); // finishes if finish() was not called

    // Drains the rings; samples and commits when a sample is due. Call
    // every few milliseconds. Never throws: a database error is reported
    // once on stderr and recording stops (the target is not affected).
    // True when records were left in the ring: poll again without sleeping.
    bool poll();
    // A last drain and sample, then the session row is closed.
    void finish();

    int64_t poll_interval_ns() const { return 5'000'000; }

    // A process that faultline reaped (run, experiment): its exact end, now.
    // `comm` as /proc had it before the reaping ("" when not read); a
    // client's (target false) is no target's death.
    void process_ended(int32_t pid, const std::string& comm, int wait_status, bool target = true,
                       bool stopped = false);
    // From now on, processes that end were stopped by faultline (the end of
    // a run or an experiment), not deaths.
    void stopping() { stopping_ = true; }
    // The rules `ids`, just armed, continue the window of those before them
    // (an experiment's next ramp step or phase): recorded as joined.
    void continue_window(const std::vector<uint32_t>& ids) {
        joining_.insert(ids.begin(), ids.end());
    }

  private:
    struct RuleTrack {
        uint64_t word = 0; // state word last seen
        uint32_t id = 0;
        bool recorded = false, retired = false;
    };

    double seconds(int64_t mono_ns) const;
    bool drain(); // true: cut short when a sample was due, records left
    void track_rules();
    void sample();
    void sample_processes(double t);
    void calibrate_call_clock(int64_t now);
    bool drain_exchanges();
    void flush();        // commit, then free what was stored in the rings
    void release_read(); // free in the rings what was read (and committed)
    uint64_t dropped_outcomes() const;
    void failed(const char* what);
    void record_pause(const OutcomeRecord& o);
    void note_exit(int32_t pid, const std::string& comm, double t, std::optional<int> wait_status,
                   bool target, bool stopped, bool reaped);

    Segment& seg_;
    RecorderOptions opt_;
    std::unique_ptr<RecordingDb> db_;
    bool ok_ = true, finished_ = false, in_tx_ = false;
    int64_t next_sample_ns_ = 0;
    RuleTrack rules_[kMaxRules];
    std::unique_ptr<ThreadTotals> prev_, cur_;
    uint64_t prev_errors_[kMaxHooks] = {}, prev_injected_[kMaxHooks] = {};
    // The rings' read cursors: read, stored, not yet released (flush()).
    uint64_t events_read_ = 0, outcomes_read_ = 0, exchanges_read_ = 0;
    // A record claimed and never published (its writer killed or stopped
    // between the two) would block its ring for good: given up after a
    // second, and counted as dropped.
    struct StuckWatch {
        uint64_t at = ~uint64_t(0); // none: the ring was read to its head
        int64_t since_ns = 0;
        template <class Ring> void check(Ring& ring, uint64_t& read) {
            if (ring.head.load(std::memory_order_acquire) == read) {
                at = ~uint64_t(0); // the next record claimed starts the clock afresh
                return;
            }
            int64_t now = monotonic_ns();
            if (read != at) {
                at = read;
                since_ns = now;
            } else if (now - since_ns > 1'000'000'000) {
                ring.skip_stuck(read);
            }
        }
    };
    StuckWatch events_stuck_, outcomes_stuck_, exchanges_stuck_;
    // The time-stamp counter against CLOCK_MONOTONIC when recording began
    // (common/tsc.h); tsc0_ 0: not used, or calibrated already.
    uint64_t tsc0_ = 0;
    int64_t tsc_mono0_ = 0;
    // The session's processes seen alive at the last sample, and those whose
    // end is recorded.
    struct Alive {
        std::string comm;
        unsigned long long start_ticks = 0;
    };
    std::map<int32_t, Alive> alive_;
    // pid -> how its end was learned: 0 gone (status unknown), 1 a zombie
    // sampled, 2 reaped by faultline (exact, with its role)
    std::map<int32_t, int> ended_;
    bool stopping_ = false;
    std::set<uint32_t> joining_; // rule ids to record as joined
    Symbolizer symbols_;
    uint32_t next_pause_id_ = 1'000'000;                         // pauses' ids in the rules table
    std::map<std::tuple<int32_t, int64_t>, std::string> traces_; // (tid, t_ns) → backtrace
};

} // namespace faultline
