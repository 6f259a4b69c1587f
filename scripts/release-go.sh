#!/usr/bin/env bash
# Builds what a published version of the Go module needs so that `go get` and `go build` use
# no Rust toolchain: libalog.a for each target into bindings/go/lib/GOOS_GOARCH/ and the header
# into bindings/go/include/, the folders bindings/go/cgo.go links from (after the checkout's
# own target/release, which a `replace` directive to a checkout keeps using).
#
#   bash scripts/release-go.sh                 # linux/amd64 and linux/arm64 (and darwin on macOS)
#   bash scripts/release-go.sh linux/amd64     # chosen targets
#
# A target needs its Rust standard library (rustup target add aarch64-unknown-linux-gnu) and,
# for cross builds, a C cross compiler for the C dependencies (aarch64-linux-gnu-gcc, from
# Debian's gcc-aarch64-linux-gnu). A target whose toolchain is missing is reported and skipped;
# the script fails if no target was built. Then, on a release branch:
#
#   git add -f bindings/go/lib bindings/go/include && git commit -m "Go module: libraries for vX"
#   git tag bindings/go/vX.Y.Z
#
# (the folders are ignored on ordinary branches, so that a checkout never links a stale copy).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(linux/amd64 linux/arm64)
  [ "$(uname -s)" = Darwin ] && targets+=(darwin/amd64 darwin/arm64)
fi

built=0
for t in "${targets[@]}"; do
  case "$t" in
    linux/amd64) triple=x86_64-unknown-linux-gnu cc=x86_64-linux-gnu-gcc ;;
    linux/arm64) triple=aarch64-unknown-linux-gnu cc=aarch64-linux-gnu-gcc ;;
    darwin/amd64) triple=x86_64-apple-darwin cc=cc ;;
    darwin/arm64) triple=aarch64-apple-darwin cc=cc ;;
    *) echo "release-go.sh: unknown target $t (linux/amd64, linux/arm64, darwin/amd64, darwin/arm64)" >&2; exit 2 ;;
  esac
  host=$(rustc -vV | sed -n 's/^host: //p')
  if [ "$triple" != "$host" ]; then
    if ! rustup target list --installed 2>/dev/null | grep -qx "$triple"; then
      echo "release-go.sh: skipping $t: no Rust standard library for $triple (rustup target add $triple)" >&2
      continue
    fi
    if ! command -v "$cc" >/dev/null; then
      echo "release-go.sh: skipping $t: no C cross compiler $cc" >&2
      continue
    fi
    var=$(echo "$triple" | tr 'a-z-' 'A-Z_')
    export "CC_${triple//-/_}=$cc" "CARGO_TARGET_${var}_LINKER=$cc"
  fi
  echo "=== $t ($triple)" >&2
  cargo build --release -p alog-ffi --target "$triple" >&2
  dest="bindings/go/lib/${t/\//_}"
  mkdir -p "$dest"
  cp "target/$triple/release/libalog.a" "$dest/libalog.a"
  # The debug information is most of the archive's size; a program built on it has no use for it.
  strip_tool="${cc%gcc}strip"
  command -v "$strip_tool" >/dev/null || strip_tool=strip
  "$strip_tool" --strip-debug "$dest/libalog.a"
  echo "$dest/libalog.a: $(du -h "$dest/libalog.a" | cut -f1)"
  built=$((built + 1))
done
mkdir -p bindings/go/include
cp include/alog.h bindings/go/include/alog.h
if [ "$built" -eq 0 ]; then
  echo "release-go.sh: no target was built" >&2
  exit 1
fi
echo "built $built of ${#targets[@]} targets; header in bindings/go/include/alog.h"
