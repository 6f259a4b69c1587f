#!/usr/bin/env bash
# Builds and installs the Python binding the way users do (`pip install ./python`), checks
# that the wheel is abi3 for CPython 3.9+, lints the PyO3 crate (its own workspace, so the
# root's clippy and fmt do not cover it) and runs the pytest suite. Installs pip, pytest and
# maturin only when they are missing. Exits non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
py=${PYTHON:-python3}
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n=== %s\n' "$*"; }

pip_install() {
  # Debian's system Python refuses pip installs (PEP 668) unless told otherwise.
  "$py" -m pip install --quiet --disable-pip-version-check "$@" 2>/tmp/alog-pip-err.$$ || {
    if grep -q externally-managed /tmp/alog-pip-err.$$; then
      "$py" -m pip install --quiet --disable-pip-version-check --break-system-packages "$@"
    else
      cat /tmp/alog-pip-err.$$ >&2
      rm -f /tmp/alog-pip-err.$$
      return 1
    fi
  }
  rm -f /tmp/alog-pip-err.$$
}

step "prerequisites: pip, pytest, maturin"
if ! "$py" -m pip --version >/dev/null 2>&1; then
  if command -v apt-get >/dev/null && ! "$py" -m ensurepip --upgrade >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq python3-pip
  fi
fi
"$py" -c 'import pytest' 2>/dev/null || pip_install pytest
command -v maturin >/dev/null || "$py" -c 'import maturin' 2>/dev/null || pip_install maturin

step "rustfmt and clippy of the PyO3 crate"
(cd python && cargo fmt --check && cargo clippy --locked --all-targets -- -D warnings)

step "the wheel is abi3 for CPython 3.9 and newer"
wheels=$(mktemp -d)
trap 'rm -rf "$wheels"' EXIT
"$py" -m pip wheel --quiet --disable-pip-version-check --no-deps -w "$wheels" ./python
ls "$wheels"
ls "$wheels" | grep -Eq '^alog_engine-.*-cp39-abi3-.*\.whl$' || { echo "not a cp39-abi3 wheel"; exit 1; }

step "pip install ./python"
pip_install --force-reinstall --no-deps ./python
(cd /tmp && "$py" -c 'import alog, alog.logxpy; print("import alog:", alog.__version__, alog.__file__)')

step "pytest"
cd python/tests
"$py" -m pytest -q -p no:cacheprovider "$@"
