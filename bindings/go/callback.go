package alog

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"os"
	"runtime/cgo"
	"unsafe"
)

// alogGoSink runs a WithCallback function; called by shim.c on the engine's writer thread.
//
//export alogGoSink
func alogGoSink(h C.uintptr_t, level C.int32_t, line *C.char, n C.size_t) {
	fn := cgo.Handle(h).Value().(func(Level, []byte))
	defer func() {
		if p := recover(); p != nil {
			// The engine counts the record as failed for this sink and tells the error
			// handler, with the panic's value.
			reason := C.CString(fmt.Sprintf("panic: %v", p))
			C.alog_sink_fail(reason)
			C.free(unsafe.Pointer(reason))
		}
	}()
	fn(Level(level), unsafe.Slice((*byte)(unsafe.Pointer(line)), int(n)))
}

// alogGoError runs a WithErrorHandler function; called by shim.c on the writer thread.
//
//export alogGoError
func alogGoError(h C.uintptr_t, code C.alog_result, msg *C.char) {
	fn := cgo.Handle(h).Value().(func(error))
	defer recoverCallback("error handler")
	fn(&Error{Op: "write", Code: Code(code), Detail: C.GoString(msg)})
}

// recoverCallback keeps a panicking callback from unwinding into the engine's C frames,
// which would crash the process; the panic is reported on stderr.
func recoverCallback(what string) {
	if p := recover(); p != nil {
		fmt.Fprintf(os.Stderr, "alog: %s panicked: %v\n", what, p)
	}
}
