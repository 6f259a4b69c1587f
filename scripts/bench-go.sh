#!/usr/bin/env bash
# Benchmarks alog's Go binding (direct API and log/slog handler) against zap, zerolog and
# log/slog's JSON handler on a buffered file, in one `go test -bench` run of the module
# bindings/go/bench, and prints a markdown table of the medians (ns/op, B/op, allocs/op).
#
#   bash scripts/bench-go.sh                 # 1 s per benchmark, 3 runs
#   ALOG_BENCH_TIME=5000x ALOG_BENCH_COUNT=5 bash scripts/bench-go.sh
#
# Needs Go >= 1.24 and cargo; downloads zap and zerolog through the Go module proxy.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
sustained=${ALOG_BENCH_TIME:-1s}
burst=${ALOG_BENCH_BURST:-4000x}
count=${ALOG_BENCH_COUNT:-3}

cargo build --release -p alog-ffi >&2
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT

# table TITLE: the markdown tables (medians) of the benchmark lines in $raw.
# Benchmark lines: name N ns/op "ns/op" flush "flush-ns/op" B "B/op" allocs "allocs/op".
table() {
  echo "**$1**"
  echo
  awk '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return a[int((n + 1) / 2)]
  }
  /^Benchmark/ {
    name = $1; sub(/-[0-9]+$/, "", name); sub(/^Benchmark/, "", name)
    split(name, parts, "/"); work = parts[1]; lib = parts[2]
    if (!(work in seen)) { seen[work] = 1; works[++nw] = work }
    if (!(lib in seenlib)) { seenlib[lib] = 1; libs[++nl] = lib }
    for (i = 3; i < NF; i += 2) v[work, lib, $(i + 1)] = v[work, lib, $(i + 1)] " " $i
  }
  END {
    for (w = 1; w <= nw; w++) {
      printf "| %s | ns/op | flush ns/op | B/op | allocs/op |\n|---|---:|---:|---:|---:|\n", works[w]
      for (l = 1; l <= nl; l++) {
        if (!((works[w], libs[l], "ns/op") in v)) continue
        printf "| %s | %.0f | %.0f | %.0f | %.0f |\n", libs[l], median(v[works[w], libs[l], "ns/op"]),
          median(v[works[w], libs[l], "flush-ns/op"]), median(v[works[w], libs[l], "B/op"]),
          median(v[works[w], libs[l], "allocs/op"])
      }
      print ""
    }
  }' "$raw"
}

bench() {
  (cd bindings/go/bench && go test -run '^$' -bench . -benchmem -benchtime "$1" -count "$count" ./...) | tee "$raw" >&2
}

# The machine's load average (1, 5, 15 minutes) when a run starts: the figures depend on it,
# alog's most (its writer thread needs a CPU of its own).
loadavg() { if [ -r /proc/loadavg ]; then cut -d' ' -f1-3 /proc/loadavg; else uptime | sed 's/.*average[s]*: //'; fi; }
load_before=$(loadavg)
bench "$burst"
load_burst=$(loadavg)
cpu=$(sed -n 's/^cpu: //p' "$raw" | head -n1)
echo
echo "Go $(go env GOVERSION), $(nproc) CPUs ($cpu), $(date -u +%Y-%m-%d), median of $count runs, JSON lines to a file."
echo "Load average: $load_before before the burst runs, $load_burst after them."
echo "ns/op: the caller's cost per record; flush ns/op: the whole run including the final flush"
echo "(for alog: until every record is in the file and the writer thread has joined), per record."
echo
table "Burst: -benchtime $burst, records that fit in alog's queue of 8192 (the cost a caller sees)"
bench "$sustained"
echo "Load average after the sustained runs: $(loadavg)."
echo
table "Sustained: -benchtime $sustained (alog's callers wait for its writer thread once the queue is full)"
