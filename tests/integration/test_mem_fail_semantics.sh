# Per-function failure semantics of mem.fail, as the calling program sees
# them (docs/pitfalls.md item 14, docs/rules.md "Memory"):
#  - malloc/calloc/memalign/aligned_alloc/valloc/pvalloc: NULL, errno ENOMEM;
#  - posix_memalign: returns ENOMEM, *memptr and errno left alone;
#  - realloc/reallocarray: NULL + ENOMEM, the old block still valid (its
#    contents intact, freeable);
#  - realloc(p, 0), reallocarray(p, 0, n) and free are never failed (the
#    block really goes back to glibc, errno untouched);
#  - fn= selects only the listed functions; fn=free is refused;
#  - min=/max= bound the size (inclusive), calloc counts nmemb*size.
# Target: tests/targets/mem_semantics.cpp.

T=$TARGETS/mem_semantics
under() { LD_PRELOAD=$SHIM FAULTLINE_RULES=$1 "${@:2}" 2>&1; }
# The target's line for one function.
line() {
    local l
    while IFS= read -r l; do [[ $l == "$1: "* ]] && echo "$l"; done <<<"$2"
}

# Sanity: without a rule every call succeeds (the checks below can fail).
out=$(under '' "$T" all)
expect_eq "no rule: all nine functions succeed" 9 "$(grep -c ': ok' <<<"$out")"

out=$(under 'mem.fail min=1MiB' "$T" all)
for fn in malloc calloc memalign aligned_alloc valloc pvalloc; do
    expect_eq "$fn fails with NULL + ENOMEM" "$fn: null errno=ENOMEM" "$(line "$fn" "$out")"
done
expect_eq "posix_memalign returns ENOMEM, *memptr and errno untouched" \
    "posix_memalign: rc=ENOMEM memptr=untouched errno=untouched" "$(line posix_memalign "$out")"
expect_eq "realloc fails with NULL + ENOMEM, old block intact" \
    "realloc: null errno=ENOMEM old=intact" "$(line realloc "$out")"
expect_eq "reallocarray fails with NULL + ENOMEM, old block intact" \
    "reallocarray: null errno=ENOMEM old=intact" "$(line reallocarray "$out")"

# Through the controller too (faultline run arms through a named session).
out=$("$FAULTLINE" run -r 'mem.fail min=1MiB' -- "$T" all 2>&1)
expect_eq "faultline run: all nine functions fail" 9 \
    "$(grep -c -E ': null errno=ENOMEM|: rc=ENOMEM' <<<"$out")"

# fn= selects: only calloc and valloc fail, the seven others succeed.
out=$(under 'mem.fail fn=calloc,valloc min=1MiB' "$T" all)
expect_eq "fn=calloc,valloc: calloc fails" "calloc: null errno=ENOMEM" "$(line calloc "$out")"
expect_eq "fn=calloc,valloc: valloc fails" "valloc: null errno=ENOMEM" "$(line valloc "$out")"
expect_eq "fn=calloc,valloc: the seven others succeed" 7 "$(grep -c ': ok' <<<"$out")"
out=$(under 'mem.fail fn=posix_memalign,reallocarray min=1MiB' "$T" all)
expect_eq "fn=posix_memalign,reallocarray: exactly those two fail" \
    $'posix_memalign: rc=ENOMEM memptr=untouched errno=untouched\nreallocarray: null errno=ENOMEM old=intact' \
    "$(grep -v ': ok' <<<"$out")"
out=$(under 'mem.fail fn=aligned_alloc min=1MiB' "$T" all)
expect_eq "fn=aligned_alloc: not caught as memalign (docs/pitfalls.md item 12)" \
    "aligned_alloc: null errno=ENOMEM" "$(grep -v ': ok' <<<"$out")"

# Sizes: min= and max= are inclusive; calloc's size is nmemb*size.
out=$(under 'mem.fail min=1MiB max=2MiB' "$T" sizes 1048575 1048576 2097152 2097153)
expect_eq "min=1MiB max=2MiB: only sizes within [1MiB, 2MiB] fail" \
    $'malloc(1048575): ok\nmalloc(1048576): null errno=ENOMEM\nmalloc(2097152): null errno=ENOMEM\nmalloc(2097153): ok' \
    "$out"
out=$(under 'mem.fail max=4095' "$T" all 1048576)
expect_eq "max=4095: calloc(1024, 1024) counts 1 MiB, not 1024" "calloc: ok" "$(line calloc "$out")"
expect_eq "max=4095: malloc(1 MiB) unaffected" "malloc: ok" "$(line malloc "$out")"

# Never failed: realloc(p, 0), reallocarray(p, 0, n), free. The rule fails
# every realloc/reallocarray call (no size filter) and realloc(NULL, 64)
# shows that it does.
out=$(under 'mem.fail fn=realloc,reallocarray' "$T" zero)
expect_eq "realloc(p, 0) not failed: block freed, errno untouched" \
    "realloc(p,0): ret=null errno=0 freed=yes" "$(line 'realloc(p,0)' "$out")"
expect_eq "reallocarray(p, 0, 16) not failed: block freed, errno untouched" \
    "reallocarray(p,0,16): ret=null errno=0 freed=yes" "$(line 'reallocarray(p,0,16)' "$out")"
expect_eq "free with a realloc rule armed: block freed" \
    "free: ret=null errno=0 freed=yes" "$(line free "$out")"
expect_eq "realloc(NULL, 64) is a realloc call: it fails" \
    "realloc(NULL,64): null errno=ENOMEM" "$(line 'realloc(NULL,64)' "$out")"
out=$(under 'mem.fail' "$T" sizes 0 64)
expect_eq "mem.fail without filters: every malloc fails" \
    $'malloc(0): null errno=ENOMEM\nmalloc(64): null errno=ENOMEM' "$out"

# free is not a function a rule can select: refused whole, exit 2.
err=$("$FAULTLINE" run -r 'mem.fail fn=free' -- "$T" all 2>&1 >/dev/null)
expect_eq "fn=free refused with exit 2" 2 "$?"
expect_match "fn=free refused with a faultline: error naming the token" '^faultline: .*fn=free' "$err"
