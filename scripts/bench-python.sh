#!/usr/bin/env bash
# Benchmarks the Python binding against the standard library's FileHandler, QueueHandler +
# QueueListener + FileHandler, loguru (enqueue=True) and picologging in one run, and prints a
# markdown table. Installs the binding (pip install ./python) and the peers when missing.
# Usage: bash scripts/bench-python.sh [--records N] [--runs R] [--markdown FILE]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
py=${PYTHON:-python3}
export PATH="$HOME/.cargo/bin:$PATH"

pip_install() {
  "$py" -m pip install --quiet --disable-pip-version-check "$@" 2>/dev/null ||
    "$py" -m pip install --quiet --disable-pip-version-check --break-system-packages "$@"
}

pip_install --force-reinstall --no-deps ./python   # the binding as it is in this tree
(cd /tmp && "$py" -c 'import loguru') 2>/dev/null || pip_install loguru
(cd /tmp && "$py" -c 'import picologging') 2>/dev/null || pip_install picologging || echo "picologging unavailable for $("$py" --version); its rows are skipped"

cd /tmp
"$py" "$root/bench/python/bench.py" "$@"
