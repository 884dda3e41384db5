# mem.ballast enabled live on a running program (docs/rules.md "Memory",
# README.md live control): the target (tests/targets/mem_ballast.cpp)
# allocates a little every 10 ms; its VmRSS, read by this test from
# /proc/PID/status, rises by the ballast size once the rule is enabled and
# falls back after disable. Two ballast rules add up; disabling one gives back
# its share, and only its share, even for a moment. The program's own
# allocations keep succeeding meanwhile.

source ./mem_live.sh

MiB=1024 # VmRSS is in kB
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$LIVE_TARGET/status" 2>/dev/null || echo 0; }
rss_at_least() { [ "$(rss_kb)" -ge "$1" ]; }
rss_at_most() { [ "$(rss_kb)" -le "$1" ]; }

name=$(new_session)
out=$TEST_TMP/ballast.out
if ! start_live "$name" "$out" -- "$TARGETS/mem_ballast"; then
    check "target ready" false
    sed 's/^/      | /' "$out"
    return 0
fi
base=$(rss_kb)
check "baseline VmRSS is small (${base} kB)" test "$base" -lt $((50 * MiB))

"$FAULTLINE" enable -s "$name" 'mem.ballast size=200MiB name=big' >/dev/null
check "enable 200MiB: VmRSS rises by >= 195 MiB" wait_until rss_at_least $((base + 195 * MiB))
sleep 0.2
check "enable 200MiB: VmRSS stays below +230 MiB ($(rss_kb) kB)" rss_at_most $((base + 230 * MiB))

"$FAULTLINE" disable -s "$name" big
check "disable: VmRSS falls back to within 20 MiB of the baseline" wait_until rss_at_most $((base + 20 * MiB))

# Two rules add up; disabling one keeps the other's share.
"$FAULTLINE" enable -s "$name" 'mem.ballast size=100MiB name=b1' 'mem.ballast size=50MiB name=b2' >/dev/null
check "100MiB + 50MiB: VmRSS rises by >= 145 MiB" wait_until rss_at_least $((base + 145 * MiB))
"$FAULTLINE" disable -s "$name" b2
# Watched while it shrinks: b1's share is kept throughout, never given back
# and taken again (the pressure would vanish for a moment).
lowest=$(rss_kb)
for _ in $(seq 1 40); do
    r=$(rss_kb)
    [ "$r" -lt "$lowest" ] && lowest=$r
    [ "$r" -le $((base + 120 * MiB)) ] && break
    sleep 0.005
done
check "disable b2: VmRSS falls to <= +120 MiB" wait_until rss_at_most $((base + 120 * MiB))
for _ in $(seq 1 20); do
    r=$(rss_kb)
    [ "$r" -lt "$lowest" ] && lowest=$r
    sleep 0.01
done
check "disable b2: VmRSS keeps b1's >= 95 MiB all along (lowest ${lowest} kB)" \
    test "$lowest" -ge $((base + 95 * MiB))
"$FAULTLINE" disable -s "$name" --all
check "disable --all: VmRSS back within 20 MiB of the baseline" wait_until rss_at_most $((base + 20 * MiB))

finish_live "$name"
expect_eq "target exits 0" 0 "$LIVE_RC"
expect_match "the target's own allocations never failed" '^allocations=[1-9][0-9]* nulls=0$' "$(tail -1 "$out")"
