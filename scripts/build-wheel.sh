#!/usr/bin/env bash
# Builds the Python binding's binary wheel: one abi3 wheel (CPython 3.9 and newer) tagged
# manylinux_2_17 (manylinux2014), into dist/. maturin links with zig (the `ziglang` package
# from PyPI) against glibc 2.17 symbols and checks the extension's symbol versions against the
# manylinux policy before tagging, as auditwheel does; a wheel that needs a newer glibc fails
# the build instead of getting a tag it does not deserve. Installs maturin and ziglang with pip
# when they are missing. The wheel installs with `pip install --no-index` without Rust.
#
# Usage: bash scripts/build-wheel.sh [--target TRIPLE] [--sdist] [extra maturin build args]
#   --target aarch64-unknown-linux-gnu   cross-builds for 64-bit ARM Linux (rustup target add)
#   --sdist                              also writes the source distribution into dist/
# Environment: PYTHON (default python3), ALOG_MANYLINUX (default 2014, i.e. manylinux_2_17).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
py=${PYTHON:-python3}
export PATH="$HOME/.cargo/bin:$PATH"
manylinux=${ALOG_MANYLINUX:-2014}

pip_install() {
  # Debian's system Python refuses pip installs (PEP 668) unless told otherwise.
  "$py" -m pip install --quiet --disable-pip-version-check "$@" 2>/dev/null ||
    "$py" -m pip install --quiet --disable-pip-version-check --break-system-packages "$@"
}

args=()
sdist=false
target=
while [ $# -gt 0 ]; do
  case "$1" in
    --sdist) sdist=true ;;
    --target) target=$2; args+=(--target "$2"); shift ;;
    *) args+=("$1") ;;
  esac
  shift
done

"$py" -c 'import maturin' 2>/dev/null || command -v maturin >/dev/null || pip_install 'maturin>=1.5,<2'
maturin() { if command -v maturin >/dev/null; then command maturin "$@"; else "$py" -m maturin "$@"; fi; }

mkdir -p dist
case "$(uname -s)" in
  Linux)
    "$py" -c 'import ziglang' 2>/dev/null || pip_install ziglang
    if [ -n "$target" ] && command -v rustup >/dev/null; then rustup target add "$target" >/dev/null; fi
    maturin build --release --locked -m python/Cargo.toml --out dist \
      --zig --compatibility "manylinux$manylinux" ${args[@]+"${args[@]}"}
    ;;
  *)
    maturin build --release --locked -m python/Cargo.toml --out dist ${args[@]+"${args[@]}"}
    ;;
esac
if $sdist; then
  maturin sdist -m python/Cargo.toml --out dist
fi
ls -l dist
