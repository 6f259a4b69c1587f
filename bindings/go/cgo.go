package alog

// The package links the static library of the workspace it sits in: build it first with
//
//	cargo build --release -p alog-ffi
//
// at the repository root (it writes target/release/libalog.a). To link an installed copy
// instead (scripts/install.sh PREFIX), set CGO_CFLAGS=-IPREFIX/include and
// CGO_LDFLAGS=-LPREFIX/lib; the paths below are then simply absent.

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: -L${SRCDIR}/../../target/release -Wl,-Bstatic -lalog -Wl,-Bdynamic -lpthread -ldl -lm
#include "shim.h"
*/
import "C"

// noTimestamp asks the engine to write a record without a timestamp (slog's zero time).
const noTimestamp = int64(C.ALOG_TIMESTAMP_NONE)
