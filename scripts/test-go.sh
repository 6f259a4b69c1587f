#!/usr/bin/env bash
# Tests the Go binding (bindings/go): builds libalog.a, checks gofmt and go vet (the binding
# and its benchmark module), runs the Go tests under the race detector (100 goroutines x 1000
# records, the same into a SQLite table read back by the sqlite3 program, Close racing
# loggers, every overflow policy's accounting, the slog handler with
# testing/slogtest, the GC-stress run, a program ending by return, os.Exit and SIGTERM), the
# allocation and example tests without it, the tests again with the strict cgo pointer checks
# (GOEXPERIMENT=cgocheck2), a compile run of the benchmarks, and the README's quick start as a
# program outside the module: from this checkout (replace directive), from a copy of the module
# linked against an installed libalog, from a copy laid out as scripts/release-go.sh publishes
# it (no Rust, no CGO flags) and fully static; and that CGO_ENABLED=0 stops with a clear
# message. Exits non-zero on any failure. Needs Go >= 1.24, cargo and a C compiler.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH:/usr/local/go/bin"
export CGO_ENABLED=1

step() { printf '\n=== %s\n' "$*"; }

if ! command -v go >/dev/null; then
  echo "test-go.sh: go not found; install Go 1.24 or newer" >&2
  exit 1
fi
go_minor=$(go env GOVERSION | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
if [ -z "$go_minor" ] || [ "$go_minor" -lt 24 ]; then
  echo "test-go.sh: $(go env GOVERSION) is too old; the binding needs Go 1.24 or newer" >&2
  exit 1
fi

step "libalog.a"
cargo build --release -p alog-ffi

step "gofmt and go vet"
unformatted=$(gofmt -l bindings/go)
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
(cd bindings/go && go vet ./...)
(cd bindings/go/bench && go vet ./...)

step "go test -race (includes the GC-stress run)"
(cd bindings/go && go test -race -count=1 ./...)

step "allocations per call and examples, without the race detector"
(cd bindings/go && go test -count=1 -run 'Alloc|Example' -v ./... | grep -E '^(--- |ok|FAIL|PASS)')

step "strict cgo pointer checks (GOEXPERIMENT=cgocheck2)"
(cd bindings/go && GOEXPERIMENT=cgocheck2 go test -count=1 ./...)

step "benchmarks compile and run once"
(cd bindings/go/bench && go test -count=1 -run '^$' -bench . -benchtime 1x ./... >/dev/null)
echo "ok"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk '/^```go$/{on=1; next} /^```$/{if (on) exit} on' bindings/go/README.md > "$tmp/main.go"

# check_app DIR: runs the quick start in DIR and checks the two records it documents.
check_app() {
  (cd "$1" && ./app)
  local log="$1/logs/app.log"
  test "$(wc -l < "$log")" -eq 2 || { echo "$log:"; cat "$log"; exit 1; }
  grep -q '"level":"INFO","msg":"service started","user":"ann","ms":1250}$' "$log" || { cat "$log"; exit 1; }
  grep -q '"level":"WARN","msg":"slow request","source":{"file":"[^"]*main.go","line":[0-9]*,"function":"main.main"},"path":"/api","req":{"id":7}}$' "$log" || { cat "$log"; exit 1; }
  echo "$1: the quick start wrote its two documented records"
}

# app_module NAME MODULE: a module $tmp/NAME holding the quick start, whose requirement of the
# binding is replaced by the folder MODULE.
app_module() {
  mkdir -p "$tmp/$1"
  cp "$tmp/main.go" "$tmp/$1/"
  (
    cd "$tmp/$1"
    go mod init "example.com/$1" >/dev/null 2>&1
    go mod edit -require github.com/alog-dev/alog/bindings/go@v0.0.0 \
      -replace github.com/alog-dev/alog/bindings/go="$2"
  )
}

# module_copy DIR: the binding's Go and C files, as a published module holds them.
module_copy() {
  mkdir -p "$1"
  (cd bindings/go && cp go.mod ./*.go ./*.c ./*.h "$1/")
}

step "the README's quick start as a module outside the repository (replace directive)"
app_module app1 "$root/bindings/go"
(cd "$tmp/app1" && go build -o app .)
check_app "$tmp/app1"

step "the same with a copy of the module and an installed libalog (CGO_CFLAGS / CGO_LDFLAGS)"
bash scripts/install.sh "$tmp/prefix" >/dev/null
module_copy "$tmp/modcopy"
app_module app2 "$tmp/modcopy"
(cd "$tmp/app2" && CGO_CFLAGS="-I$tmp/prefix/include" CGO_LDFLAGS="-L$tmp/prefix/lib" go build -o app .)
if ldd "$tmp/app2/app" | grep -q libalog; then
  echo "app2 links libalog dynamically; expected the static library"; exit 1
fi
check_app "$tmp/app2"

step "the published layout (scripts/release-go.sh): lib/GOOS_GOARCH and include/ in the module, no Rust, no CGO flags"
goos_arch="$(go env GOOS)_$(go env GOARCH)"
module_copy "$tmp/published"
mkdir -p "$tmp/published/lib/$goos_arch" "$tmp/published/include"
cp target/release/libalog.a "$tmp/published/lib/$goos_arch/"
cp include/alog.h "$tmp/published/include/"
app_module app3 "$tmp/published"
(cd "$tmp/app3" && go build -o app .)
check_app "$tmp/app3"

step "a fully static binary: go build -ldflags '-extldflags -static'"
rm -rf "$tmp/app3/logs"
(cd "$tmp/app3" && go build -ldflags '-extldflags -static' -o app . 2>&1 | grep -v "statically linked applications requires at runtime" | grep -v "in function" || true)
file "$tmp/app3/app" | grep -q "statically linked" || { file "$tmp/app3/app"; exit 1; }
check_app "$tmp/app3"

step "CGO_ENABLED=0 stops with a message saying what to do"
if out=$(cd "$tmp/app3" && CGO_ENABLED=0 go build -o app-nocgo . 2>&1); then
  echo "CGO_ENABLED=0 build succeeded"; exit 1
fi
echo "$out"
echo "$out" | grep -q "alog_needs_cgo__build_with_CGO_ENABLED_1_and_a_C_compiler" || exit 1
[ "$(echo "$out" | grep -c 'undefined')" -eq 1 ] || { echo "more than the one clear error"; exit 1; }

printf '\nGo binding: ALL TESTS PASSED\n'
