#!/usr/bin/env bash
# Builds libalog, the C/C++ benchmark driver (bench/latency.cpp) and the Rust
# peers (bench/rust), runs alog beside every peer on the same workload and
# prints markdown tables with the machine and the date.
#
#   bench/run.sh                 # 3 runs, median per metric, print the tables
#   bench/run.sh --runs 1        # a single run
#   bench/run.sh --write         # also update the generated parts of bench/RESULTS.md,
#                                # the chart bench/latency.svg and the README's bench table
#   bench/run.sh --no-cargo      # use the libraries already built (target/release, bench/build)
#   bench/run.sh --no-rust       # C and C++ loggers only (no cargo build of bench/rust)
#   bench/run.sh --build-only    # build the libraries and bench/build/latency, run nothing
#   bench/run.sh -- --n-burst 200000 --scenarios burst   # options for the driver (latency --help)
#   bench/run.sh --runs 1 -- --n-latency 20000 --n-burst 20000 --n-mt2 20000 --n-mt4 20000 --warmup 2000
#
# Needs: cargo, a C++17 compiler (CXX, default g++), pkg-config and spdlog
# (Debian: apt-get install -y libspdlog-dev); --write also needs python3 (the
# chart bench/latency.svg, drawn by bench/chart.py). ALOG_INCLUDE_DIR /
# ALOG_LIB_DIR override where alog.h and libalog.{a,so} are taken from
# (default: include/ and target/release/ of this repository). Quill (header-only,
# a benchmark peer, never part of alog) is built in when its headers are found:
# QUILL_DIR/include/quill, QUILL_DIR defaulting to ../shared/peers/quill beside
# the repository; without them its rows are skipped with a note. Exits non-zero
# if a logger failed or wrote a file that is not what it promises (FAILED notes).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
build="$here/build"

runs=3
write=0
cargo_build=1
rust=1
build_only=0
bench_args=()
invocation="bench/run.sh${*:+ $*}"

usage() { sed -n '2,24s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="${2:?--runs needs a value}"; shift 2 ;;
    --write) write=1; shift ;;
    --no-cargo) cargo_build=0; shift ;;
    --no-rust) rust=0; shift ;;
    --build-only) build_only=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; bench_args=("$@"); break ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

log() { echo "run.sh: $*" >&2; }

# ---- build the library and the Rust peers
rust_target="$build/rust-target"
rust_bin="$rust_target/release/alog-bench-peers"
if [ "$cargo_build" = 1 ]; then
  log "cargo build --release -p alog-ffi"
  (cd "$root" && cargo build --release -p alog-ffi >&2)
  if [ "$rust" = 1 ]; then
    # Not --locked: when alog-core gains a dependency, cargo adds it to bench/rust/Cargo.lock
    # and keeps every version already locked there (the peers' versions stay as committed).
    log "cargo build --release (bench/rust)"
    cargo build --release --manifest-path "$here/rust/Cargo.toml" --target-dir "$rust_target" >&2
  fi
fi
if [ "$rust" = 1 ] && [ ! -x "$rust_bin" ]; then
  log "missing $rust_bin (run without --no-cargo, or use --no-rust)"; exit 1
fi
inc_dir="${ALOG_INCLUDE_DIR:-$root/include}"
lib_dir="${ALOG_LIB_DIR:-$root/target/release}"
header="$inc_dir/alog.h"
[ -f "$header" ] || { log "missing $header (is alog-ffi built?)"; exit 1; }

# Prefer the static library: the benchmark then calls alog_write directly.
if [ -f "$lib_dir/libalog.a" ]; then
  alog_link=("$lib_dir/libalog.a" -lpthread -ldl -lm)
elif [ -f "$lib_dir/libalog.so" ]; then
  alog_link=(-L"$lib_dir" -Wl,-rpath,"$lib_dir" -lalog -lpthread -ldl -lm)
else
  log "no libalog.a / libalog.so in $lib_dir"; exit 1
fi

# ---- build the driver
if ! pkg-config --exists spdlog; then
  log "spdlog not found by pkg-config (Debian: apt-get install -y libspdlog-dev)"; exit 1
fi
# Quill: header-only; -isystem keeps its headers out of -Wall -Wextra.
quill_dir="${QUILL_DIR:-$root/../shared/peers/quill}"
quill_flags=()
quill_note=""
if [ -f "$quill_dir/include/quill/Backend.h" ]; then
  quill_flags=(-DALOG_BENCH_QUILL -isystem "$quill_dir/include")
  log "Quill headers: $quill_dir/include"
else
  quill_note="Quill: not in this run (no Quill headers in QUILL_DIR or ../shared/peers/quill beside the repository)"
  log "note: no Quill headers in $quill_dir/include (set QUILL_DIR to a Quill v12 source folder); the Quill rows are skipped"
fi
mkdir -p "$build"
cxx="${CXX:-g++}"
log "$cxx -std=c++17 -O2 latency.cpp${quill_flags[*]:+ (with Quill)}"
# shellcheck disable=SC2046  # pkg-config output is meant to be word-split
"$cxx" -std=c++17 -O2 -Wall -Wextra -I"$inc_dir" $(pkg-config --cflags spdlog) ${quill_flags[@]+"${quill_flags[@]}"} \
  "$here/latency.cpp" -o "$build/latency" \
  "${alog_link[@]}" $(pkg-config --libs spdlog) -pthread
if [ "$build_only" = 1 ]; then
  log "built $build/latency"
  exit 0
fi

# ---- machine
model="$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)"
cpus="$(nproc)"
kernel="$(uname -sr)"
mem="$(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
fs="$(df -PT "${TMPDIR:-/tmp}" | awk 'NR == 2 { print $2 }')"
date_utc="$(date -u '+%Y-%m-%d %H:%M UTC')"
load="$(cut -d' ' -f1-3 /proc/loadavg)"
if awk -v l="${load%% *}" 'BEGIN { exit !(l > 0.5) }'; then
  log "warning: the machine is not idle (load average ${load}); timings will be noisy"
fi
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo "no commit")"
if ! git -C "$root" diff --quiet HEAD -- 2>/dev/null; then commit="$commit + uncommitted changes"; fi
rust_versions=""
if [ "$rust" = 1 ]; then
  # "name version" of the Rust peers, from the committed lock file
  rust_versions="$(awk '
    /^name = / { gsub(/"/, "", $3); name = $3 }
    /^version = / && name ~ /^(tracing|tracing-subscriber|tracing-appender|ftlog|spdlog-rs|log)$/ {
      gsub(/"/, "", $3); printf "%s%s %s", sep, name, $3; sep = ", " }
  ' "$here/rust/Cargo.lock")"
  rust_versions="; Rust peers: ${rust_versions}, built by $(rustc --version | cut -d' ' -f1-2) --release"
fi

# ---- run
log "running (${runs} run(s)); progress on stderr"
summary="$(mktemp)"
trap 'rm -f "$summary"' EXIT
driver_args=(--runs "$runs" --summary "$summary")
[ "$rust" = 1 ] && driver_args+=(--rust-bin "$rust_bin")
status=0
tables="$("$build/latency" "${driver_args[@]}" ${bench_args[@]+"${bench_args[@]}"})" || status=$?

machine="${model}, ${cpus} CPUs, ${mem} RAM, ${kernel}"
report="$(cat <<EOF
Date: ${date_utc}
Machine: ${machine}; log files on ${fs} (${TMPDIR:-/tmp}); load average before the run: ${load}
Source: ${commit}${rust_versions}
Command: \`${invocation}\`${quill_note:+
${quill_note}}

${tables}
EOF
)"
printf '%s\n' "$report"
if [ "$status" != 0 ]; then
  log "the benchmark reported failures (exit status $status); see the FAILED notes above"
  exit "$status"
fi

# Replaces the lines between the begin and end markers of a file with a section.
replace_block() {
  local file="$1" begin="$2" end="$3" section="$4" tmp
  tmp="$(mktemp)"
  awk -v begin="$begin" -v end="$end" -v section="$section" '
    $0 == begin { print; while ((getline line < section) > 0) print line; skipping = 1; next }
    $0 == end   { skipping = 0 }
    !skipping   { print }
  ' "$file" >"$tmp"
  mv "$tmp" "$file"
}

# ---- RESULTS.md and README.md: replace the generated parts, keep the rest
if [ "$write" = 1 ]; then
  results="$here/RESULTS.md"
  begin='<!-- generated by bench/run.sh: begin -->'
  end='<!-- generated by bench/run.sh: end -->'
  if [ ! -f "$results" ] || ! grep -qF "$begin" "$results"; then
    printf '# alog benchmark results\n\n%s\n%s\n' "$begin" "$end" >>"$results"
  fi
  section="$(mktemp)"
  printf '%s\n' "$report" >"$section"
  python3 "$here/chart.py" "$section" "$here/latency.svg"
  log "updated $here/latency.svg"
  # The chart right under the header lines (the first blank line) of the report.
  awk 'done || $0 != "" { print; next }
       { print ""; print "![Latency percentiles per logger: p50, p99, p99.9 and max, log scale](latency.svg)";
         print ""; done = 1 }' "$section" >"$section.md"
  mv "$section.md" "$section"
  replace_block "$results" "$begin" "$end" "$section"
  log "updated $results"

  readme="$root/README.md"
  begin='<!-- bench table: begin -->'
  end='<!-- bench table: end -->'
  if grep -qF "$begin" "$readme" && grep -qF "$end" "$readme"; then
    runs_text="median of ${runs} runs"
    [ "$runs" = 1 ] && runs_text="one run"
    {
      printf 'Measured %s on a %s-CPU %s machine (%s), %s of `%s`, load average before the run %s.\n' \
        "${date_utc%% *}" "${cpus}" "${model}" "${kernel}" "${runs_text}" "${invocation/ --write/}" "${load}"
      cat "$summary"
      printf '\n![Latency percentiles per logger: p50, p99, p99.9 and max, log scale](bench/latency.svg)\n'
      printf '\nAll tables, the targets, per-run values and how each logger is set up: [bench/RESULTS.md](bench/RESULTS.md).\n'
    } >"$section"
    replace_block "$readme" "$begin" "$end" "$section"
    log "updated $readme"
  else
    log "README.md has no '$begin' / '$end' markers; not updated"
  fi
  rm -f "$section"
fi
