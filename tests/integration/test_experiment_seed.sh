# Seeds (docs/experiments.md `seed`, docs/rules.md "p= draws from a
# per-thread stream seeded from the session seed"): the same program, rules
# and seed give the same injection sequence.
#
# A deterministic single-threaded python3 program makes 300 INSERTs through
# its sqlite3 module and logs which ones failed ("database is locked"). The
# experiment file arms `db.error rc=BUSY on=step p=0.3 sql='INSERT*'` for
# the whole run (top-level rules: armed before the program starts, so every
# insert draws) with seed = 123; the program's exit ends the experiment.
#  - twice with seed 123: the same failure list (about 30% of the calls);
#  - --seed 124 overrides the file: another list, and 124 is what is
#    printed, recorded and reported;
#  - the seed is recorded (sessions.seed) and shown in the report's header
#    (the experiment's table, report --format json);
#  - `faultline run --seed 123 -c FILE.toml` (same program, rules, seed)
#    gives the experiment's list; --seed 124 gives the other one;
#  - a file without seed gets a random one, printed on stderr and recorded:
#    --seed with that number reproduces the run.

source ./net_lib.sh

cat >"$TEST_TMP/seed.py" <<'EOF'
# N INSERTs, one thread, no timing: prints "failed=1,5,..." (the inserts
# that raised "database is locked"), "none" if none did.
import sqlite3, sys
path, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(path, isolation_level=None)
c.execute("PRAGMA journal_mode=MEMORY")
c.execute("CREATE TABLE t(i INTEGER PRIMARY KEY, v TEXT)")
failed = []
for i in range(1, n + 1):
    try:
        c.execute("INSERT INTO t(v) VALUES(?)", ("row%d" % i,))
    except sqlite3.OperationalError as e:
        if "locked" not in str(e):
            raise
        failed.append(i)
print("failed=%s" % (",".join(map(str, failed)) or "none"), flush=True)
EOF

RULE="db.error rc=BUSY on=step p=0.3 sql='INSERT*'"
runs=0

# exp_file SEED-LINE: an experiment file running seed.py into $TEST_TMP/$RUN.*
exp_file() {
    cat <<EOF
name = "seeded"
$1
rules = ["$RULE"]

[target]
command = ["sh", "-c", "exec $PYTHON $TEST_TMP/seed.py $TEST_TMP/$RUN.work.db 300 >$TEST_TMP/$RUN.log"]

[[phase]]
name = "run"
duration = "20s"
EOF
}

# experiment SEED-LINE [ARGS...]: runs a fresh experiment file (bounded);
# sets RUN, EXP_RC, DB; its failure list is in $TEST_TMP/$RUN.log.
experiment() {
    local seedline=$1 name
    shift
    runs=$((runs + 1))
    RUN=$runs
    exp_file "$seedline" >"$TEST_TMP/exp$RUN.toml"
    name=$(new_session)
    NET_SESSIONS+=("$name")
    DB=$TEST_TMP/$RUN.db
    timeout -k 5 40 "$FAULTLINE" experiment "$TEST_TMP/exp$RUN.toml" -s "$name" -o "$DB" "$@" \
        >"$TEST_TMP/$RUN.out" 2>"$TEST_TMP/$RUN.err"
    EXP_RC=$?
}

# failed N: the failure list of run N.
failed() { sed -n 's/^failed=//p' "$TEST_TMP/$1.log"; }

# fraction LIST: failures / 300.
fraction() { "$PYTHON" -c 'import sys; s = sys.argv[1]; print(len(s.split(",")) / 300 if s not in ("", "none") else 0)' "$1"; }

experiment "seed = 123"
r1=$RUN
expect_eq "seed 123, run 1: exit 0" 0 "$EXP_RC"
l1=$(failed "$r1")
check "seed 123, run 1: about 30% of the 300 inserts failed ($(fraction "$l1"))" between 0.2 "$(fraction "$l1")" 0.4
expect_match "seed 123: stderr says seed 123" 'seed 123, recording into' "$(head -1 "$TEST_TMP/$r1.err")"
expect_match "seed 123: the experiment's report shows seed: 123" '^session: .* seed: 123 ' "$(head -1 "$TEST_TMP/$r1.out")"
expect_eq "seed 123: recorded in sessions.seed" "123" "$(sqlite3 "$DB" 'SELECT seed FROM sessions')"
expect_eq "seed 123: report --format json shows it" "123" \
    "$("$FAULTLINE" report -o "$DB" --format json | jq -r '.seed')"
expect_eq "seed 123: one event per failed insert" "$(tr ',' '\n' <<<"$l1" | grep -c .)" \
    "$(sqlite3 "$DB" "SELECT count(*) FROM events WHERE function = 'sqlite3_step'")"

experiment "seed = 123"
r2=$RUN
expect_eq "seed 123, run 2: exit 0" 0 "$EXP_RC"
l2=$(failed "$r2")
check "seed 123, run 2: a failure list ($(fraction "$l2"))" test -n "$l2" -a "$l2" != none
expect_eq "seed 123: the same inserts failed in both runs" "$l1" "$l2"

experiment "seed = 123" --seed 124
r3=$RUN
expect_eq "--seed 124 over the file's 123: exit 0" 0 "$EXP_RC"
l3=$(failed "$r3")
check "--seed 124: about 30% failed ($(fraction "$l3"))" between 0.2 "$(fraction "$l3")" 0.4
check "--seed 124: other inserts failed than with 123" test "$l3" != "$l1"
expect_match "--seed 124: stderr says seed 124" 'seed 124, recording into' "$(head -1 "$TEST_TMP/$r3.err")"
expect_match "--seed 124: the report shows seed: 124" '^session: .* seed: 124 ' "$(head -1 "$TEST_TMP/$r3.out")"
expect_eq "--seed 124: recorded in sessions.seed" "124" "$(sqlite3 "$DB" 'SELECT seed FROM sessions')"

# faultline run --seed N -c FILE.toml: the same rules from the same file.
run_c() {
    timeout -k 5 20 "$FAULTLINE" run --seed "$1" -c "$TEST_TMP/exp1.toml" -o none -- \
        "$PYTHON" "$TEST_TMP/seed.py" "$TEST_TMP/run$1.$RANDOM.db" 300 2>/dev/null | sed -n 's/^failed=//p'
}
expect_eq "run --seed 123 -c FILE.toml: the experiment's seed-123 list" "$l1" "$(run_c 123)"
expect_eq "run --seed 124 -c FILE.toml: the experiment's seed-124 list" "$l3" "$(run_c 124)"

# No seed in the file: a random one, printed and recorded; it reproduces the run.
experiment ""
r4=$RUN
expect_eq "no seed: exit 0" 0 "$EXP_RC"
s4=$(sed -n 's/.*, seed \([0-9]*\), recording into.*/\1/p' "$TEST_TMP/$r4.err")
check "no seed: a seed is printed on stderr ($s4)" test -n "$s4"
expect_eq "no seed: the printed seed is recorded" "$s4" "$(sqlite3 "$DB" 'SELECT seed FROM sessions')"
expect_match "no seed: ... and shown in the report" "^session: .* seed: $s4 " "$(head -1 "$TEST_TMP/$r4.out")"
expect_eq "no seed: report --format json has the exact u64 seed" "$s4" \
    "$("$FAULTLINE" report -o "$DB" --format json | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["seed"])')"
l4=$(failed "$r4")
experiment "" --seed "$s4"
expect_eq "--seed with the printed seed: exit 0" 0 "$EXP_RC"
expect_eq "--seed with the printed seed reproduces the run's failures" "$l4" "$(failed "$RUN")"
experiment ""
s6=$(sed -n 's/.*, seed \([0-9]*\), recording into.*/\1/p' "$TEST_TMP/$RUN.err")
check "no seed again: another random seed ($s4, $s6)" test -n "$s6" -a "$s6" != "$s4"
