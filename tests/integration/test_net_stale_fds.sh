# An fd that is no longer the socket it was is never faulted as one
# (docs/pitfalls.md item 22): a connected socket closed where the shim
# cannot see it (fclose of an fdopen'ed socket: glibc closes inside libc)
# or by close_range/closefrom, its number reused by open() for a regular
# file. Under net.corrupt, net.reset and net.delay on every receive, the
# file's read() returns the file, at once.

file=$TEST_TMP/known.txt
printf 'the file, exactly as written\n' >"$file"

for rule in 'net.corrupt' 'net.reset bytes=1' 'net.delay delay=2s on=recv'; do
    out=$("$FAULTLINE" run -o none -r "$rule" -- "$TARGETS/stale_fds" "$file" 2>&1)
    for way in fclose close_range closefrom; do
        line=$(grep "^$way " <<<"$out")
        expect_eq "$rule: after $way, open() reuses the fd and reads the file" \
            "$way same_fd=1 read=ok" "${line% ms=*}"
        ms=${line##* ms=}
        check "$rule: ... at once, not after a socket's delay (${ms} ms)" test "${ms:-9999}" -lt 500
    done
done
