#!/usr/bin/env bash
# Runs the README's quick starts verbatim, as a new user would, with HOME set to an empty
# folder: the C quick start (its sh block installs alog into $HOME/.local and builds app.c with
# pkg-config), then the CMake section's CMakeLists.txt with the C++ quick start's app.cpp. Checks
# what each program logged. Exits non-zero on the first failure.
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

# block SECTION LANG [N]: the Nth (default 1st) ```LANG block after the heading "## SECTION".
block() {
  awk -v sec="## $1" -v lang='```'"$2" -v want="${3:-1}" '
    $0 == sec { in_sec = 1; next }
    in_sec && /^## / { exit }
    in_sec && $0 == lang { n++; if (n == want) { on = 1; next } }
    on && /^```$/ { exit }
    on { print }' "$readme"
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
