# The CLI's surface (README.md "Commands": run's exit status, --json where
# it prints data, exit 0/1/2, errors as faultline: <what>: <why>; static
# binaries refused: docs/pitfalls.md item 17).
#
#  - --help on every command: exit 0, usage on stdout;
#  - unknown command, unknown option, missing values: exit 2 with the
#    error format;
#  - run exits with its command's status, 128+N when killed by signal N,
#    forwards SIGTERM, 127 for a command that does not exist;
#  - the command starts with default signal dispositions: Ctrl-C (SIGINT)
#    and SIGQUIT reach it as they would without faultline;
#  - a static binary is refused with exit 2 and says why;
#  - every --json output parses with python3's json module.

name=$(new_session)
surf_cleanup() {
    [ -n "${sleeper_run:-}" ] && kill -KILL "$sleeper_run" 2>/dev/null
    rm -f "/dev/shm/faultline.$name"
}
trap 'surf_cleanup; cleanup_tmp' EXIT

# -- help and usage errors ---------------------------------------------------------
for c in run enable disable list status sessions gc hooks; do
    out=$("$FAULTLINE" "$c" --help 2>/dev/null)
    rc=$?
    expect_eq "$c --help: exit 0" 0 "$rc"
    expect_match "$c --help: usage on stdout" "^usage: faultline $c" "$out"
    out=$("$FAULTLINE" "$c" -h 2>/dev/null)
    expect_match "$c -h: usage too" "^usage: faultline $c" "$out"
done
out=$("$FAULTLINE" --help)
expect_eq "faultline --help: exit 0" 0 $?
for c in run enable disable list status sessions gc hooks; do
    expect_match "faultline --help lists $c" $'\n'"  $c " "$out"
done

# --version and version: "faultline <version>", exit 0; status --json has it.
out=$("$FAULTLINE" --version)
expect_eq "faultline --version: exit 0" 0 $?
expect_match "faultline --version prints 'faultline <version>'" '^faultline [0-9][0-9A-Za-z.+~-]*$' "$out"
expect_eq "faultline version prints the same" "$out" "$("$FAULTLINE" version)"
expect_match "faultline version --help: usage" "^usage: faultline version" "$("$FAULTLINE" version --help)"
version=${out#faultline }

# usage_error DESC REGEX ARGS...: exit 2, one error line matching REGEX.
usage_error() {
    local what=$1 re=$2 err rc
    shift 2
    err=$("$FAULTLINE" "$@" 2>&1 >/dev/null)
    rc=$?
    expect_eq "$what: exit 2" 2 "$rc"
    expect_match "$what: says why" "$re" "$err"
}
usage_error "no command" '^usage: faultline COMMAND'
usage_error "unknown command" "^faultline: frobnicate: unknown command" frobnicate
usage_error "unknown option (list)" "^faultline: list: unknown option '--frob'" list --frob -s x
usage_error "unknown option (run)" "^faultline: run: unknown option '--frob'" run --frob -- true
usage_error "unknown option (gc)" "^faultline: gc: unknown option '-x'" gc -x
usage_error "option without its value" "^faultline: list: --session needs a value" list -s
usage_error "run without a command" "^faultline: run: no command given" run
usage_error "run without --" "^faultline: run: unexpected 'true'" run true
usage_error "run --seed not a number" "^faultline: run: --seed 'abc'" run --seed abc -- true
usage_error "bad session name" "^faultline: run: session name 'a/b'" run -s a/b -- true
usage_error "list without a session" "^faultline: list: no session" list
usage_error "list of a session that does not exist" "^faultline: list: session '$name': no such session" list -s "$name"
usage_error "disable without ids" "^faultline: disable: " disable -s "$name"

# -- run's exit status -----------------------------------------------------------------
for code in 0 1 42 255; do
    "$FAULTLINE" run -- sh -c "exit $code"
    expect_eq "run exits with the command's status $code" "$code" $?
done
for sig in TERM KILL SEGV ABRT; do
    num=$(kill -l "$sig")
    "$FAULTLINE" run -- sh -c "kill -$sig \$\$" 2>/dev/null
    expect_eq "run exits 128+$num when the command dies of SIG$sig" "$((128 + num))" $?
done
"$FAULTLINE" run -- "$TEST_TMP/no-such-program" 2>/dev/null
expect_eq "run of a missing program: 127" 127 $?
"$FAULTLINE" run -- no-such-command-anywhere 2>/dev/null
expect_eq "run of a command not in PATH: 127" 127 $?

# SIGTERM to faultline run reaches the command; run reports it.
"$FAULTLINE" run -s "$name" -- sleep 30 &
sleeper_run=$!
wait_until pgrep -P "$sleeper_run" -x sleep >/dev/null
sleeper=$(pgrep -P "$sleeper_run" -x sleep)
kill -TERM "$sleeper_run"
for _ in $(seq 1 100); do kill -0 "$sleeper_run" 2>/dev/null || break; sleep 0.05; done
wait "$sleeper_run"
expect_eq "SIGTERM to run: forwarded, run exits 143" 143 $?
sleeper_run=
check "the command is gone" sh -c "! kill -0 ${sleeper:-0} 2>/dev/null"

# The command starts with the signal dispositions it would have without
# faultline: Ctrl-C (SIGINT) and SIGQUIT must still reach it. (Compared with
# the same command run directly, in case this shell was started with
# signals ignored.)
plain=$(grep -E '^SigIgn' /proc/self/status)
under=$("$FAULTLINE" run -- grep -E '^SigIgn' /proc/self/status)
expect_eq "the command ignores the same signals as without faultline" "$plain" "$under"
py='import signal; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)'
expect_eq "python3 installs its KeyboardInterrupt handler as without faultline" \
    "$("$PYTHON" -c "$py")" "$("$FAULTLINE" run -- "$PYTHON" -c "$py")"
sh -c 'kill -INT $$; exit 0'
plain=$?
"$FAULTLINE" run -- sh -c 'kill -INT $$; exit 0'
expect_eq "SIGINT kills the command as without faultline (130)" "$plain" $?

# -- static binaries are refused ---------------------------------------------------------
if [ "$(cc -print-file-name=libc.a)" != libc.a ] &&
    printf 'int main(void) { return 0; }\n' | cc -static -x c -o "$TEST_TMP/static" - 2>/dev/null; then
    err=$("$FAULTLINE" run -- "$TEST_TMP/static" 2>&1)
    expect_eq "static binary: exit 2" 2 $?
    expect_match "static binary: says it is statically linked" \
        "^faultline: run: .*static.* statically linked.*cannot" "$err"
    # Through PATH too.
    err=$(PATH=$TEST_TMP:$PATH "$FAULTLINE" run -- static 2>&1)
    expect_eq "static binary found in PATH: exit 2" 2 $?
else
    echo "    note: no static libc (libc6-dev's libc.a): static-binary refusal not tested"
fi
# A dynamic one is not refused: the same program linked dynamically.
printf 'int main(void) { return 5; }\n' | cc -x c -o "$TEST_TMP/dynamic" -
"$FAULTLINE" run -- "$TEST_TMP/dynamic"
expect_eq "the same program linked dynamically runs (exit 5)" 5 $?

# -- --json parses -------------------------------------------------------------------------
json_ok() { "$PYTHON" -c 'import json, sys; json.load(sys.stdin)'; }
"$FAULTLINE" run -s "$name" -r 'mem.fail min=1GiB name=base' -- sleep 30 &
sleeper_run=$!
wait_until "$FAULTLINE" list -s "$name" >/dev/null 2>&1
check "enable --json parses" json_ok < <("$FAULTLINE" enable -s "$name" --json 'mem.fail min=2GiB name=j1' 'mem.delay delay=1ms min=3GiB')
out=$("$FAULTLINE" enable -s "$name" --json 'mem.fail min=4GiB name=j2')
expect_eq "enable --json: id and name" '4 j2' "$("$PYTHON" -c 'import json, sys; r = json.load(sys.stdin)[0]; print(r["id"], r["name"])' <<<"$out")"
check "list --json parses" json_ok < <("$FAULTLINE" list -s "$name" --json)
n=$("$FAULTLINE" list -s "$name" --json | "$PYTHON" -c 'import json, sys; print(len(json.load(sys.stdin)))')
expect_eq "list --json: 4 rules" 4 "$n"
check "status --json parses" json_ok < <("$FAULTLINE" status -s "$name" --json)
expect_eq "status --json: version" "$version" "$("$FAULTLINE" status -s "$name" --json | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["version"])')"
check "sessions --json parses" json_ok < <("$FAULTLINE" sessions --json)
check "hooks --json parses" json_ok < <("$FAULTLINE" hooks --json)
fns=$("$FAULTLINE" hooks --json | "$PYTHON" -c 'import json, sys; print(" ".join(h["function"] for h in json.load(sys.stdin)))')
expect_match "hooks --json lists malloc" '(^| )malloc( |$)' "$fns"
kill -TERM "$sleeper_run"
wait "$sleeper_run" 2>/dev/null
sleeper_run=
check "the json session is removed" wait_until test ! -e "/dev/shm/faultline.$name"
