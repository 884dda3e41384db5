# C++ operator new under mem.fail: the malloc behind a 4 MiB std::vector
# fails, operator new throws std::bad_alloc, the program catches it, prints
# what it caught and goes on; new(nothrow) returns nullptr. Proves that C++
# exceptions unwind through a process with the shim loaded (docs/pitfalls.md
# item 15) and that operator new "then throws std::bad_alloc" (docs/rules.md
# "Memory").
# Target: tests/targets/mem_new_throw.cpp.

T=$TARGETS/mem_new_throw

out=$("$FAULTLINE" run -r 'mem.fail min=1MiB' -- "$T" 2>&1)
rc=$?
expect_eq "faultline run: exit 3 (bad_alloc caught)" 3 "$rc"
expect_match "faultline run: vector threw std::bad_alloc" $'(^|\n)vector: caught std::bad_alloc \\(std::bad_alloc\\)\n' "$out"
expect_match "faultline run: new(nothrow) returned nullptr" $'\nnew\\(nothrow\\): nullptr\n' "$out"
expect_match "faultline run: small allocations still work" $'\nafter: small string of 100 bytes$' "$out"

out=$(LD_PRELOAD=$SHIM FAULTLINE_RULES='mem.fail min=1MiB' "$T" 2>&1)
rc=$?
expect_eq "FAULTLINE_RULES: exit 3" 3 "$rc"
expect_match "FAULTLINE_RULES: vector threw std::bad_alloc" 'vector: caught std::bad_alloc' "$out"

# Below the size filter nothing fails: a 512 KiB vector is allocated.
out=$("$FAULTLINE" run -r 'mem.fail min=1MiB' -- "$T" 524288 2>&1)
rc=$?
expect_eq "512 KiB under min=1MiB: exit 0" 0 "$rc"
expect_match "512 KiB under min=1MiB: allocated" '^vector: allocated 524288 bytes, last=x' "$out"

# fn= that does not cover malloc leaves operator new alone.
out=$("$FAULTLINE" run -r 'mem.fail fn=calloc min=1MiB' -- "$T" 2>&1)
expect_eq "fn=calloc: operator new unaffected (exit 0)" 0 "$?"

# Without the rule the same program, shim loaded, allocates its 4 MiB.
out=$("$FAULTLINE" run -- "$T" 2>&1)
rc=$?
expect_eq "no rule: exit 0" 0 "$rc"
expect_eq "no rule: everything allocated" $'vector: allocated 4194304 bytes, last=x\nnew(nothrow): allocated\nafter: small string of 100 bytes' "$out"

# With libunwind loaded by a caller= rule (and trace=1), C++ exceptions still
# unwind through libgcc's unwinder: the shim loads libunwind RTLD_LOCAL, never
# into the global scope where its _Unwind_* would shadow libgcc's
# (docs/pitfalls.md item 15).
out=$("$FAULTLINE" run -o "$TEST_TMP/t.db" -r 'mem.fail min=1MiB caller=main trace=1' -- "$T" 2>&1)
rc=$?
expect_eq "caller=main trace=1: exit 3 (bad_alloc caught)" 3 "$rc"
expect_match "caller=main trace=1: vector threw std::bad_alloc" 'vector: caught std::bad_alloc' "$out"
expect_match "caller=main trace=1: small allocations still work" $'\nafter: small string of 100 bytes$' "$out"
maps=$("$FAULTLINE" run -o none -r 'mem.fail min=1MiB caller=main' -- sh -c "$T >/dev/null 2>&1; cat /proc/self/maps" 2>&1)
check "libunwind is not in a process that never reached a caller= rule" bash -c '! grep -q libunwind <<<"$1"' _ "$maps"
