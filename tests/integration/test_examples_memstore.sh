# The chaos scenarios of examples/experiments/ run end to end on memstore
# (examples/memstore), as examples/run-all runs them:
#
# (a) one scenario per family, each about 15 s: 03-db-query-timeout,
#     07-net-network-timeout, 13-mem-cache-eviction. Each runs with
#     `faultline experiment FILE --format json` and must exit 0 (every
#     tolerance its file states held), and its report is checked against
#     the file itself: the windows are the file's phases (a baseline until
#     the first phase with rules, then one window per run of touching
#     phases with rules; boundaries within 0.5 s of the phases' sums), the
#     fault window injected something and had operations (the load
#     generator's exchanges: it runs as a client; its marks in the files
#     that keep --mark), its success rate and recovery time are within the
#     file's min_success and max_recovery, its verdict is "held".
# (b) 01-db-transient-connection against memstore --fragile (no retries,
#     no fallbacks; `run-service.sh -- --fragile`) must deviate: exit 1,
#     the fault window "deviated", its success rate below min_success.
#
# The files are run from copies in $TEST_TMP whose ports (18180, 18181)
# are moved to 18380, 18381, so that this test and a run of examples/run-all
# do not collide; nothing else is changed. The interpreter on PATH is
# $PYTHON (the scenarios' 5 s baselines need a python3 that starts fast).

mkdir -p "$TEST_TMP/bin"
ln -s "$PYTHON" "$TEST_TMP/bin/python3"
export PATH="$TEST_TMP/bin:$ROOT/build:$PATH"
export FAULTLINE

# copy_scenario NAME [SERVER_ARG]: examples/experiments/NAME.toml into
# $TEST_TMP/NAME.toml with the test's ports; SERVER_ARG (e.g. --fragile)
# is added to the server's arguments (after run-service.sh's `--`).
copy_scenario() {
    local src=$ROOT/examples/experiments/$1.toml dst=$TEST_TMP/$1${2:+-${2#--}}.toml
    sed -e 's/18180/18380/g' -e 's/18181/18381/g' "$src" >"$dst"
    if [ -n "${2:-}" ]; then
        "$PYTHON" - "$dst" "$2" <<'EOF'
import re, sys
path, arg = sys.argv[1], sys.argv[2]
text = open(path).read()
# The [target] command: add the argument after run-service.sh's "--", or
# start a "--" section.
m = re.search(r'(\[target\]\s*\ncommand = \[)([^\]]*)\]', text)
items = m.group(2)
items = items.replace('"--",', f'"--", "{arg}",', 1) if '"--",' in items else items + f', "--", "{arg}"'
text = text[:m.start()] + m.group(1) + items + "]" + text[m.end():]
open(path, "w").write(text)
EOF
    fi
    echo "$dst"
}

# run_scenario FILE: runs it (at most 60 s), json into FILE.json; sets RC.
run_scenario() {
    local file=$1
    (cd "$ROOT" && timeout -k 5 60 "$FAULTLINE" experiment "$file" -o "${file%.toml}.db" \
        --format json --quiet >"${file%.toml}.json" 2>"${file%.toml}.err")
    RC=$?
}

# check_report FILE EXPECTED: one check per line the checker prints.
check_report() {
    py_checks - "$1" "$2" <<'EOF'
import json, os, sys, tomllib

toml_path, expected = sys.argv[1], sys.argv[2]
name = os.path.basename(toml_path)
with open(toml_path, "rb") as f:
    x = tomllib.load(f)
try:
    report = json.load(open(toml_path[:-5] + ".json"))
except ValueError as e:
    print(f"0 {name}: the report is json ({e})")
    sys.exit()

def secs(text):
    for unit, k in (("ms", 1e-3), ("us", 1e-6), ("s", 1.0), ("m", 60.0)):
        if text.endswith(unit):
            return float(text[:-len(unit)]) * k
    raise ValueError(text)

def say(ok, what):
    print(f"{1 if ok else 0} {name}: {what}")

# The windows the phases make: touching phases with rules (or a pause) join.
expected_windows, t = [], 0.0
for ph in x["phase"]:
    d = secs(ph["duration"])
    if ph.get("rules") or ph.get("pause"):
        end = t + (secs(ph["pause"]) if ph.get("pause") and not ph.get("rules") else d)
        if expected_windows and abs(expected_windows[-1][1] - t) < 1e-9:
            expected_windows[-1][1] = end
        else:
            expected_windows.append([t, end])
    t += d
windows = report["windows"]
say(len(windows) == 1 + len(expected_windows),
    f"{len(windows) - 1} fault window(s), as the phases make ({len(expected_windows)})")
say(abs(windows[0]["start_s"]) < 0.5 and expected_windows
    and abs(windows[0]["end_s"] - expected_windows[0][0]) < 0.5,
    f"baseline {windows[0]['start_s']:.2f}-{windows[0]['end_s']:.2f} s is 0-{expected_windows[0][0]:g} s (+-0.5)")
for w, (a, b) in zip(windows[1:], expected_windows):
    say(abs(w["start_s"] - a) < 0.5 and abs(w["end_s"] - b) < 0.5,
        f"window {w['name']} {w['start_s']:.2f}-{w['end_s']:.2f} s is the phases' {a:g}-{b:g} s (+-0.5)")

main = max(windows[1:], key=lambda w: w["injected"])
steady = x.get("steady_state", {})
say(main["injected"] > 0, f"window {main['name']} injected {main['injected']} (> 0)")
# The load generator is a client (its exchanges are the operations), or
# marks (--mark, shim = false) where the point is lost data.
marks = any("--mark" in p["command"] for p in x.get("process", []))
source = "outcomes" if marks else "exchanges"
say(main["ops"] >= 50, f"window {main['name']} has {main['ops']} operations ({source}; >= 50)")
say(report["source"] == source, f"operations are the load generator's {'marks' if marks else 'exchanges'} (source {report['source']})")
rate = main["success_rate"]
if "min_success" in steady:
    low = rate is not None and rate >= steady["min_success"]
    if expected == "held":
        say(low, f"success rate {rate} >= min_success {steady['min_success']}")
    else:
        say(rate is not None and not low, f"success rate {rate} < min_success {steady['min_success']}")
if "max_recovery" in steady and expected == "held":
    rec = main["recovery_s"]
    say(rec is not None and rec <= secs(steady["max_recovery"]),
        f"recovery {rec} s <= max_recovery {steady['max_recovery']}")
say(main["verdict"] == expected, f"window {main['name']} verdict {main['verdict']} ({expected})")
EOF
}

check "memstore's test ports 18380, 18381 are free" bash -c '! { (exec 3<>/dev/tcp/127.0.0.1/18380) || (exec 3<>/dev/tcp/127.0.0.1/18381); } 2>/dev/null'

# (a) one scenario per family holds.
for scenario in 03-db-query-timeout 07-net-network-timeout 13-mem-cache-eviction; do
    file=$(copy_scenario "$scenario")
    run_scenario "$file"
    expect_eq "$scenario: faultline experiment exits 0 (held)" 0 "$RC"
    check_report "$file" held
    check "$scenario: memstore stopped with the experiment" wait_until bash -c '! pgrep -f "server[.]py --port 18380" >/dev/null'
    [ "$RC" = 0 ] || sed 's/^/        /' "${file%.toml}.err" | tail -5
done

# (b) the fragile service deviates where the resilient one holds.
file=$(copy_scenario 01-db-transient-connection --fragile)
check "the fragile copy passes --fragile to server.py" grep -q '"--", "--fragile"' "$file"
run_scenario "$file"
expect_eq "01-db-transient-connection --fragile: faultline experiment exits 1 (deviated)" 1 "$RC"
check_report "$file" deviated
check "fragile: memstore stopped with the experiment" wait_until bash -c '! pgrep -f "server[.]py --port 18380" >/dev/null'
