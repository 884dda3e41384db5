# caller=GLOB (docs/rules.md): the same malloc size requested from two
# functions of an unmodified program; only the calls made from the function
# the glob names fail. Names come from the calling stack (libunwind): a
# function, an object file's path or its name. Target:
# tests/targets/caller_sites.cpp (load_config and load_cache, 4 KiB each).

prog=$TARGETS/caller_sites
run_sites() { "$FAULTLINE" run -o none -r "$1" -- "$prog" 2000; }

expect_eq "caller=load_cache fails load_cache's mallocs only" \
    "config nulls=0 cache nulls=2000" "$(run_sites 'mem.fail min=4KiB max=4KiB caller=load_cache')"
expect_eq "caller=load_conf* fails load_config's only" \
    "config nulls=2000 cache nulls=0" "$(run_sites 'mem.fail min=4KiB max=4KiB caller=load_conf*')"
expect_eq "the executable's name matches both (object file name)" \
    "config nulls=2000 cache nulls=2000" "$(run_sites 'mem.fail min=4KiB max=4KiB caller=caller_sites')"
expect_eq "the executable's path matches both" \
    "config nulls=2000 cache nulls=2000" "$(run_sites "mem.fail min=4KiB max=4KiB caller=$prog")"
expect_eq "a name on no frame fails nothing" \
    "config nulls=0 cache nulls=0" "$(run_sites 'mem.fail min=4KiB max=4KiB caller=no_such_function')"
# The shim's own frames (the malloc hook itself) are not the program's.
expect_eq "the shim's frames do not count (caller=malloc)" \
    "config nulls=0 cache nulls=0" "$(run_sites 'mem.fail min=4KiB max=4KiB caller=malloc')"

# With p= the filter composes: about half of load_cache's, none of load_config's.
out=$(run_sites 'mem.fail min=4KiB max=4KiB caller=load_cache p=0.5')
cache=$(sed -n 's/.*cache nulls=\([0-9]*\)/\1/p' <<<"$out")
expect_match "p=0.5 with caller=: load_config untouched" '^config nulls=0 ' "$out"
check "p=0.5 with caller=: about half of load_cache's fail ($cache of 2000)" \
    test "${cache:-0}" -gt 850 -a "${cache:-0}" -lt 1150

# list: seen counts every 4 KiB call, matched only the stack-filtered ones.
name=$(new_session)
"$FAULTLINE" run -o none -s "$name" -r 'mem.fail min=4KiB max=4KiB caller=load_cache name=c' -- \
    sh -c "$prog 1000 >/dev/null; $FAULTLINE list -s $name --json" >"$TEST_TMP/list.json"
matched=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["matched"])' "$TEST_TMP/list.json" 2>/dev/null)
expect_eq "list: matched = load_cache's calls" 1000 "$matched"

# A python3 program: caller= names a function of the interpreter's C API.
out=$("$FAULTLINE" run -o none -r 'mem.fail min=1MiB caller=PyByteArray_Resize' -- "$PYTHON" -c '
import array
try:
    bytearray(4 << 20); print("bytearray ok")
except MemoryError: print("bytearray MemoryError")
try:
    array.array("b", bytes(4 << 20)); print("array ok")
except MemoryError: print("array MemoryError")' 2>&1)
expect_match "python3: bytearray's allocation fails" "bytearray MemoryError" "$out"
expect_match "python3: another path to the same size does not" "array ok" "$out"

# trace=1: each injection's event carries the calling stack, symbolised by
# the recorder from the live process (function+offset and object).
db=$TEST_TMP/trace.db
"$FAULTLINE" run -o "$db" -r 'mem.fail min=4KiB max=4KiB caller=load_cache times=3 trace=1' -- \
    "$prog" 1000000 >/dev/null
expect_eq "trace=1: three events" 3 "$(sqlite3 "$db" 'SELECT count(*) FROM events')"
expect_eq "each with a backtrace" 3 "$(sqlite3 "$db" 'SELECT count(*) FROM events WHERE backtrace IS NOT NULL')"
bt=$(sqlite3 "$db" 'SELECT backtrace FROM events LIMIT 1')
expect_match "the first frame is load_cache, in the program" '^load_cache\+0x[0-9a-f]+ \(caller_sites\)' "$bt"
expect_match "then main" $'\nmain\\+0x[0-9a-f]+ \\(caller_sites\\)' "$bt"
check "no frame of the shim" bash -c "! grep -q libfaultline <<<\"\$1\"" _ "$bt"
db2=$TEST_TMP/notrace.db
"$FAULTLINE" run -o "$db2" -r 'mem.fail min=4KiB max=4KiB caller=load_cache times=3' -- "$prog" 1000 >/dev/null
expect_eq "without trace=1: no backtrace" 0 "$(sqlite3 "$db2" 'SELECT count(*) FROM events WHERE backtrace IS NOT NULL')"
