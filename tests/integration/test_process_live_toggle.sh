# Live toggling from another process while 4 threads are busy in malloc
# (README.md "Commands", enable/disable: a change is seen by the target's
# next intercepted call; docs/pitfalls.md item 7 lock-free reads of the rule
# table).
#
# busy_alloc counts its calls and NULLs per epoch; the test starts a new
# epoch ("mark") right before each enable and right after each disable
# returns. Three cycles of: mark → enable → the target reports its first
# NULL (or 50 ms pass) → disable (by id, by name, --all) → mark. Then, from the target's own exact
# counts: every "enabled" epoch saw NULLs, and every epoch that began after
# disable returned saw calls and not a single NULL.
# Target: tests/targets/busy_alloc.cpp (stdin commands, 60 s alarm).

name=$(new_session)
t_pid=
toggle_cleanup() {
    [ -n "$t_pid" ] && kill "$t_pid" 2>/dev/null
    rm -f "/dev/shm/faultline.$name"
}
trap 'toggle_cleanup; cleanup_tmp' EXIT

coproc T { exec "$FAULTLINE" run -s "$name" -- "$TARGETS/busy_alloc" 4 2>&1; }
# faultline run's pid (busy_alloc is its child) and the pipes, copied: bash
# forgets T_PID and closes T's fds once it has reaped the coprocess.
t_pid=$T_PID
exec {to_t}>&"${T[1]}" {from_t}<&"${T[0]}"

# say LINE: sends a command to the target.
say() { printf '%s\n' "$1" >&"$to_t"; }
# hear: the target's next line (5 s at most), or "(nothing)".
hear() {
    local line
    read -r -t 5 -u "$from_t" line || line="(nothing)"
    printf '%s\n' "$line"
}

expect_eq "busy_alloc ready" ready "$(hear)"
epoch=0
on_epochs=()
off_epochs=()
for cycle in 1 2 3; do
    say mark
    epoch=$((epoch + 1))
    expect_eq "cycle $cycle: mark before enable" "epoch $epoch" "$(hear)"
    on_epochs+=("$epoch")
    id=$("$FAULTLINE" enable -s "$name" "mem.fail min=3333 max=3333 name=toggle$cycle")
    if [ "$cycle" = 1 ]; then
        # The first NULL is announced by the worker that got it.
        expect_eq "cycle 1: the target saw its first NULL after enable" \
            "first-null epoch=$epoch" "$(hear)"
    else
        sleep 0.05
    fi
    # By id, by name, then --all.
    case $cycle in
    1) what=$id ;;
    2) what=toggle2 ;;
    3) what=--all ;;
    esac
    check "cycle $cycle: disable $what" "$FAULTLINE" disable -s "$name" "$what"
    say mark
    epoch=$((epoch + 1))
    expect_eq "cycle $cycle: mark after disable returned" "epoch $epoch" "$(hear)"
    off_epochs+=("$epoch")
    sleep 0.2 # the workers keep allocating with the rule disarmed
done
say quit
report=$(hear)
expect_match "final report" '^e0 calls=' "$report"
wait "$t_pid" 2>/dev/null
rc=$?
t_pid=
expect_eq "busy_alloc and faultline run exit 0" 0 "$rc"

count() { grep -o "e$1 calls=[0-9]* nulls=[0-9]*" <<<"$report" | sed "s/^e$1 calls=\([0-9]*\) nulls=\([0-9]*\)$/\\$2/"; }
for e in "${on_epochs[@]}"; do
    n=$(count "$e" 2)
    check "epoch $e (rule armed): the target saw NULLs (${n:-none})" test "${n:-0}" -gt 0
done
for e in "${off_epochs[@]}"; do
    c=$(count "$e" 1)
    check "epoch $e (after disable): the target kept allocating (${c:-none} calls)" test "${c:-0}" -gt 1000
    expect_eq "epoch $e (after disable): no NULL at all" 0 "$(count "$e" 2)"
done
check "faultline run removed its session" test ! -e "/dev/shm/faultline.$name"
