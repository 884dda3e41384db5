// The signals that end a long-running command (SIGINT, SIGTERM, SIGHUP):
// while a StopSignals lives they are caught, the last one is remembered for
// the command's loop to see, and each can be passed on to processes from
// the handler itself (a pause's watchdog, run's target). The dispositions
// it replaced come back with its destructor. One StopSignals at a time: the
// handler's state is the process's.
#pragma once

#include <csignal>
#include <initializer_list>
#include <sys/types.h>

namespace faultline {

class StopSignals {
  public:
    static constexpr unsigned kMaxSignals = 8, kMaxRelays = 16;

    explicit StopSignals(std::initializer_list<int> signals = {SIGINT, SIGTERM, SIGHUP});
    ~StopSignals();
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;

    // The last stop signal received, 0 while none has been.
    int received() const;
    bool requested() const { return received() != 0; }

    // From now on every stop signal is also sent to `pid`, as `as` (0: as
    // itself). With `skip_terminal`, not those the kernel sent (si_code
    // SI_KERNEL: the terminal's Ctrl-C, Ctrl-\ and hangup, which reach its
    // whole foreground group): `pid`, in our group, had them already.
    void relay_to(pid_t pid, int as = 0, bool skip_terminal = false);
    // Before `pid` is reaped: its number may be someone else's next.
    void stop_relaying(pid_t pid);

    // Puts back the dispositions found at construction. Async-signal-safe:
    // a forked child calls it before exec, so that the program starts as it
    // would without faultline (a caught signal would be reset by exec, an
    // ignored one must stay ignored).
    void restore() const;

  private:
    int signals_[kMaxSignals];
    struct sigaction saved_[kMaxSignals];
    unsigned count_ = 0;
};

} // namespace faultline
