# Every process of a session draws its own random decisions, from the seed
# and its order of attachment (docs/rules.md, --seed): a shell script
# starting 40 short python3 processes under `mem.fail p=50%` sees about half
# of them fail, not all or none, and the same seed gives the same sequence.

forty() { # SEED: one letter per python3: o (allocated) or x (MemoryError)
    "$FAULTLINE" run -o none -s "$(new_session)" --seed "$1" -r 'mem.fail min=64MiB p=50%' -- \
        bash -c 'for i in $(seq 40); do
                     '"$PYTHON"' -c "bytearray(100 << 20)" 2>/dev/null && printf o || printf x
                 done'
}

a=$(forty 7)
b=$(forty 7)
c=$(forty 8)
fails=$(tr -cd x <<<"$a" | wc -c)
expect_match "40 processes ran (${a})" '^[ox]{40}$' "$a"
check "between 10 and 30 of the 40 failed ($fails)" test "$fails" -ge 10 -a "$fails" -le 30
expect_eq "the same seed: the same sequence" "$a" "$b"
check "another seed: another sequence ($c)" test "$a" != "$c"
