#!/usr/bin/env bash
# Debian's logrotate moves the file alog writes, in `create` mode, many times while it
# logs: once with a postrotate SIGHUP (alog_reopen from the handler; detection off, so the
# signal alone must do it) and once without any signal (alog's per-batch detection).
# Every record must be in exactly one of the files, in order. Then `copytruncate` mode:
# records written between logrotate's copy and its truncation are lost (logrotate's own
# limit; a copy taken while a write is under way may end inside that write's last line, whose
# record is then lost too), but the file never fills with NUL bytes and no record is torn
# inside a file, doubled or out of order.
source "$(dirname "$0")/lib.sh"
count=100000

run() { # mode: hup | detect | copytruncate
  local mode=$1 dir="$work/$1"
  mkdir -p "$dir"
  local post="" args=()
  local create="create 0640"
  [ "$mode" = copytruncate ] && create=copytruncate
  if [ "$mode" = hup ]; then
    post="    postrotate
        kill -HUP \"\$(cat $dir/writer.pid)\" 2>/dev/null || true
    endscript"
    args=(--hup reopen_check=false)
  fi
  cat >"$dir/logrotate.conf" <<CONF
$dir/app.log {
    size 1
    rotate 1000
    $create
    missingok
    nocompress
$post
}
CONF
  "$LOGWRITER" "$dir/app.log" "$count" 0 --pace 20 batch_timeout_ms=10 "${args[@]}" >"$dir/stats" &
  local pid=$!
  echo "$pid" >"$dir/writer.pid"
  local rotations=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 0.2
    [ -s "$dir/app.log" ] || continue
    logrotate -s "$dir/state" "$dir/logrotate.conf" 2>>"$dir/logrotate.err" || fail "$mode: logrotate failed: $(cat "$dir/logrotate.err")"
    rotations=$((rotations + 1))
  done
  # `create`: alog must not have made the new file before logrotate did (logrotate would then
  # move alog's file aside as app.log-DATE.backup, records and all, and say so).
  if [ -s "$dir/logrotate.err" ]; then fail "$mode: logrotate: $(head -n 3 "$dir/logrotate.err")"; fi
  wait "$pid" || fail "$mode: logwriter: $(cat "$dir/stats")"
  [ "$rotations" -ge 5 ] || fail "$mode: only $rotations rotations happened during the run"
  # logrotate's numbering: app.log.1 is the newest rotated file.
  local files=() i
  for ((i = rotations + 1; i >= 1; i--)); do
    [ -e "$dir/app.log.$i" ] && files+=("$dir/app.log.$i")
  done
  files+=("$dir/app.log")
  local n=${#files[@]}
  [ "$n" -ge 5 ] || fail "$mode: expected at least 5 files, got $n"
  if [ "$mode" = copytruncate ]; then
    if tr -d '\000' <"$dir/app.log" | cmp -s - "$dir/app.log"; then :; else
      fail "copytruncate: NUL bytes in app.log"
    fi
    check --writers 1 --count "$count" --some-missing "${files[@]}" || fail "copytruncate: torn or doubled lines"
    pass "copytruncate: $rotations logrotate runs, no NUL bytes, no torn or doubled record"
    return
  fi
  check --writers 1 --count "$count" "${files[@]}" || fail "$mode: records lost or doubled"
  # Had alog kept writing to the moved file, one file would hold everything.
  local used=0 f
  for f in "${files[@]}"; do [ -s "$f" ] && used=$((used + 1)); done
  [ "$used" -ge $((n / 2)) ] || fail "$mode: only $used of $n files received records: alog did not reopen"
  pass "$mode: $rotations logrotate runs, $n files, $used with records, every record once"
}

run hup
run detect
run copytruncate
