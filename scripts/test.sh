#!/usr/bin/env bash
# Runs every test of the project: the header drift check, formatting and lints, the Rust
# unit and integration tests, the loom models, short fuzz runs, the C programs (plain, under
# ASan+UBSan and under valgrind) and the pkg-config install. Exits non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
fuzz_seconds=${ALOG_FUZZ_SECONDS:-30}

# Free space where the builds go, printed with every step: a CI machine's disk is not ours to
# size, and a full disk should be seen as such at once.
avail() { df -Pk . | awk 'NR == 2 { printf "%.1f GiB", $4 / 1048576 }'; }
step() { printf '\n=== %s (disk: %s free)\n' "$*" "$(avail)"; }

step "prerequisites"
bash scripts/prereqs.sh
export PATH="$HOME/.cargo/bin:$PATH"
# Incremental compilation caches (hundreds of MB) buy nothing in a run that builds once.
export CARGO_INCREMENTAL=0

step "include/alog.h matches cbindgen's output"
bash scripts/gen-header.sh --check

step "rustfmt, clippy and rustdoc"
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --document-private-items --quiet

step "Rust unit, integration and doc tests"
cargo test --workspace

step "Rust facades: a log program and a tracing program writing into alog (features log, tracing)"
cargo clippy -p alog-core --all-targets --features log,tracing -- -D warnings
cargo test -p alog-core --features log,tracing --test facade_log --test facade_tracing
cargo test -p alog-core --features log,tracing --doc facade
# The same build has no `tls` feature: syslog=tls:// is refused saying so.
cargo test -p alog-core --features log,tracing --test syslog_net bad_receiver_urls

step "loom models of the queue"
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p alog-core --lib --release loom_tests
# Builds only these steps use are removed after them (ALOG_KEEP_BUILDS=1 keeps them), so that
# the run's peak disk use is one build of each kind, not all of them at once.
[ -n "${ALOG_KEEP_BUILDS:-}" ] || rm -rf target/loom

step "fuzz: ${fuzz_seconds}s per target"
fuzz_log=$(mktemp)
for target in config_parser record_encoding printf_render reader recovery journal; do
  if ! (cd crates/alog-core && RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" -- -max_total_time="$fuzz_seconds" -print_final_stats=1) >"$fuzz_log" 2>&1; then
    tail -n 60 "$fuzz_log"
    echo "fuzz target $target failed"
    exit 1
  fi
  echo "$target: $(grep -E '^stat::number_of_executed_units' "$fuzz_log" | tr -s ' ')"
done
rm -f "$fuzz_log"
[ -n "${ALOG_KEEP_BUILDS:-}" ] || rm -rf crates/alog-core/fuzz/target

step "C programs: plain, ASan+UBSan, valgrind"
bash tests/c/run.sh

step "file lifecycle: 4 x 1M rotation (plain/gzip/zstd/encrypted), logrotate, rsyslog, disk full, 4 processes"
bash scripts/test-lifecycle.sh

step "Python binding: pip install ./python, abi3 wheel, clippy/fmt of the PyO3 crate, pytest"
bash scripts/test-python.sh

step "Go binding: gofmt, go vet, go test -race, cgocheck2, a program outside the module"
bash scripts/test-go.sh

if command -v go >/dev/null || [ -x /usr/local/go/bin/go ]; then
  step "OTLP: an OpenTelemetry Collector built from the Go module proxy (cached), the OTLP sink's tests against it"
  bash scripts/test-otlp.sh
else
  echo "no Go toolchain: the OTLP sink's tests against a real collector are skipped"
fi

step "CMake: build, install, exported symbols, examples/cmake via find_package, add_subdirectory, FetchContent; pkg-config"
bash scripts/test-cmake.sh

step "pkg-config: install to a temporary prefix and build the demo against it"
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
bash scripts/install.sh "$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
test "$(pkg-config --modversion alog)" = "$(sed -n 's/^#define ALOG_VERSION_STRING "\(.*\)"/\1/p' include/alog.h)"
# shellcheck disable=SC2046
cc -O2 -Wall -Wextra -Werror examples/demo.c $(pkg-config --cflags alog) -L"$prefix/lib" -Wl,-Bstatic -lalog -Wl,-Bdynamic -lpthread -ldl -lm -o "$prefix/demo-static"
# shellcheck disable=SC2046
cc -O2 -Wall -Wextra -Werror examples/demo.c $(pkg-config --cflags --libs alog) -lpthread -Wl,-rpath,"$prefix/lib" -o "$prefix/demo-shared"
"$prefix/demo-static" "$prefix/logs-static" >/dev/null 2>&1
"$prefix/demo-shared" "$prefix/logs-shared" >/dev/null 2>&1
for v in static shared; do
  n=$(wc -l < "$prefix/logs-$v/app.log")
  test "$n" -eq 1000001 || { echo "demo-$v wrote $n lines, expected 1000001"; exit 1; }
done
echo "demo built with pkg-config (static and shared) wrote 1000001 lines each"

step "the README's C quick start compiles and runs"
awk '/^```c$/{on=1; next} /^```$/{if (on) exit} on' README.md > "$prefix/quickstart.c"
# shellcheck disable=SC2046
cc -Wall -Wextra -Werror "$prefix/quickstart.c" $(pkg-config --cflags --libs alog) -lpthread -Wl,-rpath,"$prefix/lib" -o "$prefix/quickstart"
(cd "$prefix" && ./quickstart)
test "$(wc -l < "$prefix/logs/app.log")" -eq 2
grep -q '"msg":"slow request","source":{"file":' "$prefix/logs/app.log"
echo "quick start wrote the two documented lines"

step "benchmark suite: builds, runs every logger with small counts, checks every log file"
bash bench/smoke.sh

step "Julia package: parse check, ccalls against alog.h, the checker's failure cases (Pkg.test when julia is installed)"
bash scripts/test-julia.sh

printf '\nALL TESTS PASSED\n'
