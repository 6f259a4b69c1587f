#!/usr/bin/env bash
# Build and smoke check of the benchmark suite (about a minute with warm caches):
#   1. installs what bench/run.sh needs when it is missing (g++, pkg-config, libspdlog-dev,
#      python3 for the chart);
#   2. the driver's log-file check counts valid, duplicate, out-of-order and malformed lines
#      exactly on a hand-written file;
#   3. a logger that writes fewer lines than it accepted makes run.sh fail (alog with
#      level=warn writes none of the INFO workload); this run points QUILL_DIR at a missing
#      folder: run.sh must skip Quill with a note and the driver must refuse --loggers quill;
#   4. bench/run.sh builds everything and runs every logger in every scenario with small counts:
#      it must exit 0, with one row per logger in every table, no missing cell and no FAILED note;
#      Quill's row is there when its headers are (QUILL_DIR or ../shared/peers/quill), else a note;
#   5. bench/chart.py draws the report's latency table: one group of 4 bars per logger;
#   6. bench/instructions.sh counts instructions per call for two alog loggers (one row each,
#      positive counts) and refuses a logger the driver does not know.
# Exits non-zero on any failure. Timings are not checked: speed is what run.sh reports.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

fail() { echo "bench/smoke.sh: FAILED: $*" >&2; exit 1; }

# ---- 1. prerequisites
missing=()
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
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
small=(--n-latency 20000 --n-burst 20000 --n-mt2 20000 --n-mt4 20000 --warmup 2000)

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

# ---- 3. a logger that loses lines fails the run (built without Quill: its skip path)
if QUILL_DIR="$tmp/no-quill" bash "$here/run.sh" --no-cargo --no-rust --runs 1 -- --loggers alog-snprintf \
  --scenarios burst --n-burst 1000 --alog-set level=warn >"$tmp/lossy.md" 2>"$tmp/lossy.err"; then
  fail "run.sh exited 0 although alog (level=warn) wrote none of the INFO lines"
fi
grep -q '^- \*\*FAILED\*\* run 1: alog-snprintf/burst: the file has 0 of the 1000 lines' "$tmp/lossy.md" ||
  { cat "$tmp/lossy.md" >&2; fail "no FAILED note naming the missing lines"; }
echo "bench/smoke.sh: a logger that writes 0 of 1000 lines fails the run with a note"
grep -q "^run.sh: note: no Quill headers in $tmp/no-quill/include" "$tmp/lossy.err" ||
  { cat "$tmp/lossy.err" >&2; fail "QUILL_DIR at a missing folder: no note on stderr"; }
grep -q '^Quill: not in this run' "$tmp/lossy.md" || fail "QUILL_DIR at a missing folder: no note in the report"
if "$driver" --loggers quill --runs 1 >/dev/null 2>"$tmp/noquill.err"; then
  fail "the driver built without Quill accepted --loggers quill"
fi
grep -q 'logger quill: this driver was built without Quill' "$tmp/noquill.err" ||
  { cat "$tmp/noquill.err" >&2; fail "the driver built without Quill does not say so"; }
echo "bench/smoke.sh: without Quill headers run.sh skips Quill with a note"

# ---- 4. every logger in every table
report="$tmp/report.md"
grep -q 'FAILED' "$report" && { cat "$report" >&2; fail "the report has FAILED notes"; }
loggers="$(awk '/^Loggers:$/ { on = 1; next } on && /^(<details>|### )/ { on = 0 } on && /^- / { n++ }
  END { print n + 0 }' "$report")"
[ "$loggers" -ge 10 ] || fail "the report lists $loggers loggers, expected at least 10"
for scenario in "Latency" "Burst" "Two producer threads" "Four producer threads"; do
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
echo "bench/smoke.sh: run.sh ran $loggers loggers in 4 scenarios; every table has every logger"
if grep -q '^run.sh: note: no Quill headers' "$tmp/run.err"; then
  grep -q '^Quill: not in this run' "$report" || fail "Quill was skipped without a note in the report"
  grep -q '^| Quill ' "$report" && fail "Quill was skipped but the report has a Quill row"
  echo "bench/smoke.sh: no Quill headers here: its rows were skipped with a note"
else
  [ "$(grep -c '^| Quill `LOG_INFO`' "$report")" = 4 ] || fail "Quill's headers were found but it is not in all 4 tables"
  echo "bench/smoke.sh: Quill is in every table"
fi

# ---- 5. the latency chart: one group of 4 bars per logger, in the table's order
python3 "$here/chart.py" "$report" "$tmp/latency.svg" || fail "bench/chart.py failed on the report"
awk -v s="### Latency" 'index($0, s) == 1 { on = 1; next } on && /^(### |- )/ { on = 0 }
  on && /^\| / && !/^\| logger / { split($0, c, "|"); gsub(/^ +| +$|`/, "", c[2]); print c[2] }' \
  "$report" >"$tmp/want-labels"
python3 - "$tmp/latency.svg" "$tmp/want-labels" <<'PY' || fail "the latency chart does not match the report"
import sys, xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
want = open(sys.argv[2], encoding="utf-8").read().splitlines()
groups = [g for g in root.iter(ns + "g") if g.get("class") == "logger"]
got = [g.get("data-label") for g in groups]
if got != want:
    sys.exit("chart loggers %r, report rows %r" % (got, want))
for g in groups:
    series = [r.get("data-series") for r in g.iter(ns + "rect") if r.get("class") == "bar"]
    if series != ["p50", "p99", "p99.9", "max"]:
        sys.exit("%s: bars %r" % (g.get("data-label"), series))
PY
echo "bench/smoke.sh: the latency chart has one group of 4 bars per logger of the report"

# ---- 6. instruction counts (callgrind): a row per logger, and an unknown logger refused
bash "$here/instructions.sh" --no-build --n 2000 --loggers alog-logf,alog-snprintf >"$tmp/instr.md" \
  2>"$tmp/instr.err" || { cat "$tmp/instr.err" >&2; fail "bench/instructions.sh exited non-zero"; }
for lg in alog-logf alog-snprintf; do
  grep -Eq "^\| $lg \| [1-9][0-9]* \| [1-9][0-9]* \| [1-9][0-9]* \|$" "$tmp/instr.md" ||
    { cat "$tmp/instr.md" >&2; fail "bench/instructions.sh: no row with counts for $lg"; }
done
if bash "$here/instructions.sh" --no-build --n 2000 --loggers no-such-logger >/dev/null 2>"$tmp/instr-bad.err"; then
  fail "bench/instructions.sh accepted an unknown logger"
fi
grep -q 'no-such-logger (2000 calls) failed under valgrind' "$tmp/instr-bad.err" ||
  { cat "$tmp/instr-bad.err" >&2; fail "bench/instructions.sh: an unknown logger without a message naming it"; }
echo "bench/smoke.sh: bench/instructions.sh counts both alog loggers and refuses an unknown one"
echo "bench/smoke.sh: 6 passed, 0 failed"
