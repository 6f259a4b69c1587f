#!/usr/bin/env bash
# Four processes append to one path with size rotation and gzip on: the lock file makes each
# rotation happen once, and every record of every process must be in the set exactly once,
# in its process's order, with no file's text larger than rotate_bytes.
source "$(dirname "$0")/lib.sh"
count=200000
limit=$((1 << 20))
pids=()
for w in 0 1 2 3; do
  "$LOGWRITER" "$work/app.log" "$count" "$w" rotate_bytes=$limit compress=gzip >"$work/stats.$w" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a logwriter failed"; done
rotations=0
for w in 0 1 2 3; do
  r=$(field rotations "$(cat "$work/stats.$w")")
  rotations=$((rotations + r))
done
rotated=$(ls "$work" | grep -c '^app\.log\.[0-9]*\.gz$' || true)
[ "$(ls "$work" | grep -c '\.tmp\.' || true)" = 0 ] || fail "temporary files left: $(ls "$work")"
[ "$(ls "$work" | grep -c '^app\.log\.[0-9]*$' || true)" = 0 ] || fail "uncompressed rotated files left: $(ls "$work")"
[ "$rotated" = "$rotations" ] || fail "$rotations rotations counted by the processes, $rotated rotated files"
[ "$rotated" -ge 10 ] || fail "only $rotated rotations"
for f in "$work"/app.log.*.gz; do
  size=$(gzip -dc "$f" | wc -c)
  [ "$size" -le "$limit" ] || fail "$f holds $size bytes > $limit"
done
"$ALOG" cat "$work/app.log" | check --writers 4 --count "$count" || fail "records lost, doubled or reordered"
"$ALOG" verify "$work/app.log" >/dev/null || fail "alog verify: $("$ALOG" verify "$work/app.log" | grep DAMAGED)"
pass "4 processes x $count records, $rotations rotations, $rotated gzip files, every record once"
