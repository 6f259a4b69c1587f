#!/usr/bin/env bash
# Builds the C ABI test programs against include/alog.h and the release
# library, then runs them in up to three modes:
#   plain     linked against target/release/libalog.a
#   asan      AddressSanitizer + UndefinedBehaviorSanitizer (leak checks on)
#   valgrind  memcheck on the plain binaries, with smaller record counts
# plus a C++ smoke test (linked against libalog.so) and alog.h under strict warnings
# (header.c as C11, C99 and C++17), the C++ API of alog.hpp (cpp_api.cpp) and formats that
# must not compile.
#
# usage: tests/c/run.sh [plain] [asan] [valgrind]     (default: all three)
# env:   ALOG_SKIP_CARGO=1  do not run cargo build (use the library as it is)
#        CC, CXX            compilers (default gcc, g++)
set -u
unset ALOG_SYNC # the tests need the asynchronous writer

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="$here/build"
libdir="$root/target/release"
CC="${CC:-gcc}"
CXX="${CXX:-g++}"
CFLAGS=(-std=c11 -Wall -Wextra -Werror -O1 -g -pthread -I"$root/include")
SANITIZE=(-fsanitize=address,undefined -fno-omit-frame-pointer)
LIBS=(-lpthread -ldl -lm)
PROGRAMS=(roundtrip threads policies badinput concurrent_close fork exit_flush logf signals durable)

modes=("$@")
[ ${#modes[@]} -eq 0 ] && modes=(plain asan valgrind)

# Test cases per mode: "<label> <program> [args...]".
cases() {
    case "$1" in
    plain)
        echo "roundtrip roundtrip"
        echo "threads-4x1M threads 4 1000000"
        echo "threads-8x1M threads 8 1000000"
        echo "policies policies"
        echo "badinput badinput"
        echo "concurrent_close concurrent_close 200"
        echo "fork fork"
        echo "exit_flush exit_flush"
        echo "logf logf"
        echo "logf-sync logf sync"
        echo "signals signals"
        echo "durable durable"
        ;;
    asan)
        echo "roundtrip roundtrip"
        echo "threads-4x500k threads 4 500000"
        echo "threads-8x250k threads 8 250000"
        echo "policies policies"
        echo "badinput badinput"
        echo "concurrent_close concurrent_close 50"
        # Without the sites case: GCC 12's ASan does not lock its own allocator across
        # fork, so a child forked while the registrar thread is inside malloc can hang in
        # ASan's allocator when the child starts its writer thread (seen in CI; the stack
        # ends in SizeClassAllocator64::GetFromAllocator). The plain mode runs the case.
        echo "fork fork no-sites"
        echo "exit_flush exit_flush"
        echo "logf logf"
        # Without the crash case: ASan handles SIGSEGV itself, so flush_on_signal (which
        # installs only over the default disposition) rightly leaves it alone.
        echo "signals signals handler fatal term own inside"
        # Without the segv case: ASan handles SIGSEGV itself.
        echo "durable durable abort kill"
        ;;
    valgrind)
        echo "roundtrip roundtrip"
        echo "threads-2x20k threads 2 20000"
        echo "threads-4x20k threads 4 20000"
        echo "policies policies no-flood"
        echo "badinput badinput"
        echo "concurrent_close concurrent_close 10"
        # Without the sites case: a child forked while the registrar thread is inside
        # alog_site_prepare holds that thread's temporary blocks, which valgrind reports
        # as lost there (the lock it tests for runs in plain and asan).
        echo "fork fork no-sites"
        echo "exit_flush exit_flush"
        echo "logf logf"
        # The handler case only: the other cases' children die of signals or _exit with
        # their threads running, which valgrind reports as leaks (and its exit code hides
        # theirs); plain and asan run them.
        echo "signals signals handler"
        ;;
    esac
}

passed=0
failed=0
built_plain=0
failures=()

report() { # report PASS|FAIL mode label seconds [log]
    printf '%-4s %-8s %-18s %4ss\n' "$1" "$2" "$3" "$4"
    if [ "$1" = PASS ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failures+=("$2 $3")
        if [ -n "${5:-}" ] && [ -f "$5" ]; then
            echo "     --- last lines of $5"
            tail -n 25 "$5" | sed 's/^/     | /'
        fi
    fi
}

# build_and_run LABEL [VAR=VALUE...] -- COMPILE... -- ARGS...: compiles the plain-mode program
# LABEL with COMPILE (its -o added), runs it with ARGS under the environment assignments (an
# ARGS word "@dir" is a fresh temporary directory) and reports it.
build_and_run() {
    local label=$1 log="$build/plain/$1.log" start=$SECONDS hdir="" limit=60
    shift
    local envs=() compile=() args=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    while [ "$1" != -- ]; do compile+=("$1"); shift; done
    shift
    for a in "$@"; do
        if [ "$a" = @dir ]; then
            hdir=$(mktemp -d)
            a=$hdir
        fi
        args+=("$a")
    done
    # Sanitizer builds run several times slower.
    [ ${#envs[@]} -gt 0 ] && limit=300
    rm -f "$build/plain/$label"
    if "${compile[@]}" -o "$build/plain/$label" >"$log" 2>&1 &&
        env ${envs[@]+"${envs[@]}"} timeout "$limit" "$build/plain/$label" ${args[@]+"${args[@]}"} >>"$log" 2>&1; then
        report PASS plain "$label" $((SECONDS - start))
    else
        report FAIL plain "$label" $((SECONDS - start)) "$log"
    fi
    [ -z "$hdir" ] || rm -rf "$hdir"
}

# ---------------------------------------------------------------- library
if [ "${ALOG_SKIP_CARGO:-0}" != 1 ]; then
    echo "== cargo build --release -p alog-ffi"
    if ! (cd "$root" && cargo build --release -p alog-ffi); then
        echo "FAIL: the library does not build"
        exit 1
    fi
fi
for f in "$root/include/alog.h" "$libdir/libalog.a" "$libdir/libalog.so"; do
    if [ ! -f "$f" ]; then
        echo "FAIL: $f is missing"
        exit 1
    fi
done

# ---------------------------------------------------------------- build
build_mode() { # build_mode MODE: compiles every program into build/MODE/
    local mode="$1" out="$build/$1" extra=() ok=0
    [ "$mode" = asan ] && extra=("${SANITIZE[@]}")
    mkdir -p "$out"
    for p in "${PROGRAMS[@]}"; do
        rm -f "$out/$p" # never run a stale binary
        if ! "$CC" "${CFLAGS[@]}" "${extra[@]}" -o "$out/$p" "$here/$p.c" \
            "$libdir/libalog.a" "${LIBS[@]}" >"$out/$p.build.log" 2>&1; then
            report FAIL "$mode" "build $p" 0 "$out/$p.build.log"
            ok=1
        fi
    done
    return $ok
}

# ---------------------------------------------------------------- run
run_case() { # run_case MODE LABEL PROGRAM [ARGS...]
    local mode="$1" label="$2" prog="$3"
    shift 3
    local bin="$build/$mode/$prog" log="$build/$mode/$label.log" cmd=()
    [ "$mode" = valgrind ] && bin="$build/plain/$prog"
    mkdir -p "$build/$mode"
    if [ ! -x "$bin" ]; then
        report FAIL "$mode" "$label" 0
        return
    fi
    case "$mode" in
    valgrind)
        cmd=(valgrind --error-exitcode=99 --leak-check=full
            --errors-for-leak-kinds=definite --quiet)
        # A forked child cannot free what only the parent's (vanished)
        # writer thread owned; see valgrind-fork.supp.
        [ "$prog" = fork ] && cmd+=(--suppressions="$here/valgrind-fork.supp")
        cmd+=("$bin" "$@")
        ;;
    *) cmd=("$bin" "$@") ;;
    esac
    local asan="detect_leaks=1:abort_on_error=0"
    # fork.c: a forked child leaks what only the parent's vanished writer
    # thread owned (see valgrind-fork.supp, where valgrind's full stacks let
    # us suppress exactly that). LeakSanitizer's fast stacks end inside
    # liballoc, and its slow unwinder can deadlock a forked child, so leak
    # detection is off for this one program; ASan and UBSan still run.
    [ "$mode" = asan ] && [ "$prog" = fork ] && asan="detect_leaks=0:abort_on_error=0"
    local start=$SECONDS rc=0
    ASAN_OPTIONS="$asan:${ASAN_OPTIONS:-}" \
        UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}" \
        timeout 300 "${cmd[@]}" >"$log" 2>&1 || rc=$?
    if [ $rc -eq 0 ]; then
        report PASS "$mode" "$label" $((SECONDS - start))
    else
        echo "exit status $rc" >>"$log"
        report FAIL "$mode" "$label" $((SECONDS - start)) "$log"
    fi
}

for mode in "${modes[@]}"; do
    case "$mode" in
    plain | asan | valgrind) ;;
    *)
        echo "unknown mode $mode (plain, asan, valgrind)"
        exit 2
        ;;
    esac
done

for mode in "${modes[@]}"; do
    echo "== $mode"
    if [ "$mode" = valgrind ]; then
        if ! command -v valgrind >/dev/null; then
            report FAIL valgrind "valgrind missing" 0
            continue
        fi
        [ "$built_plain" = 1 ] || build_mode plain || true
    else
        build_mode "$mode" || true
    fi
    [ "$mode" = plain ] && built_plain=1
    while read -r label prog args; do
        # shellcheck disable=SC2086 # args are space-separated numbers
        run_case "$mode" "$label" "$prog" $args
    done < <(cases "$mode")

    if [ "$mode" = plain ]; then
        build_and_run cpp_smoke -- "$CXX" -std=c++17 -Wall -Wextra -Werror -I"$root/include" \
            "$here/cpp_smoke.cpp" -L"$libdir" -Wl,-rpath,"$libdir" -lalog "${LIBS[@]}" --
        # Records logged after the exit hook: a C++ static destructor, an early atexit handler.
        build_and_run late -- "$CXX" -std=c++17 -Wall -Wextra -Werror -g -I"$root/include" \
            "$here/late.cpp" "$libdir/libalog.a" "${LIBS[@]}" -- @dir
        # alog.h under strict warnings with -I (not -isystem): C11, C99 and C++17, with GCC and
        # with Clang (clang or clang-14, which scripts/prereqs.sh installs).
        strict=(-Wall -Wextra -Wpedantic -Wformat-nonliteral -Wcast-qual -Wconversion -Werror -I"$root/include")
        clang_cc=$(command -v clang || command -v clang-14 || true)
        clang_cxx=$(command -v clang++ || command -v clang++-14 || true)
        [ -n "$clang_cc" ] && [ -n "$clang_cxx" ] || report FAIL plain "clang missing" 0
        for cc_name in gcc clang; do
            [ $cc_name = clang ] && [ -z "$clang_cc" ] && continue
            for std in c11 c99 c++17; do
                c_comp=$CC cxx_comp=$CXX
                [ $cc_name = clang ] && c_comp=$clang_cc cxx_comp=$clang_cxx
                if [ "$std" = c++17 ]; then
                    built=("$cxx_comp" -std=c++17 -Wold-style-cast -Wshadow "${strict[@]}" -x c++ "$here/header.c" -x none)
                else
                    built=("$c_comp" -std="$std" "${strict[@]}" "$here/header.c")
                fi
                build_and_run "header-$cc_name-$std" -- "${built[@]}" "$libdir/libalog.a" "${LIBS[@]}" -- @dir
            done
        done
        # alog.hpp: the C++ API under strict warnings, its deferred calls counted through
        # --wrap; and formats that do not suit their arguments must not compile.
        for cxx_comp in "$CXX" $clang_cxx; do
            build_and_run "cpp_api-$(basename "$cxx_comp")" -- "$cxx_comp" -std=c++17 -Wold-style-cast \
                -Wshadow "${strict[@]}" "$here/cpp_api.cpp" "$libdir/libalog.a" \
                -Wl,--wrap=alog_logf_args "${LIBS[@]}" -- @dir
        done
        log="$build/plain/cpp_format_checks.log"
        start=$SECONDS
        ok=1
        cpp_compiles() { # cpp_compiles STATEMENT: whether it compiles inside a function taking lg
            printf '#include "alog.hpp"\n#include <string>\nvoid f(alog::Logger &lg, std::string s) { (void)s; %s; }\n' "$1" |
                "$CXX" -std=c++17 -I"$root/include" -fsyntax-only -x c++ - >>"$log" 2>&1
        }
        : >"$log"
        cpp_compiles 'ALOG_LOGGER_INFO(lg, "{} {:.2f}", 1, 2.0)' || ok=0
        for bad in 'ALOG_LOGGER_INFO(lg, "{} {}", 1)' 'ALOG_LOGGER_INFO(lg, "{}", 1, 2)' \
            'ALOG_LOGGER_INFO(lg, "{:d}", "x")' 'ALOG_LOGGER_INFO(lg, "{:.2}", 1)' \
            'ALOG_LOGGER_INFO(lg, "{", 1)' 'ALOG_LOGGER_INFO(lg, s, 1)'; do
            if cpp_compiles "$bad"; then
                echo "compiled: $bad" >>"$log"
                ok=0
            fi
        done
        if [ $ok = 1 ]; then
            report PASS plain cpp_format_checks $((SECONDS - start))
        else
            report FAIL plain cpp_format_checks $((SECONDS - start)) "$log"
        fi
        # ThreadSanitizer with the suppressions the README gives (tsan.supp): 4 threads
        # logging, and the C++ API; any report fails.
        tsan=("TSAN_OPTIONS=suppressions=$here/tsan.supp:exitcode=66")
        build_and_run tsan-threads "${tsan[@]}" -- "$CC" -std=c11 -O1 -g -fsanitize=thread -pthread \
            -I"$root/include" "$here/threads.c" "$libdir/libalog.a" "${LIBS[@]}" -- 4 20000
        build_and_run tsan-cpp_api "${tsan[@]}" -- "$CXX" -std=c++17 -O1 -g -fsanitize=thread \
            -I"$root/include" "$here/cpp_api.cpp" -Wl,--wrap=alog_logf_args "$libdir/libalog.a" \
            "${LIBS[@]}" -- @dir
        # A format in a variable must not compile (a site parses its format once), in C and C++.
        log="$build/plain/logf_variable_format.log"
        start=$SECONDS
        snippet='#include "alog.h"
int f(alog_logger *lg, const char *fmt) { return ALOG_LOGF(lg, ALOG_LEVEL_INFO, fmt, 1); }'
        if ! printf '%s\n' "$snippet" | "$CC" -std=c11 -I"$root/include" -fsyntax-only -x c - >"$log" 2>&1 &&
            ! printf '%s\n' "$snippet" | "$CXX" -std=c++17 -I"$root/include" -fsyntax-only -x c++ - >>"$log" 2>&1; then
            report PASS plain logf_variable_format $((SECONDS - start))
        else
            report FAIL plain logf_variable_format $((SECONDS - start)) "$log"
        fi
    fi
done

echo
if [ $failed -gt 0 ]; then
    echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
