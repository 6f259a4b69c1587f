# Shared by the lifecycle shell tests. Expects LOGWRITER (the compiled logwriter.c) and ALOG
# (the alog CLI) in the environment, as scripts/test-lifecycle.sh sets them.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${LOGWRITER:?run through scripts/test-lifecycle.sh}"
: "${ALOG:?run through scripts/test-lifecycle.sh}"
name=$(basename "$0" .sh)
work=$(mktemp -d "${TMPDIR:-/tmp}/alog-$name.XXXXXX")
cleanup_hooks=()
cleanup() {
  local h
  for h in "${cleanup_hooks[@]}"; do eval "$h" || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL $name: $*" >&2; exit 1; }
pass() { echo "ok   $name: $*"; }
check() { python3 "$here/check.py" "$@"; }
# field NAME "written=1 failed=2 ..." -> value
field() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" <<<"$2"; }
