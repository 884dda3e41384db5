# Bad experiment files (docs/experiments.md "Keys"): each one is
# refused before anything starts, with exit 2 and one line on stderr,
#     faultline: experiment: FILE:LINE:COLUMN: what
# pointing at the offending node: a TOML syntax error, unknown keys (top
# level, [[phase]]), wrong types, bad durations, a bad rule string inside a
# phase's rules array (the position of that string), both command and
# session, duplicate phase names, a ramp without rules, a negative seed...
# A file without [target] has no node to point at: FILE: no [target].
# Rules that cannot all be armed at once (more than the 63 slots) are bad
# input too: exit 2, and the target is not left running.
# "Before anything starts": the target (`touch MARKER`) never ran, no
# recording was created, no session segment is left.
#
# `faultline run -c FILE.toml` takes the file's top-level rules: a bad one
# is exit 2 with FILE:LINE:COL (and the command never runs); a good one is
# armed, with -r rules added after it: the program sees both faults.

BAD_SESSIONS=()
bad_cleanup() {
    remove_sessions "${BAD_SESSIONS[@]}"
    cleanup_tmp
}
trap bad_cleanup EXIT

MARKER=$TEST_TMP/started
TARGET="[target]
command = [\"touch\", \"$MARKER\"]"

# bad CASE LINE:COL WHAT-REGEX: runs `faultline experiment` on
# $TEST_TMP/CASE.toml (written from stdin); LINE:COL empty for a message
# without a position ("FILE: what").
bad() {
    local case=$1 loc=$2 what=$3 file=$TEST_TMP/$1.toml name rc err prefix
    cat >"$file"
    name=$(new_session)
    BAD_SESSIONS+=("$name")
    timeout -k 5 20 "$FAULTLINE" experiment "$file" -s "$name" -o "$TEST_TMP/$case.db" \
        >"$TEST_TMP/$case.out" 2>"$TEST_TMP/$case.err"
    rc=$?
    err=$(cat "$TEST_TMP/$case.err")
    expect_eq "$case: exit 2" 2 "$rc"
    prefix="faultline: experiment: $file:${loc:+$loc:} "
    expect_eq "$case: one line on stderr, at ${loc:-the file}" "1 $prefix" \
        "$(wc -l <"$TEST_TMP/$case.err") ${err:0:${#prefix}}"
    expect_match "$case: says what is wrong" "$what" "${err:${#prefix}}"
    check "$case: nothing started (no target run, no recording, no segment, no stdout)" \
        test ! -e "$MARKER" -a ! -e "$TEST_TMP/$case.db" -a ! -e "/dev/shm/faultline.$name" \
        -a ! -s "$TEST_TMP/$case.out"
    rm -f "$MARKER"
}

PHASE='[[phase]]
name = "p"
duration = "1s"'

# ---- syntax ------------------------------------------------------------------------

bad syntax 3:20 "expected value or closing '\]', saw comma" <<EOF
name = "syntax"
[target]
command = ["touch",, "$MARKER"]
$PHASE
EOF

bad redefined 2:8 "cannot redefine existing string 'name'" <<EOF
name = "once"
name = "twice"
$TARGET
$PHASE
EOF

# ---- unknown keys ------------------------------------------------------------------

bad unknown-top 2:1 "^unknown key 'colour' in the file \(expected: name, seed, output, rules, target" <<EOF
name = "unknown"
colour = "red"
$TARGET
$PHASE
EOF

bad unknown-phase 10:3 "^unknown key 'colour' in \[\[phase\]\]" <<EOF
$TARGET
[[phase]]
name = "first"
duration = "1s"

[[phase]]
name = "second"
duration = "1s"
  colour = 3
EOF

bad unknown-target 4:1 "^unknown key 'args' in \[target\]" <<EOF
[target]
command = ["touch", "$MARKER"]
inherit = true
args = ["x"]
$PHASE
EOF

bad unknown-steady 5:1 "^unknown key 'min_sucess' in \[steady_state\]" <<EOF
$TARGET
[steady_state]
every = "100ms"
min_sucess = 0.9
$PHASE
EOF

bad unknown-process 5:1 "^unknown key 'roles' in \[\[process\]\] \(expected: command, inherit, shim, role\)" <<EOF
$TARGET
[[process]]
command = ["true"]
roles = "client"
$PHASE
EOF

# ---- a process's role --------------------------------------------------------------

bad role-unknown 6:8 '^process.role .server.: expected "target" or "client"$' <<EOF
$TARGET
[[process]]
command = ["true"]
inherit = false
role = "server"
$PHASE
EOF

bad role-type 5:8 '^process.role: expected a string$' <<EOF
$TARGET
[[process]]
command = ["true"]
role = true
$PHASE
EOF

# A client is seen by the shim: without it, no exchanges, nothing measured.
bad role-client-no-shim 5:8 '^process.role "client" needs the shim, but process.shim is false' <<EOF
$TARGET
[[process]]
command = ["true"]
role = "client"
shim = false
$PHASE
EOF

# ---- types and values --------------------------------------------------------------

bad duration-int 7:12 '^phase.duration: expected a string$' <<EOF
$TARGET
[[phase]]
name = "p"
duration = "1s"
[[phase]]
duration = 5
EOF

bad duration-unit 6:12 "^phase.duration '1 sec': unknown duration unit" <<EOF
$TARGET
[[phase]]
name = "p"
rules = []
duration = "1 sec"
EOF

bad duration-nounit 5:12 "^phase.duration '5': a duration needs a unit" <<EOF
$TARGET
[[phase]]
name = "p"
duration = "5"
EOF

bad every-int 5:9 '^steady_state.every: expected a string$' <<EOF
$TARGET
[steady_state]
probe = ["true"]
every = 100
$PHASE
EOF

bad min-success-range 4:15 '^steady_state.min_success: expected a fraction between 0 and 1$' <<EOF
$TARGET
[steady_state]
min_success = 1.5
$PHASE
EOF

bad inherit-string 4:11 '^target.inherit: expected true or false$' <<EOF
name = "x"
[target]
command = ["touch", "$MARKER"]
inherit = "yes"
$PHASE
EOF

bad seed-negative 2:8 '^seed: expected a whole number >= 0$' <<EOF
name = "seed"
seed = -1
$TARGET
$PHASE
EOF

bad seed-string 1:8 '^seed: expected a whole number >= 0$' <<EOF
seed = "42"
$TARGET
$PHASE
EOF

# ---- rules -------------------------------------------------------------------------

bad rule-in-phase 9:5 "^rule 'db.error rc=NOPE on=step': 'rc=NOPE': unknown SQLite result code" <<EOF
$TARGET
[[phase]]
name = "busy"
duration = "1s"
rules = [
    "db.error rc=BUSY on=step",
    "net.refuse peer=127.0.0.1:9",
    "db.error rc=NOPE on=step",
]
EOF

bad rule-inline 6:22 "^rule 'mem.fial p=0.5': 'mem.fial'" <<EOF
$TARGET
[[phase]]
name = "busy"
duration = "1s"
rules = ["mem.fail", "mem.fial p=0.5"]
EOF

bad rule-top-semicolon 1:22 "^rule 'db.error rc=BUSY; db.error rc=NOPE': 'rc=NOPE'" <<EOF
rules = ["mem.fail", "db.error rc=BUSY; db.error rc=NOPE"]
$TARGET
$PHASE
EOF

bad rules-not-array 5:9 '^phase.rules: expected an array of rule strings$' <<EOF
$TARGET
[[phase]]
name = "p"
rules = "mem.fail"
duration = "1s"
EOF

# ---- structure ---------------------------------------------------------------------

bad no-target "" '^no \[target\]' <<EOF
name = "nothing to run"
$PHASE
EOF

bad command-and-session 3:1 '^\[target\]: give exactly one of command and session$' <<EOF
name = "both"

[target]
command = ["touch", "$MARKER"]
session = "api"
$PHASE
EOF

bad no-phase "" '^no \[\[phase\]\]' <<EOF
$TARGET
EOF

bad duplicate-phase 8:1 "^phase 'load': the name is used twice$" <<EOF
$TARGET
[[phase]]
name = "load"
duration = "1s"
rules = ["mem.fail"]

[[phase]]
name = "load"
duration = "1s"
EOF

bad no-duration 7:1 "^phase 'second': duration is required$" <<EOF
$TARGET
[[phase]]
name = "first"
duration = "1s"

[[phase]]
name = "second"
EOF

bad ramp-no-rules 6:8 '^phase.ramp: the phase has no rules to ramp$' <<EOF
$TARGET
[[phase]]
name = "ramp"
duration = "2s"
ramp = { p = [0.0, 1.0], steps = 5 }
EOF

bad ramp-steps 7:34 '^phase.ramp.steps: expected a whole number, 2 to 1000$' <<EOF
$TARGET
[[phase]]
name = "ramp"
duration = "2s"
rules = ["mem.fail"]
ramp = { p = [0.0, 1.0], steps = 1 }
EOF

bad ramp-p 7:14 '^phase.ramp.p: expected \[FROM, TO\]$' <<EOF
$TARGET
[[phase]]
name = "ramp"
duration = "2s"
rules = ["mem.fail"]
ramp = { p = [0.5], steps = 3 }
EOF

# More rules than the session's 63 slots hold at once: 40 whole-run rules
# and a phase of 40. Each array is valid alone; together they cannot be
# armed. That is bad input too: exit 2 (not 1, "deviated"), with the
# reason, and nothing left behind: the target is not left running and the
# session's segment is removed.
"$PYTHON" - "$TEST_TMP/slots.toml" "$PYTHON" "$TEST_TMP/slots-target" <<'EOF'
import sys
path, python, token = sys.argv[1:4]
top = ", ".join('"mem.fail min=1GiB name=w%d"' % i for i in range(40))
phase = ", ".join('"mem.fail min=2GiB name=p%d"' % i for i in range(40))
open(path, "w").write('''rules = [%s]
[target]
command = ["%s", "-c", "import time; time.sleep(30)", "%s"]
[[phase]]
name = "many"
duration = "1s"
rules = [%s]
''' % (top, python, token, phase))
EOF
name=$(new_session)
BAD_SESSIONS+=("$name")
timeout -k 5 20 "$FAULTLINE" experiment "$TEST_TMP/slots.toml" -s "$name" -o "$TEST_TMP/slots.db" \
    >"$TEST_TMP/slots.out" 2>"$TEST_TMP/slots.err"
expect_eq "80 rules for 63 slots: exit 2" 2 $?
expect_match "80 rules for 63 slots: says so (63)" '63' "$(cat "$TEST_TMP/slots.err")"
sleep 0.3
check "80 rules for 63 slots: the target is not left running" not_running "$TEST_TMP/slots-target"
check "80 rules for 63 slots: no session segment is left" test ! -e "/dev/shm/faultline.$name"
# The target above, if it was left running (its command line holds our
# temporary directory: no other process matches).
for pid in $(pgrep -f "$TEST_TMP/slots-target"); do kill "$pid"; done

# A file that does not exist: no position, exit 2, nothing started.
name=$(new_session)
BAD_SESSIONS+=("$name")
"$FAULTLINE" experiment "$TEST_TMP/missing.toml" -s "$name" -o "$TEST_TMP/missing.db" \
    >/dev/null 2>"$TEST_TMP/missing.err"
expect_eq "missing file: exit 2" 2 $?
expect_match "missing file: named" "^faultline: experiment: $TEST_TMP/missing.toml: " "$(cat "$TEST_TMP/missing.err")"

# ---- faultline run -c --------------------------------------------------------------

cat >"$TEST_TMP/prog.py" <<'EOF'
# 6 INSERTs and 2 UPDATEs through python3's sqlite3 module; prints which
# ones failed with "database is locked".
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("CREATE TABLE t(i INTEGER PRIMARY KEY, v TEXT)")
def run(sql, n):
    failed = []
    for i in range(1, n + 1):
        try:
            c.execute(sql, (i,))
        except sqlite3.OperationalError as e:
            if "locked" not in str(e):
                raise
            failed.append(i)
    return ",".join(map(str, failed)) or "none"
ins = run("INSERT INTO t(v) VALUES(?)", 6)
upd = run("UPDATE t SET v = 'x' WHERE i = ?", 2)
print("insert_failed=%s update_failed=%s" % (ins, upd))
EOF

cat >"$TEST_TMP/run-bad.toml" <<'EOF'
# rules for faultline run -c
rules = [
    "db.error rc=BUSY on=step",
    "db.delay delay=fast",
]
EOF
"$FAULTLINE" run -c "$TEST_TMP/run-bad.toml" -o none -- touch "$MARKER" >"$TEST_TMP/run-bad.out" 2>&1
expect_eq "run -c with a bad rule: exit 2" 2 $?
expect_match "run -c with a bad rule: FILE:LINE:COL of that rule's string" \
    "^faultline: run: $TEST_TMP/run-bad.toml:4:5: rule 'db.delay delay=fast'" "$(cat "$TEST_TMP/run-bad.out")"
check "run -c with a bad rule: the command never ran" test ! -e "$MARKER"

printf '[target]\ncommand = ["true"]\n' >"$TEST_TMP/run-norules.toml"
"$FAULTLINE" run -c "$TEST_TMP/run-norules.toml" -o none -- touch "$MARKER" >"$TEST_TMP/run-norules.out" 2>&1
expect_eq "run -c with a file without rules: exit 2" 2 $?
expect_match "run -c with a file without rules: says so" "run-norules.toml: no top-level 'rules'" \
    "$(cat "$TEST_TMP/run-norules.out")"
check "run -c with a file without rules: the command never ran" test ! -e "$MARKER"

# A good file: an experiment file whose top-level rules are taken (the rest
# is ignored), plus a -r rule after them.
cat >"$TEST_TMP/run-good.toml" <<EOF
name = "kept next to the program"
rules = ["db.error rc=BUSY on=step sql='INSERT*' times=3"]
$TARGET
[[phase]]
name = "ignored by run"
duration = "1h"
EOF
out=$(timeout -k 5 20 "$FAULTLINE" run -c "$TEST_TMP/run-good.toml" -o none -- "$PYTHON" "$TEST_TMP/prog.py" \
    "$TEST_TMP/good.db" 2>"$TEST_TMP/run-good.err")
expect_eq "run -c GOOD.toml: the program exits 0" 0 $?
expect_eq "run -c GOOD.toml: the program sees the file's rule (first 3 inserts fail), nothing else" \
    "insert_failed=1,2,3 update_failed=none" "$out"
out=$(timeout -k 5 20 "$FAULTLINE" run -c "$TEST_TMP/run-good.toml" -r "db.error rc=BUSY on=step sql='UPDATE*'" \
    -o none -- "$PYTHON" "$TEST_TMP/prog.py" "$TEST_TMP/good2.db" 2>"$TEST_TMP/run-good2.err")
expect_eq "run -c GOOD.toml -r RULE: the program exits 0" 0 $?
expect_eq "run -c GOOD.toml -r RULE: both the file's rule and -r's are armed" \
    "insert_failed=1,2,3 update_failed=1,2" "$out"
out=$(timeout -k 5 20 "$FAULTLINE" run -o none -- "$PYTHON" "$TEST_TMP/prog.py" "$TEST_TMP/good3.db" 2>&1)
expect_eq "without -c the same program sees no fault" "insert_failed=none update_failed=none" "$out"
