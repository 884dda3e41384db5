# The docs list what the binary has, read from the binary itself (no list
# kept in this file):
#  - the commands: `faultline --help`'s command list. Each one has --help,
#    and a row in README.md's command table ("## Commands"); every command
#    that table names exists;
#  - the fault kinds: `faultline hooks --kinds --json`, built from the kinds
#    the rule parser knows (common/rule.h). Each one has a row in one of
#    docs/rules.md's kind tables and is named in README.md; every kind those
#    tables document exists, and is accepted by `faultline run -r`.

# -- commands ----------------------------------------------------------------------
commands=$("$FAULTLINE" --help | awk '/^commands:/ {on = 1; next} on && /^$/ {exit} on {print $1}')
check "faultline --help lists commands" test "$(wc -w <<<"$commands")" -ge 10
# README.md's command table: the rows between "## Commands" and the next
# heading.
table=$(awk '/^## Commands/ {on = 1; next} on && /^## / {exit} on && /^\|/' "$ROOT/README.md")
check "README.md has a command table" test -n "$table"
missing=
no_help=
for c in $commands; do
    grep -qE "\`faultline $c( |\`)" <<<"$table" || missing="$missing $c"
    "$FAULTLINE" "$c" --help 2>/dev/null | grep -q "^usage: faultline $c" || no_help="$no_help $c"
done
expect_eq "every command of faultline --help is in README.md's command table" "" "$missing"
expect_eq "every command has --help" "" "$no_help"
documented=$(grep -oE '`faultline [a-z]+' <<<"$table" | sed 's/^`faultline //' | sort -u)
stale=
for c in $documented; do grep -qxF "$c" <<<"$commands" || stale="$stale $c"; done
expect_eq "every command README.md's table names exists" "" "$stale"

# -- fault kinds -------------------------------------------------------------------
kinds=$("$FAULTLINE" hooks --kinds --json | "$PYTHON" -c '
import json, sys
print(" ".join(k["kind"] for k in json.load(sys.stdin)))')
check "faultline hooks --kinds lists kinds" test "$(wc -w <<<"$kinds")" -ge 10
text_kinds=$("$FAULTLINE" hooks --kinds | awk '{print $1}' | tr '\n' ' ')
expect_eq "hooks --kinds: text and json agree" "$kinds " "$text_kinds"
missing=
for k in $kinds; do
    grep -qF "| \`$k\` |" "$ROOT/docs/rules.md" || missing="$missing $k"
done
expect_eq "every kind has a row in docs/rules.md" "" "$missing"
missing=
for k in $kinds; do grep -qF "\`$k" "$ROOT/README.md" || missing="$missing $k"; done
expect_eq "every kind is named in README.md" "" "$missing"
documented=$(grep -oE '^\| `[a-z]+\.[a-z]+` \|' "$ROOT/docs/rules.md" | sed -E 's/^\| `([^`]*)` \|/\1/' | sort -u)
check "docs/rules.md has kind rows" test -n "$documented"
stale=
for k in $documented; do grep -qw -- "$k" <<<"${kinds// /$'\n'}" || stale="$stale $k"; done
expect_eq "every kind docs/rules.md documents exists" "" "$stale"
# A kind the binary lists is one its parser takes: `KIND` alone or with its
# required key, under a filter that never matches (nothing is faulted).
refused=
for k in $kinds; do
    case $k in
    mem.limit) r="$k limit=1GiB" ;;
    mem.delay | net.delay | db.delay) r="$k delay=1ms" ;;
    mem.ballast) r="$k size=1MiB" ;;
    net.bandwidth) r="$k rate=1gbit" ;;
    net.slice) r="$k max=1" ;;
    db.error) r="$k rc=BUSY" ;;
    *) r=$k ;;
    esac
    "$FAULTLINE" run -o none -r "$r proc=no-such-process" -- true 2>/dev/null || refused="$refused $k"
done
expect_eq "every listed kind is accepted by run -r" "" "$refused"
