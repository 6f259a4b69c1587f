#!/usr/bin/env bash
# Debian's rsyslog receives alog's syslog sink on a Unix socket of its own (imuxsock, private
# configuration, the system's /dev/log untouched): every record exactly once and in order, with
# the configured facility and ident, the severity of the record's level and the sender's pid.
source "$(dirname "$0")/lib.sh"
rsyslogd=$(command -v rsyslogd || echo /usr/sbin/rsyslogd)
[ -x "$rsyslogd" ] || fail "rsyslogd not installed (scripts/test-lifecycle.sh installs it)"
mkdir -p "$work/rs"
sock="$work/log.sock"
cat >"$work/rsyslog.conf" <<CONF
global(workDirectory="$work/rs")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$sock" RateLimit.Interval="0")
template(name="fields" type="string"
         string="%syslogfacility-text% %syslogseverity-text% %programname% %procid% %msg%\n")
action(type="omfile" file="$work/received.log" template="fields")
CONF
"$rsyslogd" -N1 -f "$work/rsyslog.conf" >/dev/null 2>&1 \
  || fail "rsyslog rejects the configuration: $("$rsyslogd" -N1 -f "$work/rsyslog.conf" 2>&1 | tail -3)"
"$rsyslogd" -n -f "$work/rsyslog.conf" -i "$work/rsyslogd.pid" 2>"$work/rsyslog.err" &
rs=$!
cleanup_hooks+=("kill $rs; wait $rs")
for _ in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || fail "rsyslogd did not create $sock: $(cat "$work/rsyslog.err")"

# Two processes: 2000 INFO records to local3, 300 ERROR records whose syslog sink only takes
# ERROR and above; each also writes its file.
run() { # run ID COUNT LEVEL settings... -> prints "pid written=..."
  local id=$1 count=$2 level=$3
  shift 3
  sh -c 'echo $$; exec "$@"' sh "$LOGWRITER" "$work/app$id.log" "$count" "$id" --level "$level" \
    syslog="$sock" syslog.facility=local3 syslog.ident=alogtest "$@" | tr '\n' ' '
}
out1=$(run 1 2000 9) || fail "logwriter 1: $out1"
out2=$(run 2 300 17 syslog.level=error) || fail "logwriter 2: $out2"
pid1=${out1%% *}
pid2=${out2%% *}
[ "$(field write_errors "$out1")" = 0 ] && [ "$(field failed "$out1")" = 0 ] \
  || fail "logwriter 1 counted errors: $out1"
want=2300
for _ in $(seq 1 300); do
  [ "$(wc -l <"$work/received.log" 2>/dev/null || echo 0)" -ge "$want" ] && break
  sleep 0.1
done
sleep 0.5 # a duplicate would arrive late
python3 - "$work/received.log" "$pid1" "$pid2" <<'PY' || fail "rsyslog did not receive what alog sent"
import sys
path, pid1, pid2 = sys.argv[1:]
want = {"1": ("info", pid1, 2000), "2": ("err", pid2, 300)}
seen = {"1": 0, "2": 0}
for n, line in enumerate(open(path, encoding="utf-8"), 1):
    fac, sev, prog, pid, msg = line.rstrip("\n").split(" ", 4)
    words = msg.split()
    who, i = words[0][1:], int(words[1][1:])
    exp_sev, exp_pid, _ = want[who]
    assert (fac, sev, prog, pid) == ("local3", exp_sev, "alogtest", exp_pid), f"line {n}: {line!r}"
    assert i == seen[who], f"line {n}: writer {who} record {i}, expected {seen[who]}"
    assert words[2] == "abcdefghijklmnopqrstuvwxyz", f"line {n}: {line!r}"
    seen[who] += 1
for who, (_, _, count) in want.items():
    assert seen[who] == count, f"writer {who}: {seen[who]} of {count} records"
PY
[ "$(wc -l <"$work/app1.log")" = 2000 ] || fail "the file sink of writer 1 is incomplete"
pass "rsyslog received 2000 local3.info and 300 local3.err records from two processes, once each, in order, with ident and pid"
