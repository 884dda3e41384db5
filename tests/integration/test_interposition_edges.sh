# Three interposition pitfalls checked on the artefacts themselves
# (docs/pitfalls.md items 3, 9 and 17):
#  - item 3, TLS: the shim's thread-locals are initial-exec: it is marked
#    STATIC_TLS, has only TPOFF relocations for them and never calls
#    __tls_get_addr (a global-dynamic access may allocate on a thread's
#    first touch, from inside malloc);
#  - item 9, exec: `faultline run` preloads an absolute path even when the
#    shim was named relatively (FAULTLINE_SHIM=libfaultline.so, from its
#    directory), so a target that changes directory and execs still loads
#    it;
#  - item 17, Go: an executable with a .go.buildinfo section is refused with
#    exit 2 and says why (the static-binary case is in test_cli_surface.sh).

# -- item 3: TLS model -----------------------------------------------------------
if [ "$(uname -m)" = x86_64 ]; then
    relocs=$(readelf -rW "$SHIM" | awk '$3 ~ /^R_X86_64_/ {print $3}' | sort -u | tr '\n' ' ')
    check "the shim has TLS relocations of the initial-exec model (TPOFF64)" \
        grep -q 'R_X86_64_TPOFF64' <<<"$relocs"
    expect_eq "and none of the dynamic models (DTPMOD64, DTPOFF64, TLSDESC)" "" \
        "$(grep -oE 'R_X86_64_(DTPMOD64|DTPOFF64|TLSDESC)' <<<"$relocs")"
else
    echo "    note: not x86_64: TLS relocation names not checked"
fi
check "the shim is marked STATIC_TLS" bash -c 'readelf -dW "$1" | grep -q STATIC_TLS' _ "$SHIM"
expect_eq "the shim never calls __tls_get_addr" "" \
    "$(nm -D --undefined-only "$SHIM" | grep -o '__tls_get_addr')"

# -- item 9: an absolute preload path --------------------------------------------
out=$(cd "$(dirname "$SHIM")" && FAULTLINE_SHIM=$(basename "$SHIM") "$FAULTLINE" run -o none -- \
    sh -c 'cd / && exec sh -c "echo \"\$LD_PRELOAD\"; grep -c libfaultline /proc/self/maps"' 2>&1)
expect_eq "LD_PRELOAD is the shim's absolute path; after cd / and exec it is still mapped" \
    "$SHIM" "$(sed -n 1p <<<"$out")"
check "the exec'd program after cd / maps the shim" test "$(sed -n 2p <<<"$out")" -ge 1

# -- item 17: Go programs refused -------------------------------------------------
printf 'int main(void) { return 0; }\n' | cc -x c -o "$TEST_TMP/gofake" -
"$FAULTLINE" run -o none -- "$TEST_TMP/gofake"
expect_eq "control: the C program without the section runs" 0 $?
printf 'go1.21' >"$TEST_TMP/buildinfo"
objcopy --add-section .go.buildinfo="$TEST_TMP/buildinfo" "$TEST_TMP/gofake"
err=$("$FAULTLINE" run -o none -- "$TEST_TMP/gofake" 2>&1)
expect_eq "a Go program (.go.buildinfo): exit 2" 2 $?
expect_match "and it says why" '^faultline: run: .*gofake is a Go program: .*without libc' "$err"
