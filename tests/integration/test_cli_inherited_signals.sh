# Inherited signal dispositions (docs/pitfalls.md item 24): a faultline
# started by a parent that ignores SIGCHLD (or SIGPIPE) still reaps its
# target and exits with the target's real status. With SIGCHLD ignored the
# kernel reaps children by itself and waitpid fails with ECHILD: a CLI that
# read that as status 0 would turn every failing test green.
#
#  - under SIGCHLD ignored, run exits 1 for `false`, 3 for `exit 3`, 143 for
#    a target killed by SIGTERM, with and without a recorder;
#  - the CLI itself runs with SIGCHLD and SIGPIPE at their defaults;
#  - the target still starts with the dispositions it would have without
#    faultline (the ignored ones stay ignored for it).

# ignoring SIGNALS CMD...: runs CMD (exec'd by python3) with SIGNALS (e.g.
# "SIGCHLD SIGPIPE") set to SIG_IGN, as a careless parent would leave them.
ignoring() {
    local sigs=$1
    shift
    "$PYTHON" -c '
import os, signal, sys
for name in sys.argv[1].split():
    signal.signal(getattr(signal, name), signal.SIG_IGN)
os.execvp(sys.argv[2], sys.argv[2:])' "$sigs" "$@"
}

ignoring SIGCHLD "$FAULTLINE" run -o none -- false
expect_eq "SIGCHLD ignored: run -- false exits 1" 1 $?
ignoring SIGCHLD "$FAULTLINE" run -o none -- sh -c 'exit 3'
expect_eq "SIGCHLD ignored: run -- sh -c 'exit 3' exits 3" 3 $?
ignoring SIGCHLD "$FAULTLINE" run -o none -- sh -c 'kill -TERM $$'
expect_eq "SIGCHLD ignored: a target killed by SIGTERM: 143" 143 $?
ignoring "SIGCHLD SIGPIPE" "$FAULTLINE" run -o none -- sh -c 'exit 7'
expect_eq "SIGCHLD and SIGPIPE ignored: exit 7" 7 $?
# With a recorder, run waits with WNOHANG between samples: the same answer.
ignoring SIGCHLD "$FAULTLINE" run -o "$TEST_TMP/rec.db" -- sh -c 'exit 3'
expect_eq "SIGCHLD ignored, recording: exits 3" 3 $?
check "SIGCHLD ignored, recording: the session was recorded" \
    test "$(sqlite3 "$TEST_TMP/rec.db" 'select count(*) from sessions')" = 1

# The CLI's own dispositions: SIGCHLD (17) and SIGPIPE (13) not ignored.
# The target reads its parent's (faultline run's) SigIgn mask.
mask=$(ignoring "SIGCHLD SIGPIPE" "$FAULTLINE" run -o none -- \
    sh -c 'sed -n "s/^SigIgn:[[:space:]]*//p" /proc/$PPID/status')
expect_match "faultline's SigIgn mask read" '^[0-9a-f]+$' "$mask"
if [[ $mask =~ ^[0-9a-f]+$ ]]; then
    expect_eq "faultline itself does not ignore SIGCHLD" 0 $(((16#$mask >> 16) & 1))
    expect_eq "faultline itself does not ignore SIGPIPE" 0 $(((16#$mask >> 12) & 1))
fi

# The target: what it would have without faultline.
plain=$(ignoring "SIGCHLD SIGPIPE" grep -E '^SigIgn' /proc/self/status)
under=$(ignoring "SIGCHLD SIGPIPE" "$FAULTLINE" run -o none -- grep -E '^SigIgn' /proc/self/status)
expect_eq "the target ignores what it would ignore without faultline" "$plain" "$under"
plain=$(grep -E '^SigIgn' /proc/self/status)
under=$("$FAULTLINE" run -o none -- grep -E '^SigIgn' /proc/self/status)
expect_eq "nothing ignored by the parent: nothing more ignored by the target" "$plain" "$under"
