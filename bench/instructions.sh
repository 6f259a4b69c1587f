#!/usr/bin/env bash
# Counts the instructions each logger executes per log call, with callgrind: on the calling
# thread (what the application pays) and on the logger's own threads (what writing a line
# costs). Instruction counts do not move with the machine's load, so they compare loggers,
# and one commit with the next, where timings on a shared machine are too noisy to tell.
#
#   bench/instructions.sh                        # alog-logf, alog-snprintf, quill, spdlog-async
#   bench/instructions.sh --loggers alog-logf,quill --n 50000
#   bench/instructions.sh --no-build             # use bench/build/latency as it is
#
# Each logger runs the driver's burst child (bench/latency.cpp) twice under callgrind, with
# N and 2N calls, and every figure is the difference divided by N: start-up, opening and
# closing cancel out. The queue holds all 2N records (--queue), so no caller waits for the
# writer (under valgrind threads take turns, and waiting would count the wait's own
# instructions); Quill's default queue grows by itself. Each file is checked by the driver
# (every line intact, none lost) before its counts are used. The calling thread's count is all
# the application pays per call, its own formatting included (`snprintf` for alog-snprintf);
# alog-write100 prepares its messages in the child before the calls, which counts there too.
# Needs valgrind, and what bench/run.sh --build-only needs.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
loggers="alog-logf,alog-snprintf,quill,spdlog-async"
n=100000
build=1

usage() { sed -n '2,20s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --loggers) loggers="${2:?--loggers needs a value}"; shift 2 ;;
    --n) n="${2:?--n needs a value}"; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "instructions.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$n" in '' | *[!0-9]* | 0) echo "instructions.sh: --n must be a positive integer" >&2; exit 2 ;; esac
command -v valgrind >/dev/null || { echo "instructions.sh: needs valgrind (apt-get install -y valgrind)" >&2; exit 1; }

[ "$build" = 1 ] && bash "$here/run.sh" --build-only --no-rust
latency="$here/build/latency"
[ -x "$latency" ] || { echo "instructions.sh: missing $latency (run without --no-build)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The instructions a callgrind output file counted ("summary:" or "totals:" line).
total() { awk '/^(summary|totals):/ { print $2; exit }' "$1"; }

# count LOGGER CALLS: runs the child under callgrind; prints "caller others" (instructions
# on the main thread, and on every other thread together).
count() {
  local logger="$1" calls="$2" dir="$work/$1-$2" caller=0 others=0 f t lines
  mkdir -p "$dir"
  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$dir/cg.%p" \
    "$latency" --child "$logger" burst --file "$dir/log" --n "$calls" --warmup 0 --gap-ns 0 \
    --queue $((2 * n + 1024)) --ns-per-tick 1 >"$dir/out" 2>"$dir/err" \
    || { echo "instructions.sh: $logger ($calls calls) failed under valgrind:" >&2; grep -v '^==' "$dir/err" | tail -5 >&2; return 1; }
  lines="$("$latency" --check "$dir/log" "$calls" 1 | awk '$1 == "valid" { print $2 }')"
  if [ "$lines" != "$calls" ]; then
    echo "instructions.sh: $logger wrote $lines intact lines of $calls" >&2
    return 1
  fi
  for f in "$dir"/cg.*-*; do
    t="$(total "$f")"
    case "$f" in
      *-01) caller=$((caller + t)) ;;
      *) others=$((others + t)) ;;
    esac
  done
  echo "$caller $others"
}

per_call() { awk -v a="$1" -v b="$2" -v n="$n" 'BEGIN { printf "%.0f", (b - a) / n }'; }

rows=()
quill_total=""
IFS=, read -r -a names <<<"$loggers"
for lg in "${names[@]}"; do
  echo "instructions.sh: $lg, $n and $((2 * n)) calls under callgrind" >&2
  one="$(count "$lg" "$n")" || exit 1
  two="$(count "$lg" $((2 * n)))" || exit 1
  read -r c1 o1 <<<"$one"
  read -r c2 o2 <<<"$two"
  caller="$(per_call "$c1" "$c2")"
  others="$(per_call "$o1" "$o2")"
  rows+=("$lg $caller $others $((caller + others))")
  [ "$lg" = quill ] && quill_total="$((caller + others))" && quill_caller="$caller"
done

echo "Instructions per log call (callgrind; ($((2 * n)) calls - $n calls) / $n; queue of $((2 * n + 1024)) records)"
echo
if [ -n "$quill_total" ]; then
  echo "| logger | calling thread | logger's threads | total | calling thread vs Quill | total vs Quill |"
  echo "|---|---:|---:|---:|---:|---:|"
else
  echo "| logger | calling thread | logger's threads | total |"
  echo "|---|---:|---:|---:|"
fi
for r in "${rows[@]}"; do
  read -r lg caller others tot <<<"$r"
  if [ -n "$quill_total" ]; then
    awk -v lg="$lg" -v c="$caller" -v o="$others" -v t="$tot" -v qc="$quill_caller" -v qt="$quill_total" \
      'BEGIN { printf "| %s | %d | %d | %d | %.2fx | %.2fx |\n", lg, c, o, t, c / qc, t / qt }'
  else
    echo "| $lg | $caller | $others | $tot |"
  fi
done
