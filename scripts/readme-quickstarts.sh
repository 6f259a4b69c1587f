#!/usr/bin/env bash
# Runs the README's quick starts verbatim, as a new user would, with HOME set to an empty
# folder: the C quick start (its sh block installs alog into $HOME/.local and builds app.c with
# pkg-config), its program again with the SQLite sink as "Shipping logs" shows (needs the
# sqlite3 program), then the CMake section's CMakeLists.txt with the C++ quick start's app.cpp.
# Checks what each program logged. Exits non-zero on the first failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
readme="$root/README.md"
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
unset PKG_CONFIG_PATH ALOG_SYNC
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# block SECTION LANG [N]: the Nth (default 1st) ```LANG block after the heading "## SECTION"
# (SECTION may be a whole heading such as "### SQLite"), before the next heading of its level
# (a "# comment" inside a code block is not a heading).
block() {
  local sec="## $1"
  case "$1" in \#*) sec=$1 ;; esac
  awk -v sec="$sec" -v lang='```'"$2" -v want="${3:-1}" '
    BEGIN { depth = index(sec, " ") - 1 }
    {
      if (on) { if ($0 ~ /^```$/) exit; print; next }
      if ($0 == sec && !fence) { in_sec = 1; next }
      if (in_sec && !fence && match($0, /^#+ /) && RLENGTH - 1 <= depth) exit
      if (in_sec && $0 == lang && ++n == want) { on = 1; next }
      if ($0 ~ /^```/) fence = !fence
    }' "$readme"
}

export HOME="$work/home"
mkdir -p "$HOME" "$work/c" "$work/cmake"

echo "--- C quick start (pkg-config), from a folder holding app.c and alog's scripts/"
block "C quick start" c >"$work/c/app.c"
ln -s "$root/scripts" "$work/c/scripts"
block "C quick start" sh >"$work/c/quickstart.sh"
[ -s "$work/c/app.c" ] && [ -s "$work/c/quickstart.sh" ] || fail "README: C quick start blocks not found"
(cd "$work/c" && bash -e quickstart.sh) >"$work/c.log" 2>&1 || { tail -30 "$work/c.log"; fail "C quick start"; }
[ "$(wc -l <"$work/c/logs/app.log")" -eq 2 ] || fail "C quick start wrote $(wc -l <"$work/c/logs/app.log") lines"
grep -q '"msg":"slow request","source":{"file":"app.c","line":' "$work/c/logs/app.log" || fail "C quick start: $(cat "$work/c/logs/app.log")"
echo "C quick start: installed into \$HOME/.local, built with pkg-config, ran, wrote the two documented lines"

echo "--- Shipping logs, SQLite: the quick start's program with the SQLite sink, queried by sqlite3"
block "### SQLite" sh >"$work/c/sqlite.sh"
[ -s "$work/c/sqlite.sh" ] || fail "README: the SQLite block was not found"
got=$(cd "$work/c" && bash -e sqlite.sh 2>&1) || { echo "$got"; fail "the README's SQLite commands"; }
# (the 2nd bare fence of the subsection opens the output: the 1st closes the sh block)
shown=$(block "### SQLite" "" 2)
[ -n "$shown" ] && [ "$got" = "$shown" ] || { diff <(echo "$shown") <(echo "$got") || true; fail "the README's SQLite output differs from what sqlite3 printed"; }
echo "SQLite: the program wrote its two records as rows, sqlite3 printed what the README shows"

echo "--- CMake (find_package) with the C++ quick start's app.cpp"
block "CMake" cmake >"$work/cmake/CMakeLists.txt"
block "C++ quick start" cpp >"$work/cmake/app.cpp"
block "CMake" sh >"$work/cmake/build.sh"
(cd "$work/cmake" && bash -e build.sh) >"$work/cmake.log" 2>&1 || { tail -30 "$work/cmake.log"; fail "CMake quick start"; }
log="$work/cmake/logs/app.log"
[ "$(wc -l <"$log")" -eq 3 ] || fail "C++ quick start wrote $(wc -l <"$log") lines"
want='"level":"INFO","msg":"user ann from 10.0.0.1 in 12.3 ms","source":{"file":"app.cpp","line":7,"function":"main"}}
"level":"WARN","msg":"queue at  97%","source":{"file":"app.cpp","line":8,"function":"main"}}
"level":"WARN","msg":"slow request","source":{"file":"app.cpp","line":9,"function":"main"},"user":"ann","ms":1250}'
got=$(sed 's/^{"ts":"[^"]*",//; s|"file":"[^"]*/app.cpp"|"file":"app.cpp"|' "$log")
[ "$got" = "$want" ] || { diff <(echo "$want") <(echo "$got") || true; fail "C++ quick start output"; }
# The README shows these lines: the same, apart from the timestamps.
# (the 2nd bare fence of the section opens it: the 1st closes the cpp block)
shown=$(block "C++ quick start" "" 2 | sed 's/^{"ts":"[^"]*",//')
[ "$shown" = "$want" ] || { diff <(echo "$want") <(echo "$shown") || true; fail "the README's C++ output differs from what the program wrote"; }
echo "CMake + C++ quick start: find_package(alog), built, ran, wrote the three lines the README shows"
