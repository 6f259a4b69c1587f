// Package alog is the Go binding of alog, an asynchronous logging engine: a log call copies
// the record into preallocated memory and returns; a background thread of the engine formats
// records in batches and writes them. The package links libalog through cgo (see README.md).
//
// Open a Logger, log through its direct API (Info, Log, ... with typed Attrs, no allocation
// per call), through log/slog (Handler) or through an io.Writer (Writer), and Close it to
// drain the queue. Every record is accounted for in Stats: written, dropped by the overflow
// policy you chose, or failed.
//
// Go does not run C exit hooks: returning from main or calling os.Exit loses the records
// still queued. Close every Logger before the program ends (defer l.Close() in main), call
// Shutdown before os.Exit, and call FlushOnSignal to close them on SIGTERM and SIGINT.
package alog

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"context"
	"os"
	"runtime"
	"runtime/cgo"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Version is the engine's version (alog_version), e.g. "0.1.0".
func Version() string { return C.GoString(C.alog_version()) }

// Logger is an open alog logger. All its methods may be called from any goroutine, also
// while another goroutine closes it (calls after Close return ErrClosed). A nil or zero
// Logger is not open: its methods return an error matching ErrNull (Close returns nil).
//
// Loggers made with With share their parent's engine handle: closing any of them closes the
// engine for all.
type Logger struct {
	e     *engine
	attrs []Attr // added to every record by With, before the call's own
}

// engine is one open engine handle, shared by a Logger and its With children.
type engine struct {
	lg *C.alog_logger
	h  C.uintptr_t // lg as an integer, for the logging calls (see shim.h)
	// enabled has bit n set when the engine accepts records at level n: a cache of
	// alog_level_enabled, refreshed by SetLevel, so that disabled calls skip the C call.
	enabled   atomic.Uint32
	addSource bool
	mu        sync.Mutex // serialises Close and SetLevel
	done      bool       // closed, callbacks released
	res       *resources
	cleanup   runtime.Cleanup
}

// resources are what a logger must release when it is closed: the handles of its Go
// callbacks. Kept apart from engine so that the cleanup can reach them without the engine.
type resources struct {
	lg      *C.alog_logger
	id      uint64 // key in the registry of open engines
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
	unregister(r.id)
}

// finalTimeout bounds the close the cleanup does for a Logger that was never closed.
const finalTimeout = 5 * time.Second

// errNotOpen is what the methods of a nil or zero Logger return.
var errNotOpen error = &Error{Op: "log", Code: ErrNull, Detail: "the Logger is nil or zero: make it with alog.Open"}

// Open opens a logger appending to path ("" for none: then the options must name another
// sink, e.g. WithConsole or a callback) with the given options applied in order. ALOG_LEVEL
// in the environment, when set, overrides the level the options give (see ParseLevel for
// its spellings). Errors are *Error values matching ErrInvalid, ErrIO or ErrNull, with the
// engine's message naming the key and the accepted values; an OS error behind ErrIO is
// wrapped too: errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR), ...
func Open(path string, opts ...Option) (*Logger, error) {
	var st Options
	for _, o := range opts {
		o(&st)
	}
	if v := os.Getenv("ALOG_LEVEL"); v != "" {
		lv, err := ParseLevel(v)
		if err != nil {
			return nil, &Error{Op: "config level (ALOG_LEVEL)", Code: ErrInvalid, Detail: err.(*Error).Detail}
		}
		st.Set("level", lv.number())
	}
	conf := C.alog_conf_new()
	if conf == nil {
		return nil, &Error{Op: "open", Code: ErrIO, Detail: "out of memory"}
	}
	defer C.alog_conf_free(conf)
	var eb errBuf
	res := &resources{}
	fail := func(op string, r C.alog_result, msg string, errno error) (*Logger, error) {
		res.release(C.ALOG_OK)
		err := &Error{Op: op, Code: Code(r), Detail: msg}
		if r == C.ALOG_ERR_IO && errno != nil && errno != syscall.Errno(0) {
			err.Err = errno
		}
		return nil, err
	}
	for _, kv := range st.kv {
		k, v := C.CString(kv[0]), C.CString(kv[1])
		r, msg := eb.call(func(buf *C.char, n C.size_t) C.alog_result {
			return C.alog_conf_set(conf, k, v, buf, n)
		})
		C.free(unsafe.Pointer(k))
		C.free(unsafe.Pointer(v))
		if r != C.ALOG_OK {
			return fail("config "+kv[0], r, msg, nil)
		}
	}
	for _, cb := range st.callbacks {
		h := cgo.NewHandle(cb.fn)
		res.handles = append(res.handles, h)
		var format *C.char
		if cb.format != "" {
			format = C.CString(string(cb.format))
		}
		r, msg := eb.call(func(buf *C.char, n C.size_t) C.alog_result {
			return C.alog_go_add_callback(conf, C.uintptr_t(h), C.int32_t(cb.min), format, buf, n)
		})
		C.free(unsafe.Pointer(format))
		if r != C.ALOG_OK {
			return fail("callback", r, msg, nil)
		}
	}
	if st.onError != nil {
		h := cgo.NewHandle(st.onError)
		res.handles = append(res.handles, h)
		if r := C.alog_go_set_error_callback(conf, C.uintptr_t(h)); r != C.ALOG_OK {
			return fail("error callback", r, "", nil)
		}
	}
	var cpath *C.char
	if path != "" {
		cpath = C.CString(path)
		defer C.free(unsafe.Pointer(cpath))
	}
	var lg *C.alog_logger
	var errno error
	r, msg := eb.call(func(buf *C.char, n C.size_t) C.alog_result {
		// A failed open is retried when its message filled the buffer; a retry that
		// succeeds (the cause went away meanwhile) simply opens the logger.
		var r C.alog_result
		r, errno = C.alog_open(cpath, conf, &lg, buf, n)
		return r
	})
	if r != C.ALOG_OK {
		return fail("open "+path, r, msg, errno)
	}
	res.lg = lg
	e := &engine{lg: lg, h: C.uintptr_t(uintptr(unsafe.Pointer(lg))), res: res, addSource: st.addSource}
	e.refreshEnabled()
	// The safety net: an engine that becomes unreachable unclosed is closed (drained for at
	// most finalTimeout). Close disarms it.
	e.cleanup = runtime.AddCleanup(e, func(r *resources) {
		rc := C.alog_close(r.lg, C.uint32_t(finalTimeout/time.Millisecond))
		r.release(rc)
	}, res)
	register(e)
	return &Logger{e: e}, nil
}

// refreshEnabled asks the engine which levels it accepts.
func (e *engine) refreshEnabled() {
	var mask uint32
	for n := 1; n <= 24; n++ {
		if C.alog_level_enabled(e.lg, C.int32_t(n)) != 0 {
			mask |= 1 << n
		}
	}
	e.enabled.Store(mask)
	runtime.KeepAlive(e)
}

// Enabled reports whether a record at level would be accepted (by at least one sink).
func (l *Logger) Enabled(level Level) bool {
	return l != nil && l.e != nil && uint32(level-1) < 24 && l.e.enabled.Load()&(1<<uint32(level)) != 0
}

// refused is the result of a call whose level is not enabled: nil, unless the level is
// invalid or the Logger not open.
func (l *Logger) refused(level Level) error {
	if l == nil || l.e == nil {
		return errNotOpen
	}
	if uint32(level-1) >= 24 {
		return ErrInvalid
	}
	return nil
}

// SetLevel sets the level of the logger and of every sink without a level of its own (for
// every Logger sharing its engine).
func (l *Logger) SetLevel(level Level) error {
	if l == nil || l.e == nil {
		return errNotOpen
	}
	e := l.e
	e.mu.Lock()
	defer e.mu.Unlock()
	r := C.alog_set_level(e.lg, C.int32_t(level))
	runtime.KeepAlive(e)
	switch r {
	case C.ALOG_OK:
		e.refreshEnabled()
		return nil
	case C.ALOG_ERR_INVALID:
		return &Error{Op: "set level", Code: ErrInvalid, Detail: "level " + Level(level).number() + " is outside 1..24"}
	}
	return opErr("set level", r, "")
}

// With returns a Logger that adds attrs to every record, before the attributes of each call.
// It shares l's engine handle (and its level, queue, sinks and Close).
func (l *Logger) With(attrs ...Attr) *Logger {
	if l == nil {
		return nil
	}
	return &Logger{e: l.e, attrs: slices.Concat(l.attrs, attrs)}
}

// Log submits a record at level with the given fields. It returns nil once the record is
// queued (or when the level is disabled), ErrFull or ErrTimeout when the overflow policy
// dropped it (counted in Stats().Dropped), ErrTooLarge, ErrInvalid for a level outside
// 1..24, or ErrClosed. Neither msg nor attrs are retained after the call.
func (l *Logger) Log(level Level, msg string, attrs ...Attr) error {
	return l.logAt(nil, level, msg, attrs)
}

// Debug logs at LevelDebug (see Log).
func (l *Logger) Debug(msg string, attrs ...Attr) error { return l.logAt(nil, LevelDebug, msg, attrs) }

// Info logs at LevelInfo (see Log).
func (l *Logger) Info(msg string, attrs ...Attr) error { return l.logAt(nil, LevelInfo, msg, attrs) }

// Warn logs at LevelWarn (see Log).
func (l *Logger) Warn(msg string, attrs ...Attr) error { return l.logAt(nil, LevelWarn, msg, attrs) }

// Error logs at LevelError (see Log).
func (l *Logger) Error(msg string, attrs ...Attr) error { return l.logAt(nil, LevelError, msg, attrs) }

// LogContext logs as Log, adding the attributes ctx carries (see ContextWithAttrs) before
// the call's own.
func (l *Logger) LogContext(ctx context.Context, level Level, msg string, attrs ...Attr) error {
	return l.logAt(ctx, level, msg, attrs)
}

// DebugContext logs at LevelDebug (see LogContext).
func (l *Logger) DebugContext(ctx context.Context, msg string, attrs ...Attr) error {
	return l.logAt(ctx, LevelDebug, msg, attrs)
}

// InfoContext logs at LevelInfo (see LogContext).
func (l *Logger) InfoContext(ctx context.Context, msg string, attrs ...Attr) error {
	return l.logAt(ctx, LevelInfo, msg, attrs)
}

// WarnContext logs at LevelWarn (see LogContext).
func (l *Logger) WarnContext(ctx context.Context, msg string, attrs ...Attr) error {
	return l.logAt(ctx, LevelWarn, msg, attrs)
}

// ErrorContext logs at LevelError (see LogContext).
func (l *Logger) ErrorContext(ctx context.Context, msg string, attrs ...Attr) error {
	return l.logAt(ctx, LevelError, msg, attrs)
}

// logAt is every logging method: the level check, then write. The caller's frame is always
// three above write (for WithAddSource).
func (l *Logger) logAt(ctx context.Context, level Level, msg string, attrs []Attr) error {
	if !l.Enabled(level) {
		return l.refused(level)
	}
	return l.write(ctx, level, msg, attrs, 3)
}

// write submits an enabled record; the caller's frame is skip frames above it.
func (l *Logger) write(ctx context.Context, level Level, msg string, attrs []Attr, skip int) error {
	e := l.e
	var cattrs []Attr
	if ctx != nil {
		cattrs, _ = ctx.Value(ctxKey{}).([]Attr)
	}
	if len(attrs) == 0 && len(l.attrs) == 0 && len(cattrs) == 0 && !e.addSource {
		r := C.alog_go_write_msg(e.h, C.int32_t(level), strPtr(msg), C.size_t(len(msg)))
		runtime.KeepAlive(e)
		return codeErr(r)
	}
	return l.writeFields(e, level, msg, cattrs, attrs, skip+1)
}

// writeFields submits an enabled record with fields or a source location; the caller's frame
// is skip frames above it. Kept apart from write so that plain messages run in a small frame.
func (l *Logger) writeFields(e *engine, level Level, msg string, cattrs, attrs []Attr, skip int) error {
	var src *source
	if e.addSource {
		src = callerSource(skip)
	}
	if r, ok := writeInline(e, level, msg, src, l.attrs, cattrs, attrs); ok {
		return codeErr(r)
	}
	s := getScratch()
	for i := range l.attrs {
		s.attr(&l.attrs[i])
	}
	for i := range cattrs {
		s.attr(&cattrs[i])
	}
	for i := range attrs {
		s.attr(&attrs[i])
	}
	r := s.write(e, level, 0, msg, src)
	putScratch(s)
	return codeErr(r)
}

// srcCache maps a call site's program counter to its source location, so that WithAddSource
// resolves each call site once and allocates nothing afterwards. A slot holds the last call
// site whose counter hashed to it.
var srcCache [1024]atomic.Pointer[srcEntry]

type srcEntry struct {
	pc  uintptr
	src source
}

// callerSource returns the source location of the frame skip frames above its caller.
func callerSource(skip int) *source {
	var pcs [1]uintptr
	if runtime.Callers(skip+2, pcs[:]) == 0 {
		return nil
	}
	pc := pcs[0]
	slot := &srcCache[(pc>>2)%uintptr(len(srcCache))]
	if e := slot.Load(); e != nil && e.pc == pc {
		return &e.src
	}
	f, _ := runtime.CallersFrames([]uintptr{pc}).Next()
	e := &srcEntry{pc: pc, src: source{file: f.File, line: f.Line, function: f.Function}}
	slot.Store(e)
	return &e.src
}

// ctxKey is the context key of the attributes ContextWithAttrs stores.
type ctxKey struct{}

// ContextWithAttrs returns a copy of ctx carrying attrs after those ctx already carries: the
// ...Context methods and the slog Handler add them to every record logged with it (a request
// ID set once by a middleware, say).
func ContextWithAttrs(ctx context.Context, attrs ...Attr) context.Context {
	prev, _ := ctx.Value(ctxKey{}).([]Attr)
	return context.WithValue(ctx, ctxKey{}, slices.Concat(prev, attrs))
}

// stepWait is the longest single wait of Flush and Close under a context that can end
// without a deadline, so that they notice it.
const stepWait = 50 * time.Millisecond

// waitMillis is the engine timeout for one wait under ctx.
func waitMillis(ctx context.Context) C.uint32_t {
	if ctx.Done() == nil {
		return C.uint32_t(C.ALOG_TIMEOUT_INFINITE)
	}
	step := stepWait
	if dl, ok := ctx.Deadline(); ok {
		step = min(step, time.Until(dl))
	}
	return C.uint32_t(max(step, time.Millisecond) / time.Millisecond)
}

// Flush waits until every record submitted before the call is written (or failed), then
// fsyncs file sinks unless fsync=never. It gives up when ctx is done, returning an error
// that matches both ErrTimeout and ctx.Err() (nothing is lost: writing continues).
func (l *Logger) Flush(ctx context.Context) error {
	if l == nil || l.e == nil {
		return errNotOpen
	}
	e := l.e
	for {
		r := C.alog_flush(e.lg, waitMillis(ctx))
		runtime.KeepAlive(e)
		if r != C.ALOG_ERR_TIMEOUT {
			return opErr("flush", r, reentryDetail(r, "flush"))
		}
		if err := ctx.Err(); err != nil {
			return &ctxError{&Error{Op: "flush", Code: ErrTimeout, Detail: err.Error()}, err}
		}
	}
}

// reentryDetail explains ErrInvalid from a flush or close: the only cause is a callback
// calling back into its own logger.
func reentryDetail(r C.alog_result, what string) string {
	if r != C.ALOG_ERR_INVALID {
		return ""
	}
	return "a callback or error handler cannot " + what + " its own logger: it would wait for itself"
}

// ctxError is a flush or close timeout caused by a context: it matches ErrTimeout and the
// context's error.
type ctxError struct {
	err *Error
	ctx error
}

func (e *ctxError) Error() string   { return e.err.Error() }
func (e *ctxError) Unwrap() []error { return []error{e.err, e.ctx} }

// Close stops accepting records, drains the queue, flushes and closes the sinks and joins
// the engine's writer thread. It is idempotent: later calls return nil at once. Goroutines
// logging meanwhile get ErrClosed. Close releases the Go callbacks registered with
// WithCallback and WithErrorHandler. Closing a Logger closes the engine it shares with its
// With children. Close on a nil or zero Logger does nothing.
func (l *Logger) Close() error {
	if l == nil || l.e == nil {
		return nil
	}
	return l.e.close(context.Background())
}

// CloseContext closes as Close, giving up waiting when ctx is done: the engine then keeps
// draining in the background, and the error matches ErrTimeout and ctx.Err(). A later Close
// waits for the drain to end.
func (l *Logger) CloseContext(ctx context.Context) error {
	if l == nil || l.e == nil {
		return nil
	}
	return l.e.close(ctx)
}

func (e *engine) close(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done {
		return nil
	}
	for {
		r := C.alog_close(e.lg, waitMillis(ctx))
		runtime.KeepAlive(e)
		if r == C.ALOG_ERR_TIMEOUT {
			if err := ctx.Err(); err != nil {
				return &ctxError{&Error{Op: "close", Code: ErrTimeout, Detail: err.Error() + " (the engine keeps draining)"}, err}
			}
			continue
		}
		e.done = true
		e.cleanup.Stop()
		e.res.release(r)
		if r == C.ALOG_ERR_CLOSED {
			return nil // an earlier close timed out; the writer has finished since
		}
		detail := reentryDetail(r, "close")
		if r == C.ALOG_ERR_IO {
			detail = lastError(e)
		}
		return opErr("close", r, detail)
	}
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

// Stats returns a snapshot of the logger's counters (also after Close; zero for a nil or
// zero Logger).
func (l *Logger) Stats() Stats {
	if l == nil || l.e == nil {
		return Stats{}
	}
	var s C.alog_stats
	C.alog_get_stats(l.e.lg, &s)
	runtime.KeepAlive(l.e)
	return Stats{
		Submitted: uint64(s.submitted), Written: uint64(s.written), Dropped: uint64(s.dropped),
		Failed: uint64(s.failed), Pending: uint64(s.pending), QueueLen: uint64(s.queue_len),
		QueueCapacity: uint64(s.queue_capacity), QueuePeak: uint64(s.queue_peak),
		Batches: uint64(s.batches), BytesWritten: uint64(s.bytes_written),
		WriteErrors: uint64(s.write_errors), Rotations: uint64(s.rotations),
		WriterRestarts: uint64(s.writer_restarts),
	}
}

// LastError returns the engine's last I/O or sink error message, whole ("" if none, or for
// a nil or zero Logger).
func (l *Logger) LastError() string {
	if l == nil || l.e == nil {
		return ""
	}
	return lastError(l.e)
}

func lastError(e *engine) string {
	var eb errBuf
	_, msg := eb.call(func(buf *C.char, n C.size_t) C.alog_result {
		C.alog_last_error(e.lg, buf, n)
		runtime.KeepAlive(e)
		return C.ALOG_ERR_IO // always read the message
	})
	return msg
}

// Reopen asks the writer to close and reopen the logger's files before its next batch, after
// an external tool (logrotate without copytruncate) moved them. It only sets a flag, so a
// goroutine serving signal.Notify(ch, syscall.SIGHUP) may call it. alog also notices a moved
// or deleted file by itself, once per batch.
func (l *Logger) Reopen() error {
	if l == nil || l.e == nil {
		return errNotOpen
	}
	r := C.alog_reopen(l.e.lg)
	runtime.KeepAlive(l.e)
	return opErr("reopen", r, "")
}
