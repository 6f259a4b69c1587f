//go:build cgo

package alog

import (
	"io"
	"unsafe"
)

// Writer returns an io.Writer that logs each Write as one record at level, without its
// trailing newline (so log.New(l.Writer(alog.LevelInfo), "", 0) writes one record per line
// it is given). Newlines inside a write are escaped by the engine: one Write is one record.
// Write returns len(p) once the record is queued, else 0 and the engine's error. Records
// carry the attributes of With.
func (l *Logger) Writer(level Level) io.Writer { return &levelWriter{l: l, level: level} }

type levelWriter struct {
	l     *Logger
	level Level
}

func (w *levelWriter) Write(p []byte) (int, error) {
	if !w.l.Enabled(w.level) {
		if err := w.l.refused(w.level); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	msg := p
	if len(msg) > 0 && msg[len(msg)-1] == '\n' {
		msg = msg[:len(msg)-1]
	}
	// The engine copies msg during the call: viewing the bytes as a string is safe.
	if err := w.l.write(nil, w.level, unsafe.String(unsafe.SliceData(msg), len(msg)), nil, 2); err != nil {
		return 0, err
	}
	return len(p), nil
}
