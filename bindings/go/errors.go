package alog

/*
#include "shim.h"
*/
import "C"

import (
	"bytes"
	"strconv"
	"unsafe"
)

// Code is one of the engine's result codes (alog_result in include/alog.h). The non-zero
// codes are errors; compare with the sentinels below through errors.Is.
type Code int32

// The engine's error codes. Every error this package returns matches one of them under
// errors.Is (or is a context error from Flush).
const (
	ErrNull     Code = 1 // a required argument was missing
	ErrInvalid  Code = 2 // a configuration key or value, level or field was not acceptable
	ErrFull     Code = 3 // the queue was full: the record was dropped (drop_newest, warn) and counted
	ErrTimeout  Code = 4 // block_timeout_ms expired (record dropped and counted), or a flush/close timed out
	ErrClosed   Code = 5 // the logger is closed
	ErrIO       Code = 6 // a file or folder could not be created or opened, or a write failed
	ErrPanic    Code = 7 // a bug inside the library was caught at the boundary
	ErrTooLarge Code = 8 // the message is longer than max_message_bytes
)

// The codes are the header's: these lines stop compiling if one of them drifts.
var (
	_ = [1]struct{}{}[ErrNull-C.ALOG_ERR_NULL]
	_ = [1]struct{}{}[ErrInvalid-C.ALOG_ERR_INVALID]
	_ = [1]struct{}{}[ErrFull-C.ALOG_ERR_FULL]
	_ = [1]struct{}{}[ErrTimeout-C.ALOG_ERR_TIMEOUT]
	_ = [1]struct{}{}[ErrClosed-C.ALOG_ERR_CLOSED]
	_ = [1]struct{}{}[ErrIO-C.ALOG_ERR_IO]
	_ = [1]struct{}{}[ErrPanic-C.ALOG_ERR_PANIC]
	_ = [1]struct{}{}[ErrTooLarge-C.ALOG_ERR_TOO_LARGE]
)

// codeText holds the engine's description of each known code, read once from alog_result_str.
var codeText = func() [ErrTooLarge + 1]string {
	var t [ErrTooLarge + 1]string
	for c := range t {
		t[c] = C.GoString(C.alog_result_str(C.alog_result(c)))
	}
	return t
}()

// codeErrors holds each code as an error value, so that the logging path returns errors
// without allocating.
var codeErrors = func() [ErrTooLarge + 1]error {
	var e [ErrTooLarge + 1]error
	for c := range e {
		e[c] = Code(c)
	}
	return e
}()

// Error returns the engine's description of the code (alog_result_str).
func (c Code) Error() string {
	if c >= 0 && int(c) < len(codeText) {
		return codeText[c]
	}
	return C.GoString(C.alog_result_str(C.alog_result(c))) + " (" + strconv.Itoa(int(c)) + ")"
}

// codeErr turns an alog_result into nil or a Code error, without allocating.
func codeErr(r C.alog_result) error {
	if r == C.ALOG_OK {
		return nil
	}
	if r > 0 && int(r) < len(codeErrors) {
		return codeErrors[r]
	}
	return Code(r)
}

// Error is an engine error with the operation that failed and the engine's message
// (the errstr of alog_conf_set / alog_open, or the message of an I/O error), whole.
type Error struct {
	Op     string // "open", "config level", "close", "flush", "write", ...
	Code   Code
	Detail string // the engine's message; may be empty
	Err    error  // the OS error behind an ErrIO from Open (a syscall.Errno), else nil
}

func (e *Error) Error() string {
	s := "alog: " + e.Op + ": " + e.Code.Error()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns the Code and the OS error, so that errors.Is(err, alog.ErrInvalid),
// errors.Is(err, fs.ErrNotExist) and errors.Is(err, syscall.ENOTDIR) hold as they should.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Code}
	}
	return []error{e.Code, e.Err}
}

// opErr returns nil for ALOG_OK, else an *Error for op.
func opErr(op string, r C.alog_result, detail string) error {
	if r == C.ALOG_OK {
		return nil
	}
	return &Error{Op: op, Code: Code(r), Detail: detail}
}

// errBuf is the buffer for the engine's error messages. The C ABI truncates a message to
// the buffer it is given, so call repeats a call whose message filled the buffer with one
// twice as large: messages are never cut.
type errBuf struct{ b []byte }

// maxErrBytes bounds the growth of an errBuf (a message this long is a bug of its own).
const maxErrBytes = 1 << 20

// call runs f with the buffer and returns its result and message ("" when f returns ALOG_OK).
func (eb *errBuf) call(f func(buf *C.char, size C.size_t) C.alog_result) (C.alog_result, string) {
	if eb.b == nil {
		eb.b = make([]byte, 512)
	}
	for {
		eb.b[0] = 0
		r := f((*C.char)(unsafe.Pointer(&eb.b[0])), C.size_t(len(eb.b)))
		if r == C.ALOG_OK {
			return r, ""
		}
		n := bytes.IndexByte(eb.b, 0)
		if n < 0 {
			n = len(eb.b)
		}
		if n < len(eb.b)-1 || len(eb.b) >= maxErrBytes {
			return r, string(eb.b[:n])
		}
		eb.b = make([]byte, 2*len(eb.b))
	}
}
