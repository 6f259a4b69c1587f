#!/usr/bin/env bash
# Builds libalog and the demo application (examples/demo.c), runs it, and shows its logs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release -p alog-ffi
mkdir -p target/demo
cc -O2 -Wall -Wextra -Werror -Iinclude examples/demo.c target/release/libalog.a -lpthread -ldl -lm -o target/demo/demo
rm -rf target/demo/logs
time target/demo/demo target/demo/logs
echo "--- $(wc -l < target/demo/logs/app.log) lines in target/demo/logs/app.log, first 3:"
head -3 target/demo/logs/app.log
echo "--- $(wc -l < target/demo/logs/app.jsonl) lines in target/demo/logs/app.jsonl, DEBUG records:"
grep '"level":"DEBUG"' target/demo/logs/app.jsonl | head -2
