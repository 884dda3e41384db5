# docs/hooks.md matches the shim's list of hooks (common/hooks.def, as
# `faultline hooks` prints it). Commands and kinds: test_docs_match.sh.

hooks=$("$FAULTLINE" hooks --json | "$PYTHON" -c 'import json,sys; print(" ".join(h["function"] for h in json.load(sys.stdin)))')
missing=
for h in $hooks; do grep -q "\`$h\`" "$ROOT/docs/hooks.md" || missing="$missing $h"; done
expect_eq "docs/hooks.md names every hook" "" "$missing"
check "docs/hooks.md's tables are faultline hooks --markdown (role, faults, failure)" \
    "$ROOT/scripts/update-hooks-doc" --check
roles=$("$FAULTLINE" hooks --json | "$PYTHON" -c 'import json,sys; print(" ".join(sorted({h["role"] for h in json.load(sys.stdin)})))')
expect_eq "every hook has one of the five roles" "batch bookkeeping fortify operation wait" "$roles"
ops=$("$FAULTLINE" hooks --json | "$PYTHON" -c 'import json,sys; print(" ".join(h["function"] for h in json.load(sys.stdin) if h["role"] == "operation" and h["family"] == "net"))')
expect_eq "the socket calls a program does its work with are operations" \
    "connect accept accept4 send sendto sendmsg write writev recv recvfrom recvmsg read readv getaddrinfo sendfile sendfile64 splice copy_file_range" "$ops"

check "README shows the two commands" grep -q 'make demo' "$ROOT/README.md"
