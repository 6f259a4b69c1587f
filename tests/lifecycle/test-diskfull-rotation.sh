#!/usr/bin/env bash
# Rotation while a 1 MiB tmpfs is full: writes fail, so the active file stays empty, and an
# empty file is never rotated: no empty rotated files appear to push real history out under
# max_files, and logging resumes with whole records when space returns.
source "$(dirname "$0")/lib.sh"
if [ "$(id -u)" != 0 ]; then
  echo "skip test-diskfull-rotation: mounting a tmpfs needs root (run as root, as CI does)"
  exit 0
fi
mnt="$work/mnt"
mkdir -p "$mnt"
mount -t tmpfs -o size=1m alog-rot "$mnt" || fail "cannot mount a tmpfs"
cleanup_hooks+=("umount '$mnt'")
count=20000
"$LOGWRITER" "$mnt/app.log" "$count" 0 --pace 10 batch_timeout_ms=5 write_retries=0 \
  rotate_bytes=2k max_files=4 >"$work/stats" &
pid=$!
sleep 0.3
# Keep the disk full (retention frees a little space now and then: take it back at once).
(
  i=0
  while [ ! -e "$work/stop" ]; do
    dd if=/dev/zero of="$mnt/filler.$i" bs=4k 2>/dev/null || true
    i=$((i + 1))
  done
) &
filler=$!
sleep 0.6
empty=$(find "$mnt" -name 'app.log.*' -not -name app.log.lock -size 0 | wc -l)
active=$(stat -c %s "$mnt/app.log")
touch "$work/stop"
wait "$filler"
rm -f "$mnt"/filler.*
wait "$pid" || fail "logwriter: $(cat "$work/stats")"
stats=$(cat "$work/stats")
failed=$(field failed "$stats")
[ "$failed" -gt 0 ] || fail "the disk never filled up during the run: $stats"
[ "$empty" = 0 ] || fail "$empty empty rotated files while the disk was full (active file: $active bytes)"
rotated=$(find "$mnt" -name 'app.log.*' -not -name app.log.lock | wc -l)
[ "$rotated" -le 4 ] || fail "max_files=4 but $rotated rotated files"
[ "$(find "$mnt" -name 'app.log.*' -not -name app.log.lock -size 0 | wc -l)" = 0 ] \
  || fail "empty rotated files at the end: $(ls -la "$mnt")"
tail -n 1 "$mnt/app.log" | grep -q "w0 n$((count - 1)) " || fail "logging did not resume"
pass "disk full with rotation: $stats; no empty rotated file, max_files held"
