# python3 sees mem.fail as a MemoryError, through `faultline run` and through
# FAULTLINE_RULES alone; size filters decide which allocations fail.

out=$("$FAULTLINE" run -r 'mem.fail min=64MiB' -- "$PYTHON" -c 'bytearray(100<<20)' 2>&1)
rc=$?
expect_eq "python3 exits 1 under mem.fail min=64MiB" 1 "$rc"
expect_match "python3 raised MemoryError" 'MemoryError' "$out"

out=$("$FAULTLINE" run -r 'mem.fail min=64MiB' -- "$PYTHON" -c 'b = bytearray(10<<20); print(len(b))' 2>&1)
expect_eq "allocations below min= succeed" "10485760" "$out"

out=$(LD_PRELOAD=$SHIM FAULTLINE_RULES='mem.fail min=64MiB' "$PYTHON" -c '
try:
    bytearray(100<<20)
except MemoryError:
    print("caught")' 2>&1)
expect_eq "FAULTLINE_RULES without a controller" "caught" "$out"

out=$(LD_PRELOAD=$SHIM "$PYTHON" -c 'print(len(bytearray(100<<20)))' 2>&1)
expect_eq "no rule: python3 allocates 100 MiB" "104857600" "$out"
