//go:build cgo

package alog

import (
	"strconv"
	"time"
)

// Option configures Open. Every option sets engine configuration keys (see the table in
// README.md); the engine validates them and Open reports a bad value with the key's name.
// An Option is a function of *Options, so a program can write its own from the others or
// from Options.Set:
//
//	func Production() alog.Option {
//		return func(o *alog.Options) {
//			alog.WithFormat(alog.FormatJSON)(o)
//			o.Set("rotate_bytes", "100MiB")
//		}
//	}
type Option func(*Options)

// Options collects what the Options given to Open set, in order.
type Options struct {
	kv        [][2]string
	callbacks []callbackSpec
	onError   func(error)
	addSource bool
}

// Set sets an engine configuration key; Open passes the keys to the engine in the order
// they were set, and the engine validates each.
func (o *Options) Set(key, value string) { o.kv = append(o.kv, [2]string{key, value}) }

type callbackSpec struct {
	min    Level
	format Format
	fn     func(Level, []byte)
}

// Config sets any engine configuration key, e.g. Config("file.full.path", "logs/full.log").
func Config(key, value string) Option {
	return func(o *Options) { o.Set(key, value) }
}

// WithAddSource makes the direct API (Log, Info, ... and their Context forms) record the
// caller's file, line and function as the record's source, as slog's AddSource does (the
// slog Handler takes it from slog.HandlerOptions). It costs a stack walk per record.
func WithAddSource(add bool) Option { return func(o *Options) { o.addSource = add } }

// Format is an output format.
type Format string

// The engine's formats.
const (
	FormatText Format = "text" // <RFC 3339 timestamp> <LEVEL> <message>[ key=value...]
	FormatJSON Format = "json" // one JSON object per line: ts, level, msg, source, fields
)

// Overflow is what a log call does when the queue is full.
type Overflow string

// The engine's overflow policies.
const (
	OverflowBlock      Overflow = "block"       // wait for room (up to WithBlockTimeout, then drop: ErrTimeout)
	OverflowDropNewest Overflow = "drop_newest" // drop the new record: ErrFull
	OverflowDropOldest Overflow = "drop_oldest" // drop the oldest queued record to take the new one
	OverflowWarn       Overflow = "warn"        // drop the new record (ErrFull), one notice per second on stderr
)

// Console is a console stream for WithConsole.
type Console string

// The console streams.
const (
	ConsoleNone   Console = "none"
	ConsoleStdout Console = "stdout"
	ConsoleStderr Console = "stderr"
)

// Fsync says when file sinks are fsynced.
type Fsync string

// The fsync modes.
const (
	FsyncNever    Fsync = "never"
	FsyncBatch    Fsync = "batch"    // after every batch
	FsyncInterval Fsync = "interval" // every flush_interval_ms
	FsyncClose    Fsync = "close"    // on Flush and Close
)

// WithLevel sets the minimum level (key "level").
func WithLevel(l Level) Option { return Config("level", strconv.Itoa(int(l))) }

// WithFormat sets the output format (key "format").
func WithFormat(f Format) Option { return Config("format", string(f)) }

// WithPattern sets the text layout (key "pattern"), e.g. "{ts} {level} {msg}{fields}".
func WithPattern(p string) Option { return Config("pattern", p) }

// WithJSONKeys names the three leading JSON members (keys "json.ts_key", "json.level_key",
// "json.msg_key"; defaults ts, level, msg). WithJSONKeys("time", "level", "msg") gives the
// names log/slog uses.
func WithJSONKeys(ts, level, msg string) Option {
	return func(s *Options) {
		Config("json.ts_key", ts)(s)
		Config("json.level_key", level)(s)
		Config("json.msg_key", msg)(s)
	}
}

// WithQueue sets the queue's capacity in records and what happens when it is full
// (keys "queue_capacity" and "overflow").
func WithQueue(capacity int, overflow Overflow) Option {
	return func(s *Options) {
		Config("queue_capacity", strconv.Itoa(capacity))(s)
		Config("overflow", string(overflow))(s)
	}
}

// WithBlockTimeout bounds how long a call waits for room under OverflowBlock; then the
// record is dropped and the call returns ErrTimeout (key "block_timeout_ms"; 0 waits
// forever). Durations are rounded up to whole milliseconds.
func WithBlockTimeout(d time.Duration) Option { return Config("block_timeout_ms", millis(d)) }

// WithBatch sets how many queued records wake the writer and the longest wait for a batch
// to fill (keys "batch_size" and "batch_timeout_ms").
func WithBatch(size int, timeout time.Duration) Option {
	return func(s *Options) {
		Config("batch_size", strconv.Itoa(size))(s)
		Config("batch_timeout_ms", millis(timeout))(s)
	}
}

// WithFsync sets when file sinks are fsynced (key "fsync").
func WithFsync(f Fsync) Option { return Config("fsync", string(f)) }

// WithConsole echoes records on a console stream (key "console").
func WithConsole(c Console) Option { return Config("console", string(c)) }

// WithFlushOn writes a record at or above min out at once, with everything queued before it,
// instead of waiting for its batch to fill (key "flush_on"; spdlog's flush_on).
func WithFlushOn(min Level) Option { return Config("flush_on", strconv.Itoa(int(min))) }

// WithSyslog adds a syslog sink (keys "syslog", "syslog.facility", "syslog.ident"): socket is
// "local" for the syslog daemon at /dev/log or the absolute path of a Unix datagram socket,
// or "udp://HOST:PORT" / "tcp://HOST:PORT" / "tls://HOST[:PORT]" for an RFC 5424 receiver over
// the network (tls:// needs Config("syslog.tls.ca", PEM file) too);
// facility a name such as "user", "daemon" or "local0" ("" for user); ident the program name
// the daemon shows ("" for the basename of os.Args[0]). Each record is one message with the
// severity of its level; Config("syslog.level", ...) gives the sink a level of its own.
func WithSyslog(socket, facility, ident string) Option {
	return func(s *Options) {
		Config("syslog", socket)(s)
		if facility != "" {
			Config("syslog.facility", facility)(s)
		}
		if ident != "" {
			Config("syslog.ident", ident)(s)
		}
	}
}

// WithSQLite adds a SQLite sink (key "sqlite"): every record becomes a row of the table
// "logs" in the database at path (created if absent), each batch in one transaction; the
// fields are a JSON column. Config("sqlite.table", ...), ("sqlite.level", ...) and
// ("sqlite.busy_timeout_ms", ...) adjust it (README.md, "Shipping logs").
func WithSQLite(path string) Option { return Config("sqlite", path) }

// WithSync makes every call write synchronously on the caller's goroutine (key "sync";
// ALOG_SYNC=1 in the environment forces it).
func WithSync(sync bool) Option { return Config("sync", strconv.FormatBool(sync)) }

// WithCallback registers fn to receive every record at min and above (0: the logger's
// level), formatted as format ("" for the logger's format), one line without its newline.
// fn runs on the engine's writer thread (on the logging goroutine in sync mode), one call
// at a time; line is valid only during the call. fn must not call methods of the same Logger
// (logging, Flush, Close): the writer thread would wait for itself. This is
// how the seed LogManager's handlers (an alert on errors, say) are written with alog.
func WithCallback(min Level, format Format, fn func(level Level, line []byte)) Option {
	return func(s *Options) {
		s.callbacks = append(s.callbacks, callbackSpec{min: min, format: format, fn: fn})
	}
}

// WithErrorHandler registers fn to receive every I/O or sink error of the engine as an
// *Error (Op "write"); it runs on the writer thread and must not call methods of the same
// Logger.
func WithErrorHandler(fn func(err error)) Option {
	return func(s *Options) { s.onError = fn }
}

// millis renders d in whole milliseconds, rounding up so that a positive duration never
// becomes 0 (which means "forever" for block_timeout_ms). Negative durations are passed on
// for the engine to refuse.
func millis(d time.Duration) string {
	ms := d / time.Millisecond
	if d > 0 && d%time.Millisecond != 0 {
		ms++
	}
	return strconv.FormatInt(int64(ms), 10)
}
