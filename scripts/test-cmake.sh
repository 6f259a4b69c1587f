#!/usr/bin/env bash
# alog as C and C++ projects take it: the CMake build and install, the lean libraries (what
# they export, SONAME, version links, no debug info, no bundled zstd symbol), the
# examples/cmake consumer through find_package, add_subdirectory and FetchContent, pkg-config
# (shared, fully static, alog-static), and the README's CMake, pkg-config and C++ quick starts,
# run verbatim. Exits non-zero on the first failure.
#
# usage: scripts/test-cmake.sh
# env:   ALOG_CMAKE_SKIP_FETCH=1  skip the FetchContent build (it compiles alog a second time)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
unset ALOG_SYNC
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
version=$(sed -n 's/^#define ALOG_VERSION_STRING "\(.*\)"/\1/p' include/alog.h)
compat=0.$(echo "$version" | cut -d. -f2)
[ "${version%%.*}" = 0 ] || compat=${version%%.*}

say() { printf -- '--- %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

say "cmake build and install into a temporary prefix"
cmake -S . -B "$work/build" -DCMAKE_INSTALL_PREFIX="$prefix" >"$work/configure.log" || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/build" >"$work/build.log" 2>&1 || { tail -40 "$work/build.log"; exit 1; }
cmake --install "$work/build" >"$work/install.log"
lib="$prefix/lib"
expected="cmake/alog/alogConfig.cmake cmake/alog/alogConfigVersion.cmake cmake/alog/alogTargets.cmake libalog.a libalog.so libalog.so.$compat libalog.so.$version libalog.so.$version.debug pkgconfig/alog-static.pc pkgconfig/alog.pc"
got=$(cd "$lib" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort | tr '\n' ' ' | sed 's/ $//')
[ "$got" = "$expected" ] || fail "installed under lib/: $got; expected $expected"
got=$(cd "$prefix/include" && ls | tr '\n' ' ' | sed 's/ $//')
[ "$got" = "alog.h alog.hpp" ] || fail "installed under include/: $got"
[ "$(readlink "$lib/libalog.so")" = "libalog.so.$compat" ] || fail "libalog.so -> $(readlink "$lib/libalog.so")"
[ "$(readlink "$lib/libalog.so.$compat")" = "libalog.so.$version" ] || fail "libalog.so.$compat -> $(readlink "$lib/libalog.so.$compat")"
echo "installed: lib/{$expected} include/{alog.h alog.hpp}"

say "symbols: the libraries export exactly the functions alog.h declares"
so="$lib/libalog.so.$version"
header_fns=$(grep -E '^(const char \*|struct alog_conf \*|void |int |uint32_t |alog_result )alog_[a-z_]+\(' include/alog.h |
  sed 's/^[^(]*\b\(alog_[a-z_]*\)(.*/\1/' | sort)
[ "$(echo "$header_fns" | wc -l)" -ge 19 ] || fail "found only $(echo "$header_fns" | wc -l) functions in alog.h"
so_syms=$(readelf -W --dyn-syms "$so" | awk '$7 != "UND" && ($5 == "GLOBAL" || $5 == "WEAK") && $4 == "FUNC" { print $8 }' | sort)
so_plain=$(echo "$so_syms" | sed 's/@@.*//')
[ "$so_plain" = "$header_fns" ] || { diff <(echo "$header_fns") <(echo "$so_plain") || true; fail "libalog.so exports differ from alog.h (< header, > library)"; }
bad=$(echo "$so_syms" | grep -v "@@ALOG_$compat\$" || true)
[ -z "$bad" ] || fail "exports without the version ALOG_$compat: $bad"
others=$(readelf -W --dyn-syms "$so" | awk '$7 != "UND" && ($5 == "GLOBAL" || $5 == "WEAK") && $4 != "FUNC" && $8 != "ALOG_'"$compat"'" { print $8 }')
[ -z "$others" ] || fail "libalog.so exports other symbols: $others"
a_syms=$(readelf -Ws "$lib/libalog.a" | awk '$7 != "UND" && ($5 == "GLOBAL" || $5 == "WEAK") { print $8 }' | sort)
[ "$a_syms" = "$header_fns" ] || { diff <(echo "$header_fns") <(echo "$a_syms") | head -20 || true; fail "libalog.a's global symbols differ from alog.h"; }
echo "libalog.so and libalog.a export the $(echo "$header_fns" | wc -l) functions of alog.h, versioned ALOG_$compat:"
echo "$so_syms" | tr '\n' ' '
echo
soname=$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = "libalog.so.$compat" ] || fail "SONAME $soname, expected libalog.so.$compat"
if readelf -S "$so" | grep -q '\.debug_info'; then fail "libalog.so carries debug info"; fi
if readelf -S "$lib/libalog.a" | grep -q '\.debug_info'; then fail "libalog.a carries debug info"; fi
readelf -S "$so.debug" | grep -q '\.debug_info' || fail "libalog.so.$version.debug has no debug info"
readelf -p .gnu_debuglink "$so" | grep -q "libalog.so.$version.debug" || fail "libalog.so has no .gnu_debuglink"
so_size=$(stat -c %s "$so") a_size=$(stat -c %s "$lib/libalog.a")
# TLS for syslog (rustls and ring, at opt-level s) takes about 1.3 MB of libalog.so and 3.2 MB
# of libalog.a (3.93 MB and 8.59 MB with it, 2.66 MB and 5.35 MB without, when it came).
[ "$so_size" -lt 4500000 ] || fail "libalog.so is $so_size bytes"
[ "$a_size" -lt 9500000 ] || fail "libalog.a is $a_size bytes"
echo "SONAME $soname; libalog.so $so_size bytes, libalog.a $a_size bytes, no debug info (split into $(basename "$so").debug)"

say "the bundled zstd stays inside: a program with its own ZSTD_* functions links libalog.a"
cat >"$work/zstd_clash.c" <<'EOF'
/* Stands for a program linking the system's zstd: it defines functions of the same names as
 * the zstd that alog bundles. They must stay the program's own. */
#include <alog.h>
#include <stdio.h>
unsigned ZSTD_versionNumber(void) { return 424242; }
size_t ZSTD_compressBound(size_t n) { return n + 1; }
int main(int argc, char **argv) {
    alog_logger *lg;
    char err[256];
    alog_conf *conf = alog_conf_new();
    /* zstd compression of rotated files: alog's own zstd code must be linked in. */
    if (argc != 2 || alog_conf_set(conf, "compress", "zstd", err, sizeof err) != ALOG_OK ||
        alog_conf_set(conf, "rotate_bytes", "1m", err, sizeof err) != ALOG_OK ||
        alog_open(argv[1], conf, &lg, err, sizeof err) != ALOG_OK) {
        fprintf(stderr, "zstd_clash: %s\n", err);
        return 1;
    }
    alog_conf_free(conf);
    alog_write(lg, ALOG_LEVEL_INFO, "zstd", 4);
    alog_close(lg, ALOG_TIMEOUT_INFINITE);
    return ZSTD_versionNumber() == 424242 && ZSTD_compressBound(1) == 2 ? 0 : 1;
}
EOF
# The raw cargo archive exports its zstd: the same program does not link against it.
if cc -Iinclude "$work/zstd_clash.c" "$CARGO_TARGET_DIR/release/libalog.a" -lpthread -ldl -lm -o "$work/clash-raw" 2>"$work/clash-raw.log"; then
  fail "the raw cargo libalog.a linked with duplicate ZSTD_* symbols: the test cannot see a clash"
fi
grep -q 'multiple definition of `ZSTD_' "$work/clash-raw.log" || { cat "$work/clash-raw.log"; fail "raw archive: no ZSTD clash reported"; }
cc -Iinclude "$work/zstd_clash.c" "$lib/libalog.a" -lpthread -ldl -lm -o "$work/clash"
"$work/clash" "$work/clash.log"
[ "$(wc -l <"$work/clash.log")" -eq 1 ] || fail "zstd_clash wrote $(wc -l <"$work/clash.log") lines"
echo "cargo's libalog.a: multiple definition of ZSTD_*; the installed libalog.a: links and runs"

# The consumer's three lines, with the source path removed.
check_hello() { # check_hello LOGFILE LABEL
  local want got
  want=$'INFO hello from C\nWARN 100% of requests source=hello.c:25 func=main\nERROR slow request user=ann ms=1250'
  got=$(sed 's|source=[^ ]*/hello.c|source=hello.c|' "$1")
  [ "$got" = "$want" ] || { printf '%s\n' "$got"; fail "$2 wrote something else"; }
}
check_hello_cpp() { # check_hello_cpp LOGFILE LABEL
  local want got
  want=$(cat examples/cmake/hello_cpp.expected)
  got=$(sed 's|source=[^ ]*/hello.cpp|source=hello.cpp|' "$1")
  [ "$got" = "$want" ] || { diff <(echo "$want") <(echo "$got") || true; fail "$2 wrote something else"; }
}
run_example() { # run_example BUILDDIR LABEL
  local b=$1 label=$2
  for exe in hello_c hello_c_static hello_cpp; do
    rm -f "$work/$exe.log"
    "$b/$exe" "$work/$exe.log" || fail "$label: $exe exited with $?"
  done
  check_hello "$work/hello_c.log" "$label hello_c"
  check_hello "$work/hello_c_static.log" "$label hello_c_static"
  check_hello_cpp "$work/hello_cpp.log" "$label hello_cpp"
  readelf -d "$b/hello_c" | grep -q "NEEDED.*\[libalog.so.$compat\]" || fail "$label: hello_c does not need libalog.so.$compat"
  if readelf -d "$b/hello_c_static" | grep -q 'NEEDED.*libalog'; then fail "$label: hello_c_static needs libalog.so"; fi
  echo "$label: hello_c (shared), hello_c_static and hello_cpp wrote their expected lines"
}

say "examples/cmake: find_package(alog) of the installed prefix"
cmake -S examples/cmake -B "$work/ex-package" -DALOG_FROM=package -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/ex-package" >"$work/ex-package.log" 2>&1 || { tail -40 "$work/ex-package.log"; exit 1; }
run_example "$work/ex-package" package

say "examples/cmake: add_subdirectory of this tree"
cmake -S examples/cmake -B "$work/ex-subdir" -DALOG_FROM=subdirectory -DALOG_SOURCE_DIR="$root" >/dev/null
cmake --build "$work/ex-subdir" >"$work/ex-subdir.log" 2>&1 || { tail -40 "$work/ex-subdir.log"; exit 1; }
run_example "$work/ex-subdir" subdirectory

if [ "${ALOG_CMAKE_SKIP_FETCH:-0}" != 1 ]; then
  say "examples/cmake: FetchContent of a source archive of this tree"
  # The archive holds the tracked files as they are in the working tree.
  git ls-files -z --cached --others --exclude-standard | grep -zv '^target/' |
    tar --null -T - --transform 's|^|alog/|' -czf "$work/alog-src.tar.gz"
  cmake -S examples/cmake -B "$work/ex-fetch" -DALOG_FROM=fetchcontent -DALOG_URL="file://$work/alog-src.tar.gz" >/dev/null
  cmake --build "$work/ex-fetch" >"$work/ex-fetch.log" 2>&1 || { tail -40 "$work/ex-fetch.log"; exit 1; }
  run_example "$work/ex-fetch" fetchcontent
fi

say "pkg-config: shared, fully static (--static with -static), alog-static"
export PKG_CONFIG_PATH="$lib/pkgconfig"
[ "$(pkg-config --modversion alog)" = "$version" ] || fail "pkg-config --modversion alog: $(pkg-config --modversion alog)"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror examples/cmake/hello.c $(pkg-config --cflags --libs alog) -Wl,-rpath,"$lib" -o "$work/pc-shared"
# shellcheck disable=SC2046
cc -static -std=c11 -Wall -Wextra -Werror examples/cmake/hello.c $(pkg-config --static --cflags --libs alog) -o "$work/pc-full-static" 2>"$work/pc-full-static.log" ||
  { cat "$work/pc-full-static.log"; fail "cc -static \$(pkg-config --static --libs alog)"; }
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror examples/cmake/hello.c $(pkg-config --cflags --libs alog-static) -o "$work/pc-static"
for v in shared full-static static; do
  rm -f "$work/pc-$v.log"
  "$work/pc-$v" "$work/pc-$v.log" || fail "pc-$v exited with $?"
  check_hello "$work/pc-$v.log" "pc-$v"
done
readelf -d "$work/pc-shared" | grep -q "NEEDED.*libalog.so.$compat" || fail "pc-shared does not need libalog.so"
if readelf -d "$work/pc-full-static" | grep -q NEEDED; then fail "pc-full-static needs shared libraries"; fi
if readelf -d "$work/pc-static" | grep -q 'NEEDED.*libalog'; then fail "pc-static needs libalog.so"; fi
echo "pkg-config alog (shared), --static with -static (no NEEDED at all), alog-static: each wrote its three lines"

say "the README's quick starts (C with pkg-config, CMake with C++), verbatim"
bash scripts/readme-quickstarts.sh

echo "test-cmake: all passed"
