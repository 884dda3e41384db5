# What the shim links and exports (docs/pitfalls.md items 11, 15, 18):
#  - every hooked libc function has a single symbol version, so dlsym's
#    default version is the one programs bind to (else: dlvsym);
#  - the shim needs libc only: no libstdc++ (or libunwind's unwinder) forced
#    into every host process;
#  - the shim exports its hooks and nothing of its internals;
#  - an executable that defines a hooked function itself is warned about.

libc=$(ldd /bin/true | awk '/libc.so.6/ {print $3}')
libsqlite=$(ldd "$(command -v sqlite3)" | awk '/libsqlite3.so/ {print $3}')
hooks_of() { "$FAULTLINE" hooks --json | "$PYTHON" -c '
import json, sys
print(" ".join(h["function"] for h in json.load(sys.stdin) if h["family"] in sys.argv[1:]))' "$@"; }
versions() { # LIB FUNCTION...: prints FUNCTION(N) for each without exactly one version
    local lib=$1 h n
    shift
    for h in "$@"; do
        n=$(nm -D --with-symbol-versions "$lib" | awk -v s="$h" '$2 ~ /[TW]/ && $3 ~ "^"s"(@|$)" {print $3}' | sort -u | wc -l)
        [ "$n" -eq 1 ] || printf ' %s(%s)' "$h" "$n"
    done
}
expect_eq "each hooked libc function has exactly one version in $libc" "" "$(versions "$libc" $(hooks_of mem net))"
expect_eq "each hooked SQLite function is defined once in $libsqlite" "" "$(versions "$libsqlite" $(hooks_of db))"
hooks=$(hooks_of mem net db) # the file layer (vfs) is a VFS, not symbols

needed=$(objdump -p "$SHIM" | awk '/NEEDED/ {print $2}' | sort | tr '\n' ' ')
expect_eq "the shim needs libc only" "libc.so.6 " "$needed"

exported=$(nm -D --defined-only "$SHIM" | awk '$2 ~ /[TW]/ {print $3}' | sort | tr '\n' ' ')
expected=$(echo $hooks | tr ' ' '\n' | sort | tr '\n' ' ')
expect_eq "the shim exports exactly the hooks" "$expected" "$exported"

cat >"$TEST_TMP/own_valloc.cpp" <<'CPP'
#include <cstdio>
#include <cstdlib>
// Defines a hooked function itself: its own calls never reach the shim.
extern "C" void* valloc(size_t n) { return aligned_alloc(4096, (n + 4095) & ~size_t(4095)); }
int main() { std::puts(valloc(10) ? "ok" : "null"); }
CPP
g++ -O1 -rdynamic -o "$TEST_TMP/own_valloc" "$TEST_TMP/own_valloc.cpp"
out=$("$FAULTLINE" run -r 'mem.fail fn=valloc' -- "$TEST_TMP/own_valloc" 2>&1)
expect_match "run warns that the executable defines valloc" 'defines valloc itself' "$out"
expect_match "and the executable's own valloc is not faulted" 'ok' "$out"
