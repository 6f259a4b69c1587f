// Package alog is the Go binding of alog, an asynchronous logging engine: a log call copies
// the record into preallocated memory and returns; a background thread of the engine formats
// records in batches and writes them. The package links libalog through cgo (see README.md).
//
// Open a Logger, log through its direct API (Info, Log, ... with typed Attrs, no allocation
// per call), through log/slog (Handler) or through an io.Writer (Writer), and Close it to
// drain the queue. Every record is accounted for in Stats: written, dropped by the overflow
// policy you chose, or failed.
package alog

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"context"
	"runtime"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Version is the engine's version (alog_version), e.g. "0.1.0".
func Version() string { return C.GoString(C.alog_version()) }

// Logger is an open alog logger. All its methods may be called from any goroutine, also
// while another goroutine closes it (calls after Close return ErrClosed).
type Logger struct {
	lg *C.alog_logger
	// enabled has bit n set when the engine accepts records at level n: a cache of
	// alog_level_enabled, refreshed by SetLevel, so that disabled calls skip the C call.
	enabled atomic.Uint32
	mu      sync.Mutex // serialises Close and SetLevel
	closed  bool
	res     *resources
	cleanup runtime.Cleanup
}

// resources are what a logger must release when it is closed: the handles of its Go
// callbacks. Kept apart from Logger so that the cleanup can reach them without the Logger.
type resources struct {
	lg      *C.alog_logger
	handles []cgo.Handle
}

// release deletes the callback handles once the engine can no longer call them.
func (r *resources) release(closeResult C.alog_result) {
	// After a timed-out close the writer keeps draining and may still call back.
	if closeResult == C.ALOG_ERR_TIMEOUT {
		return
	}
	for _, h := range r.handles {
		h.Delete()
	}
	r.handles = nil
}

// finalTimeout bounds the close the cleanup does for a Logger that was never closed.
const finalTimeout = 5 * time.Second

// Open opens a logger appending to path ("" for none: then the options must name another
// sink, e.g. WithConsole or a callback) with the given options applied in order. Errors are
// *Error values matching ErrInvalid, ErrIO or ErrNull, with the engine's message naming the
// key and the accepted values.
func Open(path string, opts ...Option) (*Logger, error) {
	var st settings
	for _, o := range opts {
		o(&st)
	}
	conf := C.alog_conf_new()
	if conf == nil {
		return nil, &Error{Op: "open", Code: ErrIO, Detail: "out of memory"}
	}
	defer C.alog_conf_free(conf)
	var errbuf [512]C.char
	res := &resources{}
	fail := func(op string, r C.alog_result) (*Logger, error) {
		res.release(C.ALOG_OK)
		return nil, opErr(op, r, C.GoString(&errbuf[0]))
	}
	for _, kv := range st.kv {
		k, v := C.CString(kv[0]), C.CString(kv[1])
		r := C.alog_conf_set(conf, k, v, &errbuf[0], C.size_t(len(errbuf)))
		C.free(unsafe.Pointer(k))
		C.free(unsafe.Pointer(v))
		if r != C.ALOG_OK {
			return fail("config "+kv[0], r)
		}
	}
	for _, cb := range st.callbacks {
		h := cgo.NewHandle(cb.fn)
		res.handles = append(res.handles, h)
		var format *C.char
		if cb.format != "" {
			format = C.CString(string(cb.format))
		}
		r := C.alog_go_add_callback(conf, C.uintptr_t(h), C.int32_t(cb.min), format, &errbuf[0], C.size_t(len(errbuf)))
		C.free(unsafe.Pointer(format))
		if r != C.ALOG_OK {
			return fail("callback", r)
		}
	}
	if st.onError != nil {
		h := cgo.NewHandle(st.onError)
		res.handles = append(res.handles, h)
		if r := C.alog_go_set_error_callback(conf, C.uintptr_t(h)); r != C.ALOG_OK {
			return fail("error callback", r)
		}
	}
	var cpath *C.char
	if path != "" {
		cpath = C.CString(path)
		defer C.free(unsafe.Pointer(cpath))
	}
	var lg *C.alog_logger
	if r := C.alog_open(cpath, conf, &lg, &errbuf[0], C.size_t(len(errbuf))); r != C.ALOG_OK {
		return fail("open "+path, r)
	}
	res.lg = lg
	l := &Logger{lg: lg, res: res}
	l.refreshEnabled()
	// The safety net: a Logger that becomes unreachable unclosed is closed (drained for at
	// most finalTimeout). Close disarms it.
	l.cleanup = runtime.AddCleanup(l, func(r *resources) {
		rc := C.alog_close(r.lg, C.uint32_t(finalTimeout/time.Millisecond))
		r.release(rc)
	}, res)
	return l, nil
}

// refreshEnabled asks the engine which levels it accepts.
func (l *Logger) refreshEnabled() {
	var mask uint32
	for n := 1; n <= 24; n++ {
		if C.alog_level_enabled(l.lg, C.int32_t(n)) != 0 {
			mask |= 1 << n
		}
	}
	l.enabled.Store(mask)
	runtime.KeepAlive(l)
}

// Enabled reports whether a record at level would be accepted (by at least one sink).
func (l *Logger) Enabled(level Level) bool {
	return level >= 1 && level <= 24 && l.enabled.Load()&(1<<uint32(level)) != 0
}

// SetLevel sets the level of the logger and of every sink without a level of its own.
func (l *Logger) SetLevel(level Level) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := C.alog_set_level(l.lg, C.int32_t(level))
	runtime.KeepAlive(l)
	if r != C.ALOG_OK {
		return opErr("set level", r, "level must be 1..24")
	}
	l.refreshEnabled()
	return nil
}

// Log submits a record at level with the given fields. It returns nil once the record is
// queued (or when the level is disabled), ErrFull or ErrTimeout when the overflow policy
// dropped it (counted in Stats().Dropped), ErrTooLarge, ErrInvalid for a level outside
// 1..24, or ErrClosed. Neither msg nor attrs are retained after the call.
func (l *Logger) Log(level Level, msg string, attrs ...Attr) error {
	if !l.Enabled(level) {
		if level < 1 || level > 24 {
			return ErrInvalid
		}
		return nil
	}
	if len(attrs) == 0 {
		r := C.alog_write(l.lg, C.int32_t(level), strPtr(msg), C.size_t(len(msg)))
		runtime.KeepAlive(l)
		return codeErr(r)
	}
	s := getScratch()
	for i := range attrs {
		s.attr(&attrs[i])
	}
	r := s.write(l, level, 0, msg, nil)
	putScratch(s)
	return codeErr(r)
}

// Debug logs at LevelDebug (see Log).
func (l *Logger) Debug(msg string, attrs ...Attr) error { return l.Log(LevelDebug, msg, attrs...) }

// Info logs at LevelInfo (see Log).
func (l *Logger) Info(msg string, attrs ...Attr) error { return l.Log(LevelInfo, msg, attrs...) }

// Warn logs at LevelWarn (see Log).
func (l *Logger) Warn(msg string, attrs ...Attr) error { return l.Log(LevelWarn, msg, attrs...) }

// Error logs at LevelError (see Log).
func (l *Logger) Error(msg string, attrs ...Attr) error { return l.Log(LevelError, msg, attrs...) }

// flushStep is the longest single wait of Flush, so that it notices a cancelled context.
const flushStep = 50 * time.Millisecond

// Flush waits until every record submitted before the call is written (or failed), then
// fsyncs file sinks unless fsync=never. It gives up when ctx is done, returning an error
// that matches both ErrTimeout and ctx.Err() (nothing is lost: writing continues).
func (l *Logger) Flush(ctx context.Context) error {
	for {
		wait := C.uint32_t(C.ALOG_TIMEOUT_INFINITE)
		if ctx.Done() != nil {
			step := flushStep
			if dl, ok := ctx.Deadline(); ok {
				step = min(step, time.Until(dl))
			}
			wait = C.uint32_t(max(step, time.Millisecond) / time.Millisecond)
		}
		r := C.alog_flush(l.lg, wait)
		runtime.KeepAlive(l)
		if r != C.ALOG_ERR_TIMEOUT {
			return opErr("flush", r, "")
		}
		if err := ctx.Err(); err != nil {
			return &ctxError{&Error{Op: "flush", Code: ErrTimeout, Detail: err.Error()}, err}
		}
	}
}

// ctxError is a flush timeout caused by a context: it matches ErrTimeout and the context's error.
type ctxError struct {
	err *Error
	ctx error
}

func (e *ctxError) Error() string   { return e.err.Error() }
func (e *ctxError) Unwrap() []error { return []error{e.err.Code, e.ctx} }

// Close stops accepting records, drains the queue, flushes and closes the sinks and joins
// the engine's writer thread. It is idempotent: later calls return nil at once. Goroutines
// logging meanwhile get ErrClosed. Close releases the Go callbacks registered with
// WithCallback and WithErrorHandler.
func (l *Logger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	l.cleanup.Stop()
	r := C.alog_close(l.lg, C.ALOG_TIMEOUT_INFINITE)
	runtime.KeepAlive(l)
	l.res.release(r)
	return opErr("close", r, l.LastError())
}

// Stats are a logger's counters. At every moment Submitted == Written + Dropped + Failed +
// Pending; after Close, Pending == 0.
type Stats struct {
	Submitted      uint64 // records accepted by log calls (records below the level are not counted)
	Written        uint64 // records every sink took
	Dropped        uint64 // records discarded by the overflow policy
	Failed         uint64 // records some sink could not take after retries (see LastError)
	Pending        uint64 // records accepted and not yet written, dropped or failed
	QueueLen       uint64
	QueueCapacity  uint64
	QueuePeak      uint64
	Batches        uint64
	BytesWritten   uint64
	WriteErrors    uint64 // failed write attempts, retries included
	Rotations      uint64
	WriterRestarts uint64
}

// Stats returns a snapshot of the logger's counters (also after Close).
func (l *Logger) Stats() Stats {
	var s C.alog_stats
	C.alog_get_stats(l.lg, &s)
	runtime.KeepAlive(l)
	return Stats{
		Submitted: uint64(s.submitted), Written: uint64(s.written), Dropped: uint64(s.dropped),
		Failed: uint64(s.failed), Pending: uint64(s.pending), QueueLen: uint64(s.queue_len),
		QueueCapacity: uint64(s.queue_capacity), QueuePeak: uint64(s.queue_peak),
		Batches: uint64(s.batches), BytesWritten: uint64(s.bytes_written),
		WriteErrors: uint64(s.write_errors), Rotations: uint64(s.rotations),
		WriterRestarts: uint64(s.writer_restarts),
	}
}

// LastError returns the engine's last I/O or sink error message ("" if none).
func (l *Logger) LastError() string {
	var buf [512]C.char
	C.alog_last_error(l.lg, &buf[0], C.size_t(len(buf)))
	runtime.KeepAlive(l)
	return C.GoString(&buf[0])
}

// Reopen asks the writer to close and reopen the logger's files before its next batch, after
// an external tool (logrotate without copytruncate) moved them. It only sets a flag, so a
// goroutine serving signal.Notify(ch, syscall.SIGHUP) may call it. alog also notices a moved
// or deleted file by itself, once per batch.
func (l *Logger) Reopen() error {
	r := C.alog_reopen(l.lg)
	runtime.KeepAlive(l)
	if r != C.ALOG_OK {
		return opErr("reopen", r, "")
	}
	return nil
}
