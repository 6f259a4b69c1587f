package alog

// The package links the static library libalog.a. It looks for it, and for alog.h, in
//
//  1. the workspace it sits in (a checkout of the alog repository): build the library first
//     with `cargo build --release -p alog-ffi` at the repository root (target/release);
//  2. lib/GOOS_GOARCH and include/ inside the module, where scripts/release-go.sh puts them
//     for a published version, so that `go get` needs no Rust toolchain;
//  3. the folders named by CGO_CFLAGS=-IPREFIX/include and CGO_LDFLAGS=-LPREFIX/lib, for a
//     copy installed with scripts/install.sh PREFIX.
//
// Absent folders are skipped. -l:libalog.a names the archive itself, so the link needs no
// -Bstatic/-Bdynamic switching and works with -ldflags '-extldflags -static' as well.

/*
#cgo CFLAGS: -I${SRCDIR}/../../include -I${SRCDIR}/include
#cgo LDFLAGS: -L${SRCDIR}/../../target/release
#cgo linux,amd64 LDFLAGS: -L${SRCDIR}/lib/linux_amd64
#cgo linux,arm64 LDFLAGS: -L${SRCDIR}/lib/linux_arm64
#cgo darwin,amd64 LDFLAGS: -L${SRCDIR}/lib/darwin_amd64
#cgo darwin,arm64 LDFLAGS: -L${SRCDIR}/lib/darwin_arm64
#cgo linux LDFLAGS: -l:libalog.a -lpthread -ldl -lm
#cgo darwin LDFLAGS: -lalog -lm
#include "shim.h"
*/
import "C"

// noTimestamp asks the engine to write a record without a timestamp (slog's zero time).
const noTimestamp = int64(C.ALOG_TIMESTAMP_NONE)
