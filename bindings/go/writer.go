package alog

import (
	"io"
	"runtime"
	"unsafe"
)

/*
#include "shim.h"
*/
import "C"

// Writer returns an io.Writer that logs each Write as one record at level, without its
// trailing newline (so log.New(l.Writer(alog.LevelInfo), "", 0) writes one record per line
// it is given). Newlines inside a write are escaped by the engine: one Write is one record.
// Write returns len(p) once the record is queued, else 0 and the engine's error.
func (l *Logger) Writer(level Level) io.Writer { return &levelWriter{l: l, level: level} }

type levelWriter struct {
	l     *Logger
	level Level
}

func (w *levelWriter) Write(p []byte) (int, error) {
	if !w.l.Enabled(w.level) {
		if w.level < 1 || w.level > 24 {
			return 0, ErrInvalid
		}
		return len(p), nil
	}
	msg := p
	if len(msg) > 0 && msg[len(msg)-1] == '\n' {
		msg = msg[:len(msg)-1]
	}
	r := C.alog_write(w.l.lg, C.int32_t(w.level), (*C.char)(unsafe.Pointer(unsafe.SliceData(msg))), C.size_t(len(msg)))
	runtime.KeepAlive(w)
	if err := codeErr(r); err != nil {
		return 0, err
	}
	return len(p), nil
}
