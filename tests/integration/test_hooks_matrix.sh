# Every intercepted function behaves and returns exactly as the original in
# every mode that has no matching rule: the shim preloaded without a session
# (dormant), in a session with nothing armed (idle), recorded (the default of
# `faultline run`), and with non-matching rules of every family armed.
# build/targets/hook_matrix calls each function on success and on real
# failures (EAGAIN, EBADF, ENOTSOCK, ECONNREFUSED, SQLite's syntax and
# constraint errors...) and prints what it got; its output must not change.

MATRIX=$TARGETS/hook_matrix
work=$TEST_TMP/matrix
mkdir -p "$work"

reference=$("$MATRIX" "$work")
check "the matrix runs without the shim" test -n "$reference"

covered=$(tail -1 <<<"$reference" | tr -s ' ' '\n' | grep -v '^covers$' | sort)
listed=$("$FAULTLINE" hooks --json | "$PYTHON" -c 'import json,sys; print("\n".join(sorted(h["function"] for h in json.load(sys.stdin))))')
expect_eq "the matrix calls every function faultline hooks lists" "$listed" "$covered"

same_as_reference() { # MODE OUTPUT
    if [ "$2" = "$reference" ]; then return 0; fi
    diff <(echo "$reference") <(echo "$2") | head -10 | sed 's/^/      /'
    return 1
}

out=$(LD_PRELOAD=$SHIM "$MATRIX" "$work" 2>&1)
check "dormant (preloaded, no session): the same results" same_as_reference dormant "$out"

session=$(new_session)
out=$(LD_PRELOAD=$SHIM FAULTLINE_SESSION=$session "$MATRIX" "$work" 2>&1)
check "idle (a session, nothing armed): the same results" same_as_reference idle "$out"
rm -f "/dev/shm/faultline.$session"

db=$TEST_TMP/matrix.db
out=$(FAULTLINE_DB=$db "$FAULTLINE" run -s "$(new_session)" -- "$MATRIX" "$work" 2>/dev/null)
check "recorded (faultline run's default): the same results" same_as_reference recorded "$out"
# What the recorder counted is what the program did: every operation of the
# list was called, and counted, under its own name.
ops=$("$FAULTLINE" hooks --json | "$PYTHON" -c 'import json,sys; print("\n".join(sorted(h["function"] for h in json.load(sys.stdin) if h["role"] == "operation")))')
counted=$(sqlite3 "$db" "SELECT function FROM samples GROUP BY function HAVING sum(calls) > 0 ORDER BY function" | sort)
missing=$(comm -23 <(echo "$ops") <(echo "$counted") | tr '\n' ' ')
expect_eq "recorded: every operation the matrix made was counted" "" "$missing"

out=$("$FAULTLINE" run -o none -s "$(new_session)" -r 'mem.fail min=1GiB' \
    -r 'net.delay delay=1s peer=*:1' -r 'net.loss p=1 proto=udp peer=10.255.255.1' \
    -r 'db.error rc=BUSY sql=NOMATCH*' -r 'db.io op=write file=*nomatch*' \
    -- "$MATRIX" "$work" 2>&1)
check "non-matching rules of every family: the same results" same_as_reference nonmatching "$out"

out=$(FAULTLINE_DB=$TEST_TMP/matrix2.db "$FAULTLINE" run -s "$(new_session)" -r 'mem.fail min=1GiB' \
    -r 'net.delay delay=1s peer=*:1' -r 'db.error rc=BUSY sql=NOMATCH*' \
    -- "$MATRIX" "$work" 2>/dev/null)
check "non-matching rules, recorded: the same results" same_as_reference nonmatching-recorded "$out"
