# An experiment's stdout is the report alone (docs/experiments.md): a probe
# and a target that print on stdout and stderr at every turn do not reach
# it. `faultline experiment X.toml --format json` parses (python3 -m
# json.tool); what they printed is in the log file the experiment names on
# stderr (next to the recording: X.db -> X.log), and nothing of it on
# stdout or stderr.

trap 'cleanup_test KILL' EXIT
cat >"$TEST_TMP/x.toml" <<TOML
[target]
command = ["sh", "-c", "while :; do echo target-out-line; echo target-err-line >&2; sleep 0.05; done"]
[steady_state]
probe = ["sh", "-c", "echo '{not json' probe-out-line; echo probe-err-line >&2"]
every = "100ms"
min_success = 0.5
[[phase]]
name = "warm"
duration = "600ms"
[[phase]]
name = "slow"
duration = "600ms"
rules = ["mem.delay delay=1ms p=1%"]
TOML
name=$(new_session)
"$FAULTLINE" experiment "$TEST_TMP/x.toml" -o "$TEST_TMP/x.db" -s "$name" --format json \
    >"$TEST_TMP/out.json" 2>"$TEST_TMP/err.txt"
rc=$?
check "the experiment exits 0 or 2 (held or inconclusive), not 1 ($rc)" test "$rc" -eq 0 -o "$rc" -eq 2
check "its stdout parses as json (python3 -m json.tool)" "$PYTHON" -m json.tool "$TEST_TMP/out.json" >/dev/null
check "stdout holds nothing the probe or target printed" bash -c "! grep -q -- '-line' '$TEST_TMP/out.json'"
check "stderr neither" bash -c "! grep -q -- '-line' '$TEST_TMP/err.txt'"
expect_match "stderr names the log" "output of its programs and probe goes to $TEST_TMP/x.log" "$(cat "$TEST_TMP/err.txt")"
for what in target-out-line target-err-line probe-out-line probe-err-line; do
    check "the log holds the $what" grep -q "$what" "$TEST_TMP/x.log"
done
probes=$("$PYTHON" -c 'import json,sys; print(sum(w["ops"] for w in json.load(open(sys.argv[1]))["windows"]))' "$TEST_TMP/out.json" 2>&1)
check "the report counted the probe's runs ($probes)" test "${probes:-0}" -ge 8

# Twice into the same recording: the log is appended to, one header each.
"$FAULTLINE" experiment "$TEST_TMP/x.toml" -o "$TEST_TMP/x.db" -s "$name-2" --quiet --format table \
    >"$TEST_TMP/out2.txt" 2>/dev/null
expect_eq "the second run's table starts with the report's header" "session: $name-2" \
    "$(head -1 "$TEST_TMP/out2.txt" | cut -d' ' -f1-2)"
expect_eq "two headers in the log" 2 "$(grep -c '^== experiment ' "$TEST_TMP/x.log")"
