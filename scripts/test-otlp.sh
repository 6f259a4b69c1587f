#!/usr/bin/env bash
# Tests the OTLP sink against a real OpenTelemetry Collector: builds one from the Go module
# proxy (scripts/otelcol: the collector's OTLP receiver and the contrib file exporter, all at
# release 0.161.0, pinned by go.sum) unless the cached binary under target/otelcol/ matches the
# sources, then runs crates/alog-core/tests/otlp.rs with ALOG_OTELCOL pointing at it (without
# it those tests are skipped). Exits non-zero on any failure. Needs Go >= 1.26 (the collector
# 0.161.0 modules ask for it) and cargo.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH:/usr/local/go/bin"

if ! command -v go >/dev/null; then
  echo "test-otlp.sh: go not found; install Go 1.26 or newer" >&2
  exit 1
fi

src=scripts/otelcol
if [ -n "$(gofmt -l "$src")" ]; then
  echo "test-otlp.sh: gofmt would change $(gofmt -l "$src")" >&2
  exit 1
fi
# The cache key: the collector's sources and pinned modules, and the Go version.
key=$( (cat "$src/go.mod" "$src/go.sum" "$src/main.go"; go env GOVERSION) | sha256sum | cut -c1-16)
bin="$root/target/otelcol/0.161.0-$key/otelcol"
if [ ! -x "$bin" ]; then
  echo "building the OpenTelemetry Collector (otlp receiver, file exporter) into $bin"
  start=$(date +%s)
  mkdir -p "$(dirname "$bin")"
  (cd "$src" && CGO_ENABLED=0 go build -mod=readonly -trimpath -o "$bin.tmp" .)
  mv "$bin.tmp" "$bin"
  echo "collector built in $(( $(date +%s) - start )) s"
else
  echo "using the cached collector $bin"
fi
"$bin" --version

ALOG_OTELCOL="$bin" cargo test -p alog-core --test otlp
