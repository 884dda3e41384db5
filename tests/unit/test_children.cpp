// Children: what a child's end means as an exit code, reaping that works
// when faultline's parent ignored SIGCHLD, a waitpid failure that is an
// error and never status 0, and stopping with SIGTERM then SIGKILL.
#include "controller/cli/children.h"

#include "common/segment.h"
#include "controller/cli/cli.h"

#include <csignal>
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace faultline;

namespace {

pid_t start_exiting(int code) {
    pid_t pid = fork();
    if (pid == 0) _exit(code);
    return pid;
}

// A child that ignores SIGTERM (or not) and waits to be killed.
pid_t start_sleeper(bool ignore_term) {
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGTERM, ignore_term ? SIG_IGN : SIG_DFL);
        for (;;) pause();
    }
    return pid;
}

} // namespace

TEST_CASE("exit_code: the child's status, or 128+N when signal N killed it") {
    CHECK(exit_code(W_EXITCODE(0, 0)) == 0);
    CHECK(exit_code(W_EXITCODE(42, 0)) == 42);
    CHECK(exit_code(W_EXITCODE(255, 0)) == 255);
    CHECK(exit_code(W_EXITCODE(0, SIGTERM)) == 143);
    CHECK(exit_code(W_EXITCODE(0, SIGKILL)) == 137);
    CHECK(exit_code(W_EXITCODE(0, SIGSEGV) | WCOREFLAG) == 139); // core dumped
}

TEST_CASE("wait: the real status, from processes that really ended") {
    Children children("test");
    pid_t ok = start_exiting(0), failed = start_exiting(3);
    children.add(ok, Children::Kind::Target);
    children.add(failed, Children::Kind::Target);
    CHECK(exit_code(children.wait(failed)) == 3);
    CHECK(exit_code(children.wait(ok)) == 0);
    pid_t killed = start_sleeper(false);
    children.add(killed, Children::Kind::Target);
    CHECK(!children.poll(killed)); // still running
    kill(killed, SIGKILL);
    CHECK(exit_code(children.wait(killed)) == 137);
}

TEST_CASE("a parent that ignored SIGCHLD: the status is still the child's") {
    signal(SIGCHLD, SIG_IGN); // as inherited through exec from such a parent
    {
        Children children("test");
        pid_t pid = start_exiting(3);
        children.add(pid, Children::Kind::Target);
        CHECK(exit_code(children.wait(pid)) == 3);
    }
    struct sigaction sa;
    sigaction(SIGCHLD, nullptr, &sa);
    bool ignored = sa.sa_handler == SIG_IGN;
    CHECK(ignored); // put back when done
    signal(SIGCHLD, SIG_DFL);
}

TEST_CASE("a child the kernel reaped: an error, never status 0") {
    Children children("test");
    signal(SIGCHLD, SIG_IGN); // behind its back: the kernel reaps
    pid_t pid = start_exiting(3);
    children.add(pid, Children::Kind::Target);
    try {
        children.wait(pid);
        FAIL("wait returned a status for a child it could not wait for");
    } catch (const cli::Failure& f) {
        CHECK(f.code == cli::kCheckFailed);
        CHECK(f.why.find("waiting for process") == 0);
    }
    signal(SIGCHLD, SIG_DFL);
}

TEST_CASE("targets_running: targets only, reaped when they end") {
    Children children("test");
    pid_t probe = start_sleeper(false);
    children.add(probe, Children::Kind::Probe);
    children.add(start_exiting(0), Children::Kind::Target);
    int64_t until = monotonic_ns() + 2'000'000'000;
    while (children.targets_running() && monotonic_ns() < until) usleep(5000);
    CHECK(!children.targets_running()); // the probe runs on
    CHECK(kill(probe, 0) == 0);
    children.stop(1'000'000'000);
    CHECK(kill(probe, 0) != 0); // reaped: no zombie left
}

TEST_CASE("stop: SIGTERM, then SIGKILL for what ignores it after the grace") {
    Children children("test");
    pid_t polite = start_sleeper(false), stubborn = start_sleeper(true);
    children.add(polite, Children::Kind::Target);
    children.add(stubborn, Children::Kind::Target);
    usleep(50'000); // both have set their SIGTERM disposition
    int64_t start = monotonic_ns();
    children.stop(300'000'000);
    int64_t took = monotonic_ns() - start;
    CHECK(took >= 300'000'000);
    CHECK(took < 2'000'000'000);
    CHECK(kill(polite, 0) != 0);
    CHECK(kill(stubborn, 0) != 0);
    CHECK(!children.targets_running());
}
