#!/usr/bin/env bash
# Tests of the Julia package julia/ALog. No Julia is needed for the static checks:
#   1. scripts/check-julia.py on the real tree: every .jl file parses (tree-sitter's Julia
#      grammar) and every ccall matches include/alog.h;
#   2. the checker fails, with a message naming the problem, on deliberately broken copies:
#      a file with a syntax error, an argument type changed, an argument dropped, a call to a
#      function the header does not declare, a struct field and a constant that disagree, a
#      handle_message / shouldlog / finalizer from which a throw is reachable, a blocking call
#      outside @gcsafe, a seed name missing or not exported, LogMessage's fields reordered;
#   3. when a `julia` binary is on PATH: builds libalog and runs the package's test suite
#      (Pkg.test) against it; otherwise says that it was skipped.
# Installs its Python prerequisites (tree-sitter, tree-sitter-julia) when missing.
# Exits non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

step() { printf '\n=== %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

step "prerequisites: tree-sitter and its Julia grammar"
usable='import tree_sitter_julia as j; from tree_sitter import Language, Parser; Parser(Language(j.language()))'
if ! python3 -c "$usable" 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check \
    'tree-sitter==0.25.2' 'tree-sitter-julia==0.23.1' \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages \
      'tree-sitter==0.25.2' 'tree-sitter-julia==0.23.1'
fi
python3 -c "$usable" || fail "tree-sitter and tree-sitter-julia are not usable after installing them"
python3 -c 'from importlib.metadata import version as v; print("tree-sitter", v("tree-sitter"), "/ tree-sitter-julia", v("tree-sitter-julia"))'

step "static check of the real tree"
python3 scripts/check-julia.py

step "the checker rejects broken copies"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
raw_rel=julia/ALog/src/libalog.jl

# Runs the checker on a fresh copy of julia/ changed by "$2" (a command run in the copy)
# and expects failure with output matching the regex "$3".
expect_failure() {
  local name=$1 change=$2 want=$3 copy="$work/$1" out rc
  rm -rf "$copy"
  mkdir -p "$copy"
  cp -r julia "$copy/julia"
  (cd "$copy" && eval "$change")
  # The change must really have changed something.
  if diff -r -q julia "$copy/julia" >/dev/null; then fail "$name: the change did not apply"; fi
  set +e
  out=$(python3 scripts/check-julia.py --julia-dir "$copy/julia" 2>&1)
  rc=$?
  set -e
  [ "$rc" -eq 1 ] || { echo "$out"; fail "$name: checker exited $rc, expected 1"; }
  grep -Eq -- "$want" <<<"$out" || { echo "$out"; fail "$name: no message matching /$want/"; }
  printf 'ok  %-28s %s\n' "$name" "$(grep -E -m1 -- "$want" <<<"$out" | sed "s|$copy/||")"
}

expect_failure syntax-error \
  "printf 'function broken(x)\n    return (x +\nend\n' > julia/ALog/src/broken.jl" \
  'broken\.jl:[0-9]+: syntax error'
expect_failure unclosed-struct \
  "printf 'struct Half\n    a::Int\n' > julia/ALog/test/half.jl" \
  'half\.jl:[0-9]+: syntax error'
expect_failure argument-type \
  "sed -i 's/(Ptr{alog_logger}, UInt32), lg, timeout_ms)/(Ptr{alog_logger}, Int32), lg, timeout_ms)/' $raw_rel" \
  'libalog\.jl:[0-9]+: ccall of alog_(flush|close): argument 2 \(timeout_ms\) is Int32, but the header.s type is uint32_t'
expect_failure argument-count \
  "sed -i 's/(Ptr{alog_logger}, Int32), lg, level)/(Ptr{alog_logger},), lg)/' $raw_rel" \
  'ccall of alog_set_level: 1 argument types, the header declares 2'
expect_failure return-type \
  "sed -i 's/Cint, (Ptr{alog_logger}, Int32), lg, level)/Cvoid, (Ptr{alog_logger}, Int32), lg, level)/' $raw_rel" \
  'ccall of alog_level_enabled: returns Cvoid, but the header returns int'
expect_failure missing-function \
  "sed -i 's/(:alog_set_level, libalog())/(:alog_set_log_level, libalog())/' $raw_rel" \
  'ccall of alog_set_log_level: include/alog.h declares no such function'
expect_failure struct-field \
  "sed -i 's/^    line::UInt32$/    line::Int32/' $raw_rel" \
  'struct alog_record: field line is Int32, the header.s is uint32_t'
expect_failure constant \
  "sed -i 's/^const ALOG_ERR_CLOSED = Int32(5)$/const ALOG_ERR_CLOSED = Int32(6)/' $raw_rel" \
  'constant ALOG_ERR_CLOSED = Int32\(6\), but the header defines 5'
expect_failure ccall-outside-raw-layer \
  "printf 'f() = ccall((:alog_version, \"libalog\"), Cstring, ())\n' >> julia/ALog/src/levels.jl" \
  'levels\.jl:[0-9]+: ccall of alog_version outside the raw layer'

# A log call that can throw, a blocking call that is not GC-safe, the seed's interface.
expect_failure handle-message-throws \
  "perl -0pi -e 's/    try\n        log_record\(lg, level, message, _module, group, id, file, line, kwargs\)\n    catch err\n        failed\(lg, err, level, message\)\n    end\n/    log_record(lg, level, message, _module, group, id, file, line, kwargs)\n/' julia/ALog/src/logger.jl" \
  'logger\.jl:[0-9]+: handle_message can throw into the log call: handle_message -> log_record -> .* is outside a try/catch'
expect_failure rethrow-in-catch \
  "perl -0pi -e 's/    catch err\n        failed\(a\.logger, err, level, message\)/    catch err\n        rethrow()/' julia/ALog/src/seed.jl" \
  'seed\.jl:[0-9]+: handle_message can throw into the log call: handle_message -> rethrow at seed\.jl'
expect_failure shouldlog-check \
  "perl -0pi -e 's/(function Logging\.shouldlog\(lg::Logger, level, _module, group, id\)\n)/\$1    check(0, \"x\")\n/' julia/ALog/src/logger.jl" \
  'shouldlog can throw into the log call: shouldlog -> check -> throw at logger\.jl'
expect_failure finalizer-throws \
  "perl -0pi -e 's/(function finalize_logger\(lg::Logger\)\n)/\$1    check_live(lg)\n/' julia/ALog/src/logger.jl" \
  'finalize_logger can throw out of a finalizer: finalize_logger -> check_live -> throw'
expect_failure blocking-not-gcsafe \
  "sed -i 's/return @gcsafe ccall((:alog_flush,/return ccall((:alog_flush,/' $raw_rel" \
  'ccall of alog_flush can block: call it as @gcsafe ccall'
expect_failure runtime-ccall-type \
  "sed -i 's/ccall(:jl_gc_safe_enter, Int8, ())/ccall(:jl_gc_safe_enter, Int32, ())/' $raw_rel" \
  'ccall of jl_gc_safe_enter: must be ccall\(:jl_gc_safe_enter, Int8, \(\)\)'
expect_failure seed-name-missing \
  "sed -i 's/^function create_full_logger(/function create_debug_logger(/' julia/ALog/src/seed.jl" \
  "the seed's create_full_logger is not defined"
expect_failure seed-name-not-exported \
  "sed -i 's/get_logger_stats, create_simplified_logger, create_full_logger, ALogError,/get_logger_stats, create_full_logger, ALogError,/' julia/ALog/src/ALog.jl" \
  "the seed's create_simplified_logger is not exported"
expect_failure seed-logmessage-fields \
  "perl -0pi -e 's/    file::String\n    line::Int\n/    line::Int\n    file::String\n/' julia/ALog/src/seed.jl" \
  "LogMessage has fields .*'line', 'file'"

# The @ccall form is read too: a correct one passes, a wrong argument type fails.
at_ccall='s/return ccall((:alog_set_level, libalog()), Int32, (Ptr{alog_logger}, Int32), lg, level)/return @ccall lib.alog_set_level(lg::Ptr{alog_logger}, level::TYPE)::Int32/'
mkdir -p "$work/at-ccall-ok"
cp -r julia "$work/at-ccall-ok/julia"
sed -i "${at_ccall/TYPE/Int32}" "$work/at-ccall-ok/$raw_rel"
grep -q '@ccall lib.alog_set_level' "$work/at-ccall-ok/$raw_rel" || fail "at-ccall: the change did not apply"
python3 scripts/check-julia.py --julia-dir "$work/at-ccall-ok/julia" >/dev/null \
  || fail "at-ccall: a correct @ccall was rejected"
printf 'ok  %-28s %s\n' at-ccall-correct "accepted"
expect_failure at-ccall-argument-type "sed -i '${at_ccall/TYPE/UInt64}' $raw_rel" \
  'ccall of alog_set_level: argument 2 \(level\) is UInt64'

# A header that grew a function the raw layer does not wrap.
sed 's/^const char \*alog_result_str(alog_result r);$/&\nalog_result alog_future_call(struct alog_logger *lg);/' include/alog.h > "$work/alog.h"
grep -q alog_future_call "$work/alog.h" || fail "header-drift: the change did not apply"
set +e
out=$(python3 scripts/check-julia.py --header "$work/alog.h" 2>&1)
rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q 'no ccall of alog_future_call, which include/alog.h declares' <<<"$out" \
  || { echo "$out"; fail "header-drift: checker exited $rc without naming alog_future_call"; }
printf 'ok  %-28s %s\n' header-drift "$(grep -m1 alog_future_call <<<"$out" | sed "s|$root/||")"

# What a later header may add around the functions (a multi-line macro, an inline helper, an
# enum) does not confuse the header reader.
awk '/^#ifdef __cplusplus$/ && !done {
       print "#define ALOG_LOGF(lg, level, fmt, ...) \\"
       print "    do { static const int site_ = 0; (void)site_; } while (0)"
       print "static inline int alog_is_error(alog_result r) { if (r != 0) { return 1; } return 0; }"
       print "typedef enum alog_mode { ALOG_MODE_A, ALOG_MODE_B } alog_mode;"
       done = 1
     } { print }' include/alog.h > "$work/alog-extras.h"
grep -q alog_is_error "$work/alog-extras.h" || fail "header-extras: the change did not apply"
python3 scripts/check-julia.py --header "$work/alog-extras.h" >/dev/null \
  || fail "header-extras: a header with a macro, an inline function and an enum was misread"
printf 'ok  %-28s %s\n' header-extras "a macro, an inline helper and an enum are skipped"

# Declarations of an `#ifdef __cplusplus` branch are C++ only (the header's ALOG_LOGF argument
# packers): the checker reads the header as C does, the `#else` branch included.
awk '/^#ifdef __cplusplus$/ && !done {
       print "#ifdef __cplusplus"
       print "int alog_cpp_only(int x);"
       print "#else"
       print "int alog_c_side(int x);"
       print "#endif"
       done = 1
     } { print }' include/alog.h > "$work/alog-cpp.h"
set +e
out=$(python3 scripts/check-julia.py --header "$work/alog-cpp.h" 2>&1)
rc=$?
set -e
{ [ "$rc" -eq 1 ] && grep -q 'no ccall of alog_c_side' <<<"$out" && ! grep -q alog_cpp_only <<<"$out"; } \
  || { echo "$out"; fail "header-cplusplus: checker exited $rc; want alog_c_side reported and alog_cpp_only not"; }
printf 'ok  %-28s %s\n' header-cplusplus "C++-only declarations skipped, the #else branch read"

step "Pkg.test with Julia"
if command -v julia >/dev/null 2>&1; then
  export PATH="$HOME/.cargo/bin:$PATH"
  cargo build --release -p alog-ffi
  ALOG_LIB="$root/target/release/libalog.so" \
    julia --project=julia/ALog -e 'using Pkg; Pkg.test(; julia_args = ["--threads=2"])'
else
  echo "skipped: no julia on PATH (the static checks above ran)"
fi

printf '\nJULIA TESTS PASSED\n'
