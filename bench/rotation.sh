#!/usr/bin/env bash
# Builds libalog and bench/rotation.c and prints the rotation latency table (markdown).
# Arguments are passed to the program (--calls, --burst, --gap-ns, --rotate).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release -q -p alog-ffi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O2 -Wall -Wextra -Werror -Iinclude bench/rotation.c -Ltarget/release \
  -Wl,-Bstatic -lalog -Wl,-Bdynamic -lpthread -ldl -lm -o "$work/rotation"
"$work/rotation" "$@" "$work"
