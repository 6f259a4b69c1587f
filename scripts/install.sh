#!/usr/bin/env bash
# Builds the release library with CMake (which runs cargo) and installs it under PREFIX
# (default /usr/local): lib/libalog.so.X.Y.Z with its version links and split debug file,
# lib/libalog.a, include/alog.h and alog.hpp, lib/pkgconfig/alog.pc and alog-static.pc, and
# the CMake package lib/cmake/alog. Then: cc app.c $(pkg-config --cflags --libs alog), or
# find_package(alog) in CMake.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
prefix=${1:-/usr/local}
build=${ALOG_BUILD_DIR:-"$root/target/cmake"}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_LIBDIR=lib >/dev/null
cmake --build "$build"
cmake --install "$build" --prefix "$prefix"
echo "installed alog $(sed -n 's/^#define ALOG_VERSION_STRING "\(.*\)"/\1/p' "$root/include/alog.h") under $prefix"
