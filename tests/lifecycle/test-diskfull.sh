#!/usr/bin/env bash
# A 1 MiB tmpfs fills up while alog writes to it: writes fail and are counted (failed,
# write_errors), no record is left half written with another after it on the same line, and
# logging resumes by itself when space returns.
source "$(dirname "$0")/lib.sh"
if [ "$(id -u)" != 0 ]; then
  echo "skip test-diskfull: mounting a tmpfs needs root (run as root, as CI does)"
  exit 0
fi
mnt="$work/mnt"
mkdir -p "$mnt"
mount -t tmpfs -o size=1m alog-test "$mnt" || fail "cannot mount a tmpfs"
cleanup_hooks+=("umount '$mnt'")
count=10000
"$LOGWRITER" "$mnt/app.log" "$count" 0 --pace 10 batch_timeout_ms=5 write_retries=2 >"$work/stats" &
pid=$!
sleep 0.3
dd if=/dev/zero of="$mnt/filler" bs=4k 2>/dev/null || true   # fills the disk: ENOSPC
sleep 0.5
rm -f "$mnt/filler"
wait "$pid" || fail "logwriter: $(cat "$work/stats")"
stats=$(cat "$work/stats")
written=$(field written "$stats")
failed=$(field failed "$stats")
errors=$(field write_errors "$stats")
[ "$failed" -gt 0 ] || fail "the disk never filled up during the run: $stats"
[ "$errors" -gt 0 ] || fail "no write errors counted: $stats"
[ $((written + failed)) = "$count" ] || fail "written + failed != $count: $stats"
check --writers 1 --count "$count" --expect "$written" "$mnt/app.log" || fail "torn, doubled or missing lines"
tail -n 1 "$mnt/app.log" | grep -q "w0 n$((count - 1)) " || fail "logging did not resume: last line $(tail -n 1 "$mnt/app.log")"
pass "disk full: $stats; every written record whole, logging resumed"
