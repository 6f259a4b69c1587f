#!/usr/bin/env bash
# Build and smoke check of the benchmark suite (about a minute with warm caches):
#   1. installs what bench/run.sh needs when it is missing (g++, pkg-config, libspdlog-dev);
#   2. the driver's log-file check counts valid, duplicate, out-of-order and malformed lines
#      exactly on a hand-written file;
#   3. a logger that writes fewer lines than it accepted makes run.sh fail (alog with
#      level=warn writes none of the INFO workload);
#   4. bench/run.sh builds everything and runs every logger in every scenario with small counts:
#      it must exit 0, with one row per logger in every table, no missing cell and no FAILED note.
# Exits non-zero on any failure. Timings are not checked: speed is what run.sh reports.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

fail() { echo "bench/smoke.sh: FAILED: $*" >&2; exit 1; }

# ---- 1. prerequisites
missing=()
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists spdlog; then missing+=(libspdlog-dev); fi
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "bench/smoke.sh: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v cargo >/dev/null 2>&1 || fail "cargo not found"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
small=(--n-latency 20000 --n-burst 20000 --n-mt2 20000 --warmup 2000)

# ---- 4 first builds everything (the checks 2 and 3 use the driver it builds)
bash "$here/run.sh" --runs 1 -- "${small[@]}" >"$tmp/report.md" 2>"$tmp/run.err" ||
  { tail -n 30 "$tmp/run.err" >&2; cat "$tmp/report.md" >&2; fail "bench/run.sh exited non-zero"; }
driver="$here/build/latency"

# ---- 2. the file check, on lines whose verdicts are known
{
  printf '2026-01-01T00:00:00.000000Z INFO user 0 logged in from 10.0.0.0 in 0 ms\n'
  printf '2026-01-01T00:00:00.000001Z INFO user 2 logged in from 10.0.2.2 in 2 ms\n'
  printf '2026-01-01T00:00:00.000002Z INFO user 1 logged in from 10.0.1.1 in 1 ms\n'   # after 2
  printf '2026-01-01T00:00:00.000003Z INFO user 1 logged in from 10.0.1.1 in 1 ms\n'   # duplicate
  printf '2026-01-01T00:00:00.000004Z INFO user 3 logged in from 10.0.3.4 in 3 ms\n'   # wrong i%%100
  printf '2026-01-01T00:00:00.000005Z user 3 logged in from 10.0.3.3 in 3 ms\n'        # no level
  printf '[2026-01-01 00:00:00.000] [info] user 3 logged in from 10.0.3.3 in 3 ms, session=1 ok\n'
  printf '2026-01-01T00:00:00.000007Z INFO user 4 logged in from 10.0.4.4 in 4 ms'     # no newline
} >"$tmp/check.log"
expect_check() {
  local producers="$1" want="$2" got
  got="$("$driver" --check "$tmp/check.log" 5 "$producers" | tr '\n' ' ')"
  [ "$got" = "$want" ] || fail "file check with $producers producer(s): got '$got', expected '$want'"
}
# one producer: 1 after 2 is out of order; two producers (0-1 and 2-4): every one in order
expect_check 1 "lines 7 valid 4 duplicates 1 out_of_order 1 malformed 3 "
expect_check 2 "lines 7 valid 4 duplicates 1 out_of_order 0 malformed 3 "
echo "bench/smoke.sh: the driver's file check counts a hand-written file exactly"

# ---- 3. a logger that loses lines fails the run
if bash "$here/run.sh" --no-cargo --no-rust --runs 1 -- --loggers alog-snprintf --scenarios burst \
  --n-burst 1000 --alog-set level=warn >"$tmp/lossy.md" 2>"$tmp/lossy.err"; then
  fail "run.sh exited 0 although alog (level=warn) wrote none of the INFO lines"
fi
grep -q '^- \*\*FAILED\*\* run 1: alog-snprintf/burst: the file has 0 of the 1000 lines' "$tmp/lossy.md" ||
  { cat "$tmp/lossy.md" >&2; fail "no FAILED note naming the missing lines"; }
echo "bench/smoke.sh: a logger that writes 0 of 1000 lines fails the run with a note"

# ---- 4. every logger in every table
report="$tmp/report.md"
grep -q 'FAILED' "$report" && { cat "$report" >&2; fail "the report has FAILED notes"; }
loggers="$(awk '/^Loggers:$/ { on = 1; next } on && /^(<details>|### )/ { on = 0 } on && /^- / { n++ }
  END { print n + 0 }' "$report")"
[ "$loggers" -ge 10 ] || fail "the report lists $loggers loggers, expected at least 10"
for scenario in "Latency" "Burst" "Two producer threads"; do
  awk -v s="### $scenario" '
    index($0, s) == 1 { on = 1; next }
    on && /^(### |- )/ { on = 0 }
    on && /^\| / && !/^\| logger / && !/^\|---/ { print }' "$report" >"$tmp/rows"
  rows="$(wc -l <"$tmp/rows")"
  [ "$rows" = "$loggers" ] || fail "the $scenario table has $rows rows, expected $loggers"
  if grep -q '—' "$tmp/rows"; then
    grep '—' "$tmp/rows" >&2
    fail "the $scenario table has a missing cell"
  fi
done
echo "bench/smoke.sh: run.sh ran $loggers loggers in 3 scenarios; every table has every logger"
echo "bench/smoke.sh: 3 passed, 0 failed"
