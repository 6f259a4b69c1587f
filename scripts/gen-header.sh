#!/usr/bin/env bash
# Regenerates include/alog.h from crates/alog-ffi. With --check, fails if the committed
# header differs from what cbindgen generates now.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=include/alog.h
if [ "${1:-}" = "--check" ]; then
  tmp=$(mktemp)
  trap 'rm -f "$tmp"' EXIT
  cbindgen --config crates/alog-ffi/cbindgen.toml --crate alog-ffi -o "$tmp" crates/alog-ffi
  if ! cmp -s "$tmp" "$out"; then
    echo "include/alog.h is stale: run bash scripts/gen-header.sh and commit it" >&2
    diff -u "$out" "$tmp" >&2 || true
    exit 1
  fi
  echo "include/alog.h is up to date"
else
  cbindgen --config crates/alog-ffi/cbindgen.toml --crate alog-ffi -o "$out" crates/alog-ffi
  echo "wrote $out"
fi
