#!/usr/bin/env bash
# Turns cargo's libalog.a (the staticlib of crates/alog-ffi: every object of Rust's std and of
# the bundled zstd, with debug info, ~57 MB) into the libraries alog installs:
#
#   OUTDIR/libalog.a                 one object: only the sections the alog_* functions reach,
#                                    no debug info, and only alog_* global (std's and zstd's
#                                    symbols are local, so they never clash with a system zstd
#                                    or another Rust library linked into the same program)
#   OUTDIR/libalog.so.X.Y.Z          the same code linked with packaging/alog.map (exports
#                                    alog_* only, versioned ALOG_<compat>), SONAME
#                                    libalog.so.<compat>, without debug info
#   OUTDIR/libalog.so.X.Y.Z.debug    its debug info (found by gdb through .gnu_debuglink)
#   OUTDIR/libalog.so.<compat>, OUTDIR/libalog.so   the version links
#   OUTDIR/exports.txt               the exported names, one a line
#
# <compat> is the major version, or 0.MINOR while the major version is 0 (0.x minors break).
#
# usage: scripts/lean-lib.sh CARGO_STATICLIB OUTDIR VERSION
# env:   CC (default cc), LD (default ld), OBJCOPY (default objcopy), AR (default ar)
set -euo pipefail
if [ $# -ne 3 ]; then
  echo "usage: $0 CARGO_STATICLIB OUTDIR VERSION" >&2
  exit 2
fi
in=$1 out=$2 version=$3
here=$(cd "$(dirname "$0")" && pwd)
map="$here/../packaging/alog.map"
CC=${CC:-cc} LD=${LD:-ld} OBJCOPY=${OBJCOPY:-objcopy} AR=${AR:-ar}
[ -f "$in" ] || { echo "lean-lib: $in does not exist (run cargo build --release -p alog-ffi)" >&2; exit 1; }
case "$version" in
  0.*) compat=0.$(echo "$version" | cut -d. -f2) ;;
  *) compat=$(echo "$version" | cut -d. -f1) ;;
esac
node=$(sed -n 's/^\(ALOG_[0-9.]*\) {$/\1/p' "$map")
[ "$node" = "ALOG_$compat" ] || { echo "lean-lib: $map names version node $node, expected ALOG_$compat" >&2; exit 1; }

mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The exported names: the global functions whose name starts with alog_.
"$LD" -r -o "$tmp/all.o" --whole-archive "$in"
readelf -Ws "$tmp/all.o" | awk '$5 == "GLOBAL" && $7 != "UND" && $8 ~ /^alog_/ { print $8 }' | sort -u >"$tmp/exports.txt"
[ -s "$tmp/exports.txt" ] || { echo "lean-lib: no alog_* symbol in $in" >&2; exit 1; }

# One relocatable object holding what the exports reach. .llvmbc/.llvmcmd (bitcode that
# Rust's std carries) go: nothing uses them, and binutils' LLVM plugin aborts on them.
# shellcheck disable=SC2046 # one -u per exported name
"$LD" -r --gc-sections $(sed 's/^/-u /' "$tmp/exports.txt") -o "$tmp/gc.o" --whole-archive "$in"
"$OBJCOPY" --remove-section=.llvmbc --remove-section=.llvmcmd "$tmp/gc.o" "$tmp/code.o"

# Static: no debug info, only alog_* global.
"$OBJCOPY" --strip-debug --strip-unneeded --keep-global-symbols="$tmp/exports.txt" "$tmp/code.o" "$tmp/alog.o"
rm -f "$out/libalog.a"
"$AR" rcs "$out/libalog.a" "$tmp/alog.o"

# Shared: versioned exports, SONAME, debug info split off.
so="libalog.so.$version"
"$CC" -shared -o "$out/$so" "$tmp/code.o" -Wl,-soname,"libalog.so.$compat" \
  -Wl,--version-script="$map" -Wl,--gc-sections -Wl,-z,relro,-z,now -Wl,--as-needed \
  -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
"$OBJCOPY" --only-keep-debug "$out/$so" "$out/$so.debug"
(cd "$out" && "$OBJCOPY" --strip-debug --strip-unneeded --add-gnu-debuglink="$so.debug" "$so")
ln -sf "$so" "$out/libalog.so.$compat"
ln -sf "libalog.so.$compat" "$out/libalog.so"
cp "$tmp/exports.txt" "$out/exports.txt"
echo "lean-lib: $out/libalog.a ($(stat -c %s "$out/libalog.a") bytes), $out/$so ($(stat -c %s "$out/$so") bytes), $(wc -l <"$out/exports.txt") exports"
