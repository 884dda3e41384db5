# The docs match the code: every intercepted function is in docs/hooks.md,
# every fault kind and every command is documented, README's commands exist.

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
    "connect accept accept4 send sendto sendmsg write writev recv recvfrom recvmsg read readv getaddrinfo" "$ops"

missing=
for k in mem.fail mem.limit mem.delay mem.ballast db.error db.delay db.io db.corrupt \
    net.delay net.timeout net.loss net.bandwidth net.reset net.refuse net.partition net.dns \
    net.slice net.corrupt; do grep -q "\`$k\`" "$ROOT/docs/rules.md" || missing="$missing $k"; done
expect_eq "docs/rules.md documents every armable kind" "" "$missing"

missing=
for c in run enable disable list status sessions gc hooks; do
    "$FAULTLINE" "$c" --help >/dev/null 2>&1 || missing="$missing $c(help)"
    grep -q "faultline $c" "$ROOT/README.md" || missing="$missing $c(README)"
done
expect_eq "every command has --help and is in README" "" "$missing"
check "README shows the two commands" grep -q 'make demo' "$ROOT/README.md"
