# The shim's life across fork and exec (children and exec'd programs join
# the same session unless --no-inherit: README.md "Commands", run;
# docs/pitfalls.md items 5 fork, 6 vfork/posix_spawn/system, 9 exec).
#
#  - No rule: a shell script made of pipelines, subshells and command
#    substitutions prints exactly what it prints without the shim.
#  - A rule: the fault reaches python3 started by bash (pipeline stage,
#    subshell, command substitution, exec), python3's own children
#    (os.fork, subprocess = vfork/posix_spawn + exec, os.posix_spawn,
#    os.system) at any depth, while the stages the rule does not hit work.
#  - --no-inherit: the target itself is faulted; programs it execs carry
#    neither the shim (/proc/PID/maps) nor LD_PRELOAD/FAULTLINE_* and are not
#    faulted; a forked child is not faulted either.

BIG='bytearray(100 << 20)' # 100 MiB: above the 64 MiB threshold below
RULE='mem.fail min=64MiB'

# probe.py prints "ok" or "MemoryError" after trying a 100 MiB allocation.
probe_py="try:
    $BIG
    print('ok')
except MemoryError:
    print('MemoryError')"
probe=$TEST_TMP/probe.py
printf '%s\n' "$probe_py" >"$probe"

# -- no rule: identical output -------------------------------------------------
script=$TEST_TMP/pipes.sh
cat >"$script" <<EOF
set -o pipefail
seq 1 50000 | sort -rn | awk '{ s += \$1 } END { print s }'
printf '%s\n' pear apple fig | tr a-z A-Z | sort | $PYTHON -c 'import sys; print(sys.stdin.read().split())'
echo "sub: \$(seq 1 100 | $PYTHON -c 'import sys; print(sum(map(int, sys.stdin)))')"
( cd / && ls -d usr etc | wc -l )
{ echo b; echo a; } | sort | head -1
$PYTHON -c 'import subprocess, sys; print(subprocess.run(["sh", "-c", "echo child \$((6 * 7))"], capture_output=True, text=True).stdout.strip())'
exec $PYTHON -c 'print(len(bytearray(10 << 20)))'
EOF
plain=$(bash "$script" 2>&1)
plain_rc=$?
shimmed=$("$FAULTLINE" run -- bash "$script" 2>&1)
shimmed_rc=$?
expect_eq "pipelines: exit status without and with the shim" "$plain_rc" "$shimmed_rc"
expect_eq "pipelines: output identical under faultline run, no rule" "$plain" "$shimmed"
check "pipelines: the script did run (non-trivial output)" test "$(printf '%s\n' "$plain" | wc -l)" -eq 7
shimmed=$("$FAULTLINE" run -r 'mem.fail min=1GiB' -- bash "$script" 2>&1)
expect_eq "pipelines: output identical with a rule that matches nothing" "$plain" "$shimmed"

# -- a rule: the fault reaches every child -------------------------------------
out=$("$FAULTLINE" run -r "$RULE" -- bash -c "
seq 1 3 | $PYTHON $probe | sed 's/^/stage: /'
( $PYTHON $probe | sed 's/^/subshell: /' )
echo \"subst: \$($PYTHON $probe)\"
bash -c 'exec $PYTHON $probe' | sed 's/^/exec: /'
seq 1 1000 | sort -rn | head -1 | sed 's/^/sort: /'
" 2>&1)
expect_match "pipeline stage python3 raised MemoryError" $'(^|\n)stage: MemoryError(\n|$)' "$out"
expect_match "python3 in a subshell raised MemoryError" $'(^|\n)subshell: MemoryError(\n|$)' "$out"
expect_match "python3 in \$(...) raised MemoryError" $'(^|\n)subst: MemoryError(\n|$)' "$out"
expect_match "python3 exec'd by a nested bash raised MemoryError" $'(^|\n)exec: MemoryError(\n|$)' "$out"
expect_match "the other stages work (sort | head)" $'(^|\n)sort: 1000(\n|$)' "$out"

children_py=$TEST_TMP/children.py
cat >"$children_py" <<'EOF'
# Runs probe.py (argv[1]) in this process and in children made every way.
import os, subprocess, sys
probe = sys.argv[1]
def here(label):
    print(label, end=" ", flush=True)
    exec(open(probe).read(), {})
    sys.stdout.flush()
here("self:")
pid = os.fork()
if pid == 0:
    here("fork:")
    os._exit(0)
os.waitpid(pid, 0)
r = subprocess.run([sys.executable, probe], capture_output=True, text=True)
print("subprocess:", r.stdout.strip())
r = subprocess.run(["sh", "-c", '"$0" "$1"', sys.executable, probe], capture_output=True, text=True)
print("sh+python3:", r.stdout.strip())
rfd, wfd = os.pipe()
pid = os.posix_spawn(sys.executable, [sys.executable, probe], os.environ,
                     file_actions=[(os.POSIX_SPAWN_DUP2, wfd, 1)])
os.close(wfd)
os.waitpid(pid, 0)
print("posix_spawn:", os.read(rfd, 100).decode().strip())
print("system:", end=" ", flush=True)
os.system(f"{sys.executable} {probe}")
EOF
out=$("$FAULTLINE" run -r "$RULE" -- "$PYTHON" "$children_py" "$probe" 2>&1)
expect_eq "python3 target and all its children see the fault" "self: MemoryError
fork: MemoryError
subprocess: MemoryError
sh+python3: MemoryError
posix_spawn: MemoryError
system: MemoryError" "$out"

out=$("$FAULTLINE" run -- "$PYTHON" "$children_py" "$probe" 2>&1)
expect_eq "no rule: python3 and all its children allocate 100 MiB" "self: ok
fork: ok
subprocess: ok
sh+python3: ok
posix_spawn: ok
system: ok" "$out"

# -- the shim is in every descendant's address space ---------------------------
maps=$("$FAULTLINE" run -- bash -c '
grep -c libfaultline /proc/$$/maps
grep -c libfaultline /proc/self/maps
sh -c "grep -c libfaultline /proc/self/maps"' 2>&1)
expect_eq "inherit: bash, grep and sh+grep map the shim" "$(printf '1\n1\n1')" "$(printf '%s\n' "$maps" | sed 's/^[1-9][0-9]*$/1/')"

# -- --no-inherit ----------------------------------------------------------------
out=$("$FAULTLINE" run --no-inherit -r "$RULE" -- bash -c '
grep -c libfaultline /proc/$$/maps
grep -c libfaultline /proc/self/maps
env | grep -c -E "^FAULTLINE_|^LD_PRELOAD=.*libfaultline"' 2>&1)
lines=$(printf '%s\n' "$out" | sed 's/^[1-9][0-9]*$/1/' | tr '\n' ' ')
expect_eq "--no-inherit: bash maps the shim, grep does not, env is clean" "1 0 0 " "$lines"

out=$("$FAULTLINE" run --no-inherit -r "$RULE" -- "$PYTHON" -c '
import subprocess, sys
exec(open(sys.argv[1]).read(), {})
r = subprocess.run([sys.executable, sys.argv[1]], capture_output=True, text=True)
print("exec:", r.stdout.strip())' "$probe" 2>&1)
expect_eq "--no-inherit: the target is faulted, the program it execs is not" "MemoryError
exec: ok" "$out"

# run --no-inherit: children do not join the session. A forked
# child keeps the shim's code mapped (fork copies the address space) but
# must neither inject nor attach.
out=$("$FAULTLINE" run --no-inherit -r "$RULE" -- "$PYTHON" -c '
import os, sys
pid = os.fork()
if pid == 0:
    print("fork:", end=" ", flush=True)
    exec(open(sys.argv[1]).read(), {})
    sys.stdout.flush()
    os._exit(0)
os.waitpid(pid, 0)' "$probe" 2>&1)
expect_eq "--no-inherit: a forked child is not faulted" "fork: ok" "$out"
