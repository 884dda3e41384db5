# faultline sweep (docs/sweep.md) on a target with planted error paths in
# every family, some handled and some not (tests/targets/planted_errors.cpp):
# every unhandled one is found with the outcome the program really has, no
# handled one is, and each finding's reproducer does it again. Threads,
# forks, a site reached only in the profile, --budget and Ctrl-C.

PLANTED=$TARGETS/planted_errors
trap cleanup_test EXIT

# findings FILE.json: one line per finding: outcome signal function frame1 | frame2 | crash1
findings() {
    "$PYTHON" - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for f in d["findings"]:
    short = lambda frame: frame.replace("(anonymous namespace)::", "")
    s = [short(x) for x in f["stack"]] + ["", ""]
    c = short((f["crash_stack"] or [""])[0])
    print(f["outcome"], f["signal"] or "-", f["function"], s[0], "|", s[1], "|", c)
PY
}

# --- every family, handled and unhandled ------------------------------------
cd "$TEST_TMP" || exit 1
"$FAULTLINE" sweep -o "$TEST_TMP/sweep.db" --format json -- "$PLANTED" basic \
    >"$TEST_TMP/basic.json" 2>"$TEST_TMP/basic.err"
expect_eq "findings: exit 1" 1 $?
check "the report is json" "$PYTHON" -c 'import json, sys; json.load(open(sys.argv[1]))' "$TEST_TMP/basic.json"
found=$(findings "$TEST_TMP/basic.json")
has() { grep -qE "$1" <<<"$found"; }
check "a NULL written through: crashed SIGSEGV" \
    has '^crashed SIGSEGV malloc \S*unchecked_malloc\(\)'
check "getaddrinfo's result used after a failure: crashed SIGSEGV" \
    has '^crashed SIGSEGV getaddrinfo \S*unchecked_dns\(\)'
check "a column read after a failed step: crashed SIGSEGV" \
    has '^crashed SIGSEGV sqlite3_step \S*unchecked_column\('
check "a wait for a peer never reached: hung" \
    has '^hung - connect \S*connect_to\(.*\| \S*waits_forever\('
check "signed overflow on an error path: sanitizer" \
    has '^sanitizer - malloc \S*overflows_on_failure\(\)'
# A handled failure is no finding. (Findings inside libc, reached from a
# handled call, are libc's own: its frames come first.)
check "no handled site is a finding" \
    bash -c '! grep -E "^\S+ \S+ \S+ (checked_malloc|checked_dns|checked_step)\(|\| checked_connect\(" <<<"$1"' _ "$found"
check "the crash stack starts where it crashed" \
    has '^crashed SIGSEGV malloc \S*unchecked_malloc\(\)\+0x[0-9a-f]+ \(planted_errors\) .*\| \S*unchecked_malloc\(\)'
check "every finding's reproducer, run as printed by the sweep, did it again" "$PYTHON" -c '
import json, sys
sys.exit(not all(f["reproduced"] is True for f in json.load(open(sys.argv[1]))["findings"]))' "$TEST_TMP/basic.json"
check "progress and the plan went to stderr" grep -q 'sweep: .* sites, .* runs' "$TEST_TMP/basic.err"

# Each planted finding's reproducer, run as printed, does it again.
"$PYTHON" - "$TEST_TMP/basic.json" >"$TEST_TMP/repro.txt" <<'PY'
import json, sys
for f in json.load(open(sys.argv[1]))["findings"]:
    if "(planted_errors)" in f["stack"][0]:
        print(f["outcome"], f["reproduce"])
PY
expect_eq "five planted findings to reproduce" 5 "$(wc -l <"$TEST_TMP/repro.txt")"
while read -r outcome line; do
    PATH=$ROOT/build:$PATH bash -c "$line" >/dev/null 2>"$TEST_TMP/repro.err"
    rc=$?
    case $outcome in
    crashed) expect_eq "reproduced: $line" 139 "$rc" ;;
    hung) expect_eq "reproduced (timeout 124): $line" 124 "$rc" ;;
    sanitizer) check "reproduced (runtime error): $line" grep -q 'runtime error' "$TEST_TMP/repro.err" ;;
    esac
done <"$TEST_TMP/repro.txt"

runs=$("$PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["runs"]), len(d["findings"]), d["counts"]["handled"])' "$TEST_TMP/basic.json")
read -r nruns nfindings nhandled <<<"$runs"
check "most sites are handled ($nhandled of $nruns)" test "$nhandled" -gt $((nruns / 2))
expect_eq "the recording has every run" "$nruns" "$(sqlite3 "$TEST_TMP/sweep.db" 'SELECT count(*) FROM sweep_runs')"
expect_eq "the recording has every finding" "$nfindings" \
    "$(sqlite3 "$TEST_TMP/sweep.db" 'SELECT count(*) FROM sweep_findings')"
check "the recording has the reproducers" \
    bash -c "sqlite3 '$TEST_TMP/sweep.db' 'SELECT reproduce FROM sweep_findings' | grep -q 'site=.* nth=1'"

# The table (default) says the same, with each reproducer on its line.
"$FAULTLINE" sweep -o none -f net -- "$PLANTED" basic >"$TEST_TMP/net.txt" 2>/dev/null
expect_eq "-f net: exit 1" 1 $?
check "-f net: only network findings" \
    bash -c '! grep -qE ": (malloc|sqlite3_step) failed in" "$1" && grep -q ": getaddrinfo failed in .*unchecked_dns" "$1"' _ "$TEST_TMP/net.txt"
check "the table gives reproducers" grep -q "reproduce: .*faultline run -o none -r 'net\." "$TEST_TMP/net.txt"

# --probe: a run that ends without doing its job fails the probe. Here the
# job is a line in out.txt; sqlite3_open failing makes the program give up
# (exit 3) before writing it. -j 1: the runs share the directory.
"$FAULTLINE" sweep -o none -f db -j 1 --probe 'grep -q "basic: done" out.txt && rm out.txt' \
    --format json -- sh -c '"$0" basic >out.txt' "$PLANTED" >"$TEST_TMP/probe.json" 2>/dev/null
found=$(findings "$TEST_TMP/probe.json")
check "--probe: giving up on a failed open fails the probe" \
    has '^probe-failed - sqlite3_open '
check "--probe: a crash is still a crash" has '^crashed SIGSEGV sqlite3_step \S*unchecked_column\('
check "--probe: a handled failure passes it" "$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(not d["counts"]["handled"] >= 2)' "$TEST_TMP/probe.json"

# --mode persistent fails every call from the site on; html is a page.
"$FAULTLINE" sweep -o none -f mem --mode persistent --format html -- "$PLANTED" threads \
    >"$TEST_TMP/persistent.html" 2>/dev/null
expect_eq "persistent: exit 1" 1 $?
check "persistent: the rules fail every call (no nth=)" \
    bash -c 'grep -q "mem.fail fn=malloc site=" "$1" && ! grep -q "nth=1" "$1"' _ "$TEST_TMP/persistent.html"
check "html: a page with the runs' table" grep -q '<table><tr><th>site</th>' "$TEST_TMP/persistent.html"
check "html: the finding is on it" grep -q 'careless_worker' "$TEST_TMP/persistent.html"

# An AddressSanitizer build: its report on the error path is the finding
# (faultline lets ASan start after the shim: verify_asan_link_order=0).
"$FAULTLINE" sweep -o none -f mem --format json -- "$TARGETS/asan_error_path" \
    >"$TEST_TMP/asan.json" 2>/dev/null
expect_eq "asan: exit 1" 1 $?
check "asan: the use after free on the error path is a sanitizer finding" "$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(not any(f["outcome"] == "sanitizer" and "heap-buffer-overflow" in f["detail"]
                 and "work" in f["stack"][0] for f in d["findings"]))' "$TEST_TMP/asan.json"

# A program nobody here wrote: Debian's sqlite3 shell on three statements, its SQLite
# API and file layer swept. SQLite handles every failure: no finding, every
# site reached, and sqlite3 itself says so by its exit status (the handled
# runs that end non-zero print SQLite's own error).
# Each run its own database, as docs/sweep.md shows: the runs share the directory.
"$FAULTLINE" sweep -o none -f db --format json -- sh -c 'd=$(mktemp -d) && sqlite3 "$d/x.db" \
    "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT); INSERT INTO t(b) VALUES (1), (2); SELECT count(*) FROM t;"
    s=$?; rm -r "$d"; exit $s' >"$TEST_TMP/sqlite3.json" 2>/dev/null
expect_eq "sqlite3: nothing found, exit 0" 0 $?
check "sqlite3: every db site was reached and handled, many with sqlite3's own error exit" "$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
runs = d["runs"]
failed = sum(1 for r in runs if r["exit_status"] not in (0, None))
print("      sqlite3:", len(d["sites"]), "sites,", failed, "runs ended non-zero")
sys.exit(not (len(runs) >= 10 and all(r["outcome"] == "handled" and r["injected"] >= 1 for r in runs)
              and failed >= len(runs) // 4))' "$TEST_TMP/sqlite3.json"

# A reproducer in the default, recorded mode (no -o none) does the same.
line=$("$PYTHON" -c '
import json, sys
f = [f for f in json.load(open(sys.argv[1]))["findings"] if "unchecked_malloc" in f["stack"][0]][0]
print(f["reproduce"].replace(" -o none", ""))' "$TEST_TMP/basic.json")
(cd "$TEST_TMP" && FAULTLINE_DB=$TEST_TMP/repro.db bash -c "$line" >/dev/null 2>&1)
expect_eq "a reproducer, recorded: exit 139" 139 $?
check "and the recording has the injection" \
    test "$(sqlite3 "$TEST_TMP/repro.db" 'SELECT count(*) FROM events' 2>/dev/null)" -ge 1

# --- threads and forks ----------------------------------------------------------
"$FAULTLINE" sweep -o none -f mem --format json -- "$PLANTED" threads >"$TEST_TMP/threads.json" 2>/dev/null
found=$(findings "$TEST_TMP/threads.json")
check "threads: the careless thread's malloc crashed" has '^crashed SIGSEGV malloc \S*careless_worker\('
check "threads: the careful threads' mallocs are handled" \
    bash -c '! grep -qE "^\S+ \S+ \S+ worker\(" <<<"$1"' _ "$found"
"$FAULTLINE" sweep -o none -f mem --format json -- "$PLANTED" fork >"$TEST_TMP/fork.json" 2>/dev/null
expect_eq "fork: exit 1 although the parent exits 0" 1 $?
found=$(findings "$TEST_TMP/fork.json")
check "fork: the child's crash is found, with its stack" \
    has '^crashed SIGSEGV malloc \S*child_work\(\).* \| \S*child_work\(\)'
check "fork: its reproducer does it again (in the child)" "$PYTHON" -c '
import json, sys
f = json.load(open(sys.argv[1]))["findings"][0]
sys.exit(not (f["reproduced"] is True and "killed by SIGSEGV" in f["reproducer_ended"]))' "$TEST_TMP/fork.json"

# --- a site the fault run never reaches is unreached, not handled -----------------
rm -f "$TEST_TMP/marker"
"$FAULTLINE" sweep -o none -f mem --format json -- "$PLANTED" once "$TEST_TMP/marker" \
    >"$TEST_TMP/once.json" 2>/dev/null
"$PYTHON" - "$TEST_TMP/once.json" >"$TEST_TMP/once.txt" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
sites = {s["site"]: s for s in d["sites"]}
for r in d["runs"]:
    print(r["outcome"], sites[r["site"]]["stack"][0].replace("(anonymous namespace)::", ""))
print("listed", len(d["unreached"]), d["counts"]["unreached"])
PY
check "the site reached only in the profile is unreached" grep -qE '^unreached \S*first_time_only\(' "$TEST_TMP/once.txt"
check "and never handled" bash -c '! grep -qE "^handled \S*first_time_only\(" "$1"' _ "$TEST_TMP/once.txt"
check "the handled site still is" grep -qE '^handled \S*checked_malloc\(' "$TEST_TMP/once.txt"
check "unreached sites are listed" grep -qE '^listed ([1-9]) \1$' "$TEST_TMP/once.txt"

# --- bounds: --budget, --max-runs, Ctrl-C -------------------------------------------
start=$(date +%s.%N)
"$FAULTLINE" sweep -o none -f mem -j 1 --budget 3s --format json -- "$PLANTED" slow 5 \
    >"$TEST_TMP/budget.json" 2>/dev/null
rc=$?
took=$("$PYTHON" -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
expect_eq "--budget: nothing found, exit 0" 0 "$rc"
check "--budget 3s bounds the sweep ($took s)" between 2.5 "$took" 4.5
check "--budget: stopped by the budget, the rest not run" "$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(not (d["stopped_by"] == "budget" and d["counts"]["not-run"] > 0 and d["counts"]["handled"] >= 1))' "$TEST_TMP/budget.json"
"$FAULTLINE" sweep -o none -f mem --max-runs 2 --format json -- "$PLANTED" slow 3 >"$TEST_TMP/max.json" 2>/dev/null
check "--max-runs 2: two runs" "$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
ran = sum(1 for r in d["runs"] if r["outcome"] != "not-run")
sys.exit(not (ran == 2 and d["stopped_by"] == "max-runs"))' "$TEST_TMP/max.json"

"$FAULTLINE" sweep -o none -f mem -j 1 -- "$PLANTED" slow 5 >"$TEST_TMP/int.txt" 2>"$TEST_TMP/int.err" &
sweep_pid=$!
TEST_PIDS+=("$sweep_pid")
sleep 2.5
kill -INT "$sweep_pid"
start=$(date +%s.%N)
wait_pid "$sweep_pid" 5
took=$("$PYTHON" -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
expect_eq "Ctrl-C with nothing found: exit 130" 130 "$WAIT_RC"
check "Ctrl-C stops the sweep at once (${took} s)" between 0 "$took" 1.5
check "Ctrl-C: the report says what was done" grep -q 'stopped by SIGINT' "$TEST_TMP/int.txt"
check "Ctrl-C: no run of it is left behind" not_running "$PLANTED slow 5"

# --- a clean program, bad input -------------------------------------------------------
"$FAULTLINE" sweep -o none -- true >"$TEST_TMP/true.txt" 2>/dev/null
expect_eq "nothing to find: exit 0" 0 $?
check "nothing to find: said so" grep -q '^no findings' "$TEST_TMP/true.txt"
for bad in "-f disk" "--mode sometimes" "-j 0" "--timeout 0s" "--format xml" "--budget x"; do
    # shellcheck disable=SC2086
    "$FAULTLINE" sweep -o none $bad -- true >/dev/null 2>"$TEST_TMP/bad.err"
    expect_eq "sweep $bad: exit 2" 2 $?
done
"$FAULTLINE" sweep -o none >/dev/null 2>&1
expect_eq "no command: exit 2" 2 $?
"$FAULTLINE" sweep -o none -- sh -c 'kill -SEGV $$' >/dev/null 2>"$TEST_TMP/dies.err"
expect_eq "a program that dies without faults: exit 2" 2 $?
check "and says why" grep -q 'dies without any fault' "$TEST_TMP/dies.err"
