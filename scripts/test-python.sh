#!/usr/bin/env bash
# Builds the Python binding's binary wheel (scripts/build-wheel.sh: abi3, manylinux_2_17),
# installs it into a fresh virtualenv without Rust on PATH and logs through it, installs from
# source as users do (`pip install ./python`), lints the PyO3 crate (its own workspace, so the
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

step "rustfmt, clippy and unit tests of the PyO3 crate"
(cd python && cargo fmt --check && cargo clippy --locked --all-targets -- -D warnings && cargo test --locked --quiet)

step "binary wheel: abi3 for CPython 3.9+, tagged manylinux_2_17 (scripts/build-wheel.sh)"
bash scripts/build-wheel.sh
arch=$(uname -m)
wheel=$(ls -t dist/alog_engine-*-cp39-abi3-*manylinux_2_17_"$arch".whl 2>/dev/null | head -n 1)
[ -n "$wheel" ] || { echo "no cp39-abi3 manylinux_2_17_$arch wheel in dist/"; ls dist; exit 1; }
echo "wheel: $wheel"

step "the wheel installs with pip --no-index into a fresh virtualenv with no Rust on PATH"
venv=$(mktemp -d)
trap 'rm -rf "$venv"' EXIT
"$py" -m venv "$venv" 2>/dev/null || {
  command -v apt-get >/dev/null && apt-get update -qq && apt-get install -y -qq python3-venv
  "$py" -m venv "$venv"
}
norust_path="$venv/bin:/usr/bin:/bin"
if PATH="$norust_path" command -v cargo >/dev/null || PATH="$norust_path" command -v rustc >/dev/null; then
  echo "cargo or rustc is on $norust_path: this step would not show that the wheel needs no Rust"; exit 1
fi
env -i HOME="$venv" PATH="$norust_path" "$venv/bin/python" -m pip install --quiet --no-index \
  --disable-pip-version-check "$wheel"
(cd "$venv" && env -i HOME="$venv" PATH="$norust_path" "$venv/bin/python" - <<'PY'
import json, logging, alog
log = alog.Logger("logs/app.jsonl", format="json")
log.info("from the wheel", n=1)
log.close()
h = alog.Handler("logs/std.log")
logging.getLogger("w").addHandler(h)
logging.getLogger("w").warning("via logging %d", 2)
h.close()
rec = json.loads(open("logs/app.jsonl").read())
assert (rec["msg"], rec["n"]) == ("from the wheel", 1), rec
line = open("logs/std.log").read()
assert line.count("\n") == 1 and " WARNING via logging 2" in line, line
print("the wheel logs in a fresh virtualenv:", alog.__file__)
PY
)

step "pip install ./python (from source: the second way to install)"
pip_install --force-reinstall --no-deps ./python
(cd /tmp && "$py" -c 'import alog, alog.logxpy; print("import alog:", alog.__version__, alog.__file__)')

step "the tests run against the binary wheel"
pip_install --force-reinstall --no-deps "$wheel"

step "pytest"
cd python/tests
"$py" -m pytest -q -p no:cacheprovider "$@"
