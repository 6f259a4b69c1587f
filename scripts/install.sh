#!/usr/bin/env bash
# Builds the release library and installs libalog.so, libalog.a, alog.h and alog.pc under
# PREFIX (default /usr/local). Then: cc app.c $(pkg-config --cflags --libs alog)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
prefix=${1:-/usr/local}
cd "$root"
cargo build --release -p alog-ffi
version=$(sed -n 's/^#define ALOG_VERSION_STRING "\(.*\)"/\1/p' include/alog.h)
mkdir -p "$prefix/lib/pkgconfig" "$prefix/include"
install -m 0644 include/alog.h "$prefix/include/alog.h"
install -m 0755 target/release/libalog.so "$prefix/lib/libalog.so"
install -m 0644 target/release/libalog.a "$prefix/lib/libalog.a"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" packaging/alog.pc.in > "$prefix/lib/pkgconfig/alog.pc"
echo "installed alog $version under $prefix"
