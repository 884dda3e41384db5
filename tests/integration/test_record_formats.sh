# `faultline report --format table|json|csv|svg|html` on one recorded
# session with a fault window (docs/metrics.md "Formats"), and report's
# input errors (README.md "Commands": exit 2, "faultline: report: ..." on
# stderr).
#
# The session: python3's sqlite3 module inserting ~100 rows a second under
# `faultline run`, with db.error rc=BUSY p=0.5 armed live for ~1 s. Each
# format must say the same thing: json has docs/metrics.md's keys and types
# (and no keys beyond those and the ones docs/metrics.md adds), csv one row
# per json window with the same figures, svg is well-formed XML with the
# three series and the fault window drawn, html holds the table and the svg.

trap cleanup_test EXIT

cat >"$TEST_TMP/dbloop.py" <<'EOF'
import os, sqlite3, sys, time
path, log, stop = sys.argv[1], sys.argv[2], sys.argv[3]
c = sqlite3.connect(path, isolation_level=None)
c.execute("PRAGMA synchronous=OFF")
c.execute("CREATE TABLE IF NOT EXISTS t(i INTEGER PRIMARY KEY, v TEXT)")
out = open(log, "w", buffering=1)
deadline = time.monotonic() + 30
while not os.path.exists(stop) and time.monotonic() < deadline:
    try:
        c.execute("INSERT INTO t(v) VALUES('x')")
        out.write("ok\n")
    except sqlite3.OperationalError:
        out.write("fail\n")
    time.sleep(0.01)
EOF

name=$(new_session)
TEST_SESSIONS+=("$name")
db=$TEST_TMP/rec.db
log=$TEST_TMP/loop.log
"$FAULTLINE" run -s "$name" -o "$db" -- "$PYTHON" "$TEST_TMP/dbloop.py" "$TEST_TMP/work.db" "$log" \
    "$TEST_TMP/stop" >"$TEST_TMP/run.out" 2>&1 &
run=$!
TEST_PIDS+=("$run")
check "sqlite loop started under faultline run" wait_until lines_at_least "$log" 1
sleep 0.8
"$FAULTLINE" enable -s "$name" "db.error rc=BUSY p=0.5 on=step name=busy" >/dev/null
check "enable db.error p=0.5" test $? -eq 0
sleep 1
"$FAULTLINE" disable -s "$name" busy
sleep 1.2
touch "$TEST_TMP/stop"
wait_pid "$run" 10
expect_eq "faultline run exits 0" 0 "$WAIT_RC"

for f in table json csv svg html; do
    "$FAULTLINE" report -o "$db" --format "$f" >"$TEST_TMP/report.$f" 2>"$TEST_TMP/report.$f.err"
    expect_eq "report --format $f exits 0" 0 $?
    expect_eq "report --format $f: nothing on stderr" "" "$(cat "$TEST_TMP/report.$f.err")"
done

cat >"$TEST_TMP/check.py" <<'EOF'
import csv, json, re, sys, xml.etree.ElementTree as ET
d = sys.argv[1]
def chk(cond, what): print(("1 " if cond else "0 ") + what)
num = (int, float)

# json: the core keys and their types (docs/metrics.md "Formats")
r = json.load(open(d + "/report.json"))
top = {"session": str, "seed": int, "dropped_events": int, "windows": list}
for k, t in top.items():
    v = r.get(k)
    chk(k in r and isinstance(v, t) and not isinstance(v, bool),
        "json: %s is a %s (%s)" % (k, t.__name__, "%d items" % len(v) if isinstance(v, list) else repr(v)))
keys = {"name": (str,), "start_s": num, "end_s": num, "rules": (list,), "injected": (int,),
        "success_rate": num + (type(None),), "recovery_s": num + (type(None),),
        "throughput_change": num + (type(None),), "p50_ms": num + (type(None),),
        "p99_ms": num + (type(None),), "verdict": (str, type(None))}
w = r.get("windows", [])
chk(len(w) == 2, "json: two windows (%d)" % len(w))
for i, x in enumerate(w):
    missing = [k for k in keys if k not in x]
    wrong = [k for k in keys if k in x and (isinstance(x[k], bool) or not isinstance(x[k], keys[k]))]
    chk(not missing and not wrong, "json: window %d has every core key with its type (missing %s, wrong %s)" % (i, missing, wrong))
# Nothing beyond the core keys and the others docs/metrics.md lists.
doc_top = {"source", "families", "end_s", "judged", "leaks", "exits"}
doc_window = {"rule_ids", "families", "ops", "failed", "ops_per_s", "goodput_per_s", "dropped", "open", "exits", "failures", "deviations"}
extra = set(r) - set(top) - doc_top
chk(not extra and doc_top <= set(r),
    "json: exactly docs/metrics.md's top-level keys (unexpected %s, missing %s)" % (sorted(extra), sorted(doc_top - set(r))))
for i, x in enumerate(w):
    extra = set(x) - set(keys) - doc_window
    chk(not extra and doc_window <= set(x),
        "json: window %d has exactly docs/metrics.md's keys (unexpected %s, missing %s)" % (i, sorted(extra), sorted(doc_window - set(x))))
if len(w) == 2:
    b, f = w
    chk(b["name"] == "baseline" and b["rules"] == [], "json: baseline first, without rules")
    chk(f["name"] == "busy" and f["rules"] == ["db.error rc=BUSY p=0.5 on=step name=busy"],
        "json: the fault window names its rule text (%r)" % f["rules"])
    chk(f["families"] == ["db"] and b["families"] == r.get("families"),
        "json: the db window is measured in db calls, the baseline in the session's (%r, %r)" % (f["families"], b["families"]))
    chk(0 <= b["start_s"] <= b["end_s"] <= f["start_s"] < f["end_s"] <= r.get("end_s", 1e9),
        "json: windows in time order (%s..%s, %s..%s)" % (b["start_s"], b["end_s"], f["start_s"], f["end_s"]))
    chk(f["injected"] > 0 and f["success_rate"] is not None and 0.2 < f["success_rate"] < 0.8,
        "json: the fault window injected and half failed (%d, %r)" % (f["injected"], f["success_rate"]))
    chk(isinstance(f["p50_ms"], num) and isinstance(f["p99_ms"], num) and f["p50_ms"] <= f["p99_ms"],
        "json: p50 <= p99 (%r, %r)" % (f["p50_ms"], f["p99_ms"]))
    chk(all(x["verdict"] is None for x in w), "json: verdict null without tolerances")

# csv: a header, then one row per window, the same figures as json
rows = list(csv.reader(open(d + "/report.csv", newline="")))
chk(len(rows) == 1 + len(w), "csv: a header and one row per window (%d rows, %d windows)" % (len(rows), len(w)))
if rows:
    h = rows[0]
    chk(all(k in h for k in ("name", "start_s", "end_s", "injected", "success_rate", "recovery_s",
                             "throughput_change", "p50_ms", "p99_ms", "verdict")),
        "csv: header names the window figures (%s)" % ",".join(h))
    chk(all(len(x) == len(h) for x in rows), "csv: every row has as many fields as the header")
    for i, (x, jw) in enumerate(zip(rows[1:], w)):
        row = dict(zip(h, x))
        def same(k):
            a, b = row.get(k, ""), jw.get(k)
            return (a == "" and b is None) or (b is not None and a != "" and abs(float(a) - b) < 1e-6)
        chk(row.get("name") == jw["name"] and int(row.get("injected", -1)) == jw["injected"] and
            all(same(k) for k in ("start_s", "end_s", "success_rate", "recovery_s", "throughput_change")),
            "csv: row %d has the json window's figures (%s)" % (i + 1, ",".join(x)))

# svg: well-formed, three series with data, the fault window shaded
try:
    root = ET.parse(d + "/report.svg").getroot()
    chk(root.tag.endswith("svg"), "svg: parses as XML, root <svg> (%s)" % root.tag)
    ids = {e.get("id"): e for e in root.iter() if e.get("id")}
    for sid in ("series-ops", "series-success", "series-latency"):
        chk(sid in ids, "svg: an element with id %s" % sid)
    chk("series-ops" in ids and ids["series-ops"].get("d", "").count("L") >= 3,
        "svg: the ops/s series has points")
    chk("series-success" in ids and ids["series-success"].get("d", "").count("L") >= 3,
        "svg: the success series has points")
    shaded = [e for e in root.iter() if "fault-window" in (e.get("class") or "").split()]
    chk(len(shaded) == len(w) - 1, "svg: one element of class fault-window per fault window (%d)" % len(shaded))
except ET.ParseError as e:
    chk(False, "svg: parses as XML (%s)" % e)

# html: the table and the svg
h = open(d + "/report.html").read()
chk("<table" in h and "<svg" in h, "html: holds a <table and an <svg")
chk(h.lstrip().lower().startswith("<!doctype html") and h.rstrip().endswith("</html>"), "html: a whole document")
chk(all(">%s<" % x["name"] in h for x in w), "html: the table names every window")

# table: the seed's shape
t = open(d + "/report.table").read()
chk(re.search(r"\|\s*Scenario\s*\|\s*Success Rate\s*\|\s*Recovery Time\s*\|\s*Throughput Impact\s*\|", t),
    "table: Scenario | Success Rate | Recovery Time | Throughput Impact")
chk(all(x["name"] in t for x in w), "table: a row per window")
EOF
py_checks "$TEST_TMP/check.py" "$TEST_TMP"

# Input errors: exit 2, "faultline: report: ..." on stderr, nothing on stdout.
# bad_input DESCRIPTION PATTERN ARGS...
bad_input() {
    local what=$1 pattern=$2 rc
    shift 2
    "$FAULTLINE" report "$@" >"$TEST_TMP/bad.out" 2>"$TEST_TMP/bad.err"
    rc=$?
    expect_eq "$what: exit 2" 2 "$rc"
    expect_match "$what: error on stderr" "$pattern" "$(cat "$TEST_TMP/bad.err")"
    expect_eq "$what: nothing on stdout" "" "$(cat "$TEST_TMP/bad.out")"
}
bad_input "--format pdf" '^faultline: report: .*pdf' -o "$db" --format pdf
bad_input "missing database" "^faultline: report: .*$TEST_TMP/nosuch.db" -o "$TEST_TMP/nosuch.db"
check "the missing database was not created" test ! -e "$TEST_TMP/nosuch.db"
bad_input "unknown session" "^faultline: report: .*nosuch" -o "$db" -s nosuch
bad_input "-s and --last together" '^faultline: report: ' -o "$db" -s "$name" --last
bad_input "--min-success 1.5" '^faultline: report: .*min-success' -o "$db" --min-success 1.5
bad_input "--max-recovery soon" '^faultline: report: .*max-recovery' -o "$db" --max-recovery soon
echo "not a database" >"$TEST_TMP/junk.db"
bad_input "a file that is not SQLite" '^faultline: report: ' -o "$TEST_TMP/junk.db"
sqlite3 "$TEST_TMP/other.db" 'CREATE TABLE x(a)'
bad_input "an SQLite file that is not a recording" '^faultline: report: ' -o "$TEST_TMP/other.db"
