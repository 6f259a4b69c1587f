#!/usr/bin/env bash
# Debian's rsyslog tails alog's JSON log with imfile (private configuration and work folder,
# no systemd) while alog rotates it many times: rsyslog must receive every line exactly once.
source "$(dirname "$0")/lib.sh"
rsyslogd=$(command -v rsyslogd || echo /usr/sbin/rsyslogd)
[ -x "$rsyslogd" ] || fail "rsyslogd not installed (scripts/test-lifecycle.sh installs it)"
mkdir -p "$work/rs" "$work/logs"
count=50000
cat >"$work/rsyslog.conf" <<CONF
global(workDirectory="$work/rs")
module(load="imfile")
input(type="imfile" file="$work/logs/app.log" tag="alog" reopenOnTruncate="on")
template(name="raw" type="string" string="%msg%\n")
action(type="omfile" file="$work/received.log" template="raw")
CONF
"$rsyslogd" -N1 -f "$work/rsyslog.conf" >/dev/null 2>&1 || fail "rsyslog rejects the configuration: $("$rsyslogd" -N1 -f "$work/rsyslog.conf" 2>&1 | tail -3)"
"$rsyslogd" -n -f "$work/rsyslog.conf" -i "$work/rsyslogd.pid" 2>"$work/rsyslog.err" &
rs=$!
cleanup_hooks+=("kill $rs; wait $rs")
sleep 1
kill -0 "$rs" 2>/dev/null || fail "rsyslogd exited: $(cat "$work/rsyslog.err")"
"$LOGWRITER" "$work/logs/app.log" "$count" 0 --pace 50 format=json rotate_bytes=256k >"$work/stats" \
  || fail "logwriter: $(cat "$work/stats")"
rotations=$(field rotations "$(cat "$work/stats")")
[ "$rotations" -ge 10 ] || fail "only $rotations rotations"
for _ in $(seq 1 300); do
  [ "$(wc -l <"$work/received.log" 2>/dev/null || echo 0)" -ge "$count" ] && break
  sleep 0.1
done
sleep 1   # a duplicate would arrive late
check --writers 1 --count "$count" "$work/received.log" || fail "rsyslog did not receive every line exactly once"
pass "rsyslog imfile received $count JSON lines exactly once across $rotations rotations"
