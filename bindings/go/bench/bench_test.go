// Package bench compares alog's Go binding with zap, zerolog and log/slog's JSON handler.
// Every logger writes JSON lines to a file of its own: the peers through a 256 KiB buffer,
// alog through its engine (a bounded queue and a writer thread). Run with
// scripts/bench-go.sh. ns/op is the caller's cost per record; flush-ns/op also counts the
// final flush (for alog: until every record is in the file), spread over the records.
package bench

import (
	"bufio"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	alog "github.com/alog-dev/alog/bindings/go"
	"github.com/rs/zerolog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

const bufSize = 256 << 10

// message builds the workload's message "user {i} logged in from 10.0.{i%256}.{i%100} in
// {i%1000} ms" into buf, the same way for every logger.
func message(buf []byte, i int) []byte {
	buf = append(buf[:0], "user "...)
	buf = strconv.AppendInt(buf, int64(i), 10)
	buf = append(buf, " logged in from 10.0."...)
	buf = strconv.AppendInt(buf, int64(i%256), 10)
	buf = append(buf, '.')
	buf = strconv.AppendInt(buf, int64(i%100), 10)
	buf = append(buf, " in "...)
	buf = strconv.AppendInt(buf, int64(i%1000), 10)
	return append(buf, " ms"...)
}

// str views a buffer as a string for a call that does not keep it (all loggers here copy or
// encode the message before they return).
func str(b []byte) string { return unsafeString(b) }

// target is one logger under test: logMsg logs the workload message, logFields the same
// data as a short message and four integer fields, flush writes out what is buffered (for
// alog: waits until the queue is empty), done flushes and closes.
type target struct {
	logMsg    func(msg string)
	logFields func(i int)
	flush     func()
	done      func()
}

type opener func(b *testing.B, path string) target

func openAlog(slogAPI bool) opener {
	return func(b *testing.B, path string) target {
		l, err := alog.Open(path, alog.WithFormat(alog.FormatJSON))
		if err != nil {
			b.Fatal(err)
		}
		done := func() {
			if err := l.Close(); err != nil {
				b.Fatal(err)
			}
			if s := l.Stats(); s.Written != s.Submitted || s.Dropped != 0 {
				b.Fatalf("stats %+v", s)
			}
		}
		flush := func() {
			if err := l.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
		if slogAPI {
			return slogTarget(l.Handler(nil), flush, done)
		}
		return target{
			logMsg: func(msg string) { _ = l.Info(msg) },
			logFields: func(i int) {
				_ = l.Info("user logged in", alog.Int("user", i), alog.Int("subnet", i%256),
					alog.Int("host", i%100), alog.Int("ms", i%1000))
			},
			flush: flush,
			done:  done,
		}
	}
}

func create(b *testing.B, path string) *os.File {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	return f
}

func openZap(b *testing.B, path string) target {
	f := create(b, path)
	ws := &zapcore.BufferedWriteSyncer{WS: f, Size: bufSize, FlushInterval: time.Second}
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.RFC3339NanoTimeEncoder
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(enc), ws, zapcore.InfoLevel))
	return target{
		logMsg: func(msg string) { log.Info(msg) },
		logFields: func(i int) {
			log.Info("user logged in", zap.Int("user", i), zap.Int("subnet", i%256),
				zap.Int("host", i%100), zap.Int("ms", i%1000))
		},
		flush: func() { _ = ws.Sync() },
		done:  func() { _ = ws.Stop(); _ = f.Close() },
	}
}

// lockedWriter serialises writes to a bufio.Writer for zerolog, which does not lock.
type lockedWriter struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func openZerolog(b *testing.B, path string) target {
	f := create(b, path)
	w := &lockedWriter{w: bufio.NewWriterSize(f, bufSize)}
	log := zerolog.New(w).With().Timestamp().Logger()
	return target{
		logMsg: func(msg string) { log.Info().Msg(msg) },
		logFields: func(i int) {
			log.Info().Int("user", i).Int("subnet", i%256).Int("host", i%100).Int("ms", i%1000).Msg("user logged in")
		},
		flush: func() { w.mu.Lock(); _ = w.w.Flush(); w.mu.Unlock() },
		done:  func() { _ = w.w.Flush(); _ = f.Close() },
	}
}

func openSlogJSON(b *testing.B, path string) target {
	f := create(b, path)
	w := bufio.NewWriterSize(f, bufSize) // the handler serialises its writes
	// Flushed only between timed runs, while no record is being written.
	return slogTarget(slog.NewJSONHandler(w, nil), func() { _ = w.Flush() }, func() { _ = w.Flush(); _ = f.Close() })
}

// slogTarget logs the workloads through log/slog into h.
func slogTarget(h slog.Handler, flush, done func()) target {
	log := slog.New(h)
	ctx := context.Background()
	return target{
		logMsg: func(msg string) { log.Info(msg) },
		logFields: func(i int) {
			log.LogAttrs(ctx, slog.LevelInfo, "user logged in", slog.Int("user", i),
				slog.Int("subnet", i%256), slog.Int("host", i%100), slog.Int("ms", i%1000))
		},
		flush: flush,
		done:  done,
	}
}

var loggers = []struct {
	name string
	open opener
}{
	{"alog", openAlog(false)},
	{"alog-slog", openAlog(true)},
	{"zap", openZap},
	{"zerolog", openZerolog},
	{"slog-json", openSlogJSON},
}

func init() { zerolog.TimeFieldFormat = time.RFC3339Nano }

// warmup is the number of records every logger writes, untimed and then flushed, before a
// run: alog's default queue capacity, so that each slot of alog's queue and each byte of the
// peers' buffers has been used once. The runs measure a logger in use, not the kernel
// mapping a freshly opened logger's memory on first touch (a cost paid once per logger;
// BenchmarkOverhead in the binding's package measures it).
const warmup = 8192

// run times one workload; flush-ns/op includes done().
func run(b *testing.B, open opener, parallel bool, body func(t target, buf []byte, i int) []byte) {
	t := open(b, filepath.Join(b.TempDir(), "bench.log"))
	buf := make([]byte, 0, 128)
	for i := range warmup {
		buf = body(t, buf, i)
	}
	t.flush()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	if parallel {
		b.RunParallel(func(pb *testing.PB) {
			buf := make([]byte, 0, 128)
			for i := 0; pb.Next(); i++ {
				buf = body(t, buf, i)
			}
		})
	} else {
		for i := 0; i < b.N; i++ {
			buf = body(t, buf, i)
		}
	}
	b.StopTimer()
	t.done()
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N), "flush-ns/op")
}

func logMessage(t target, buf []byte, i int) []byte {
	buf = message(buf, i)
	t.logMsg(str(buf))
	return buf
}

func logFields(t target, buf []byte, i int) []byte {
	t.logFields(i)
	return buf
}

// BenchmarkMessage: one goroutine logs the workload message.
func BenchmarkMessage(b *testing.B) {
	for _, l := range loggers {
		b.Run(l.name, func(b *testing.B) { run(b, l.open, false, logMessage) })
	}
}

// BenchmarkFields: one goroutine logs a short message with four integer fields.
func BenchmarkFields(b *testing.B) {
	for _, l := range loggers {
		b.Run(l.name, func(b *testing.B) { run(b, l.open, false, logFields) })
	}
}

// BenchmarkMessageParallel: GOMAXPROCS goroutines log the workload message.
func BenchmarkMessageParallel(b *testing.B) {
	for _, l := range loggers {
		b.Run(l.name, func(b *testing.B) { run(b, l.open, true, logMessage) })
	}
}
