package alog

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
)

// Where the time of one direct-API call with four integer fields goes (run with
// go test -run '^$' -bench Overhead; scripts/bench-go.sh compares whole calls with the peers):
//
//   - pack: the binding's Go work without the call into C (four fields filled in the array
//     that travels by value, see direct.go);
//   - pack-scratch: the same through the scratch buffer (scratch from the pool, keys copied,
//     scratch back), the path of records with more than 8 fields or a Time;
//   - cgo-call: one call into the engine that does almost nothing (alog_reopen sets a flag);
//   - to-engine: the whole Info call up to the engine's level check, which turns it away (the
//     binding's cache of enabled levels is forced open): the binding, cgo and the C glue,
//     without the engine's queue;
//   - slog-to-engine: the same through the slog Handler up to the engine's level check;
//   - slog-frontend: log/slog's own share of a LogAttrs call (runtime.Callers, the clock, the
//     Record) with a handler that does nothing, paid alike by every slog handler;
//   - record-warm: the whole Info call into a logger whose queue memory was used before;
//   - record-cold: the same into a fresh logger, whose queue memory the kernel maps on first
//     use (a cost paid once per logger, which scripts/bench-go.sh leaves out by writing a
//     queue's worth of records before it times).
func BenchmarkOverhead(b *testing.B) {
	const burst = 4000 // records that fit in the default queue of 8192
	fields := func(l *Logger, i int) error {
		return l.Info("user logged in", Int("user", i), Int("subnet", i%256), Int("host", i%100), Int("ms", i%1000))
	}
	openB := func(b *testing.B) *Logger {
		l, err := Open(filepath.Join(b.TempDir(), "bench.log"), WithFormat(FormatJSON))
		if err != nil {
			b.Fatal(err)
		}
		return l
	}
	b.Run("pack", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if packOnly([]Attr{Int("user", i), Int("subnet", i%256), Int("host", i%100), Int("ms", i%1000)}) != 4 {
				b.Fatal("not packed")
			}
		}
	})
	b.Run("pack-scratch", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			attrs := []Attr{Int("user", i), Int("subnet", i%256), Int("host", i%100), Int("ms", i%1000)}
			s := getScratch()
			for j := range attrs {
				s.attr(&attrs[j])
			}
			putScratch(s)
		}
	})
	b.Run("cgo-call", func(b *testing.B) {
		l := openB(b)
		defer l.Close()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := l.Reopen(); err != nil {
				b.Fatal(err)
			}
		}
	})
	// gated runs call(i) b.N times, call made by mk for a logger whose engine turns every
	// record away at its level check while the binding's cache of enabled levels is forced
	// open.
	gated := func(mk func(l *Logger) func(i int)) func(b *testing.B) {
		return func(b *testing.B) {
			l := openB(b)
			defer l.Close()
			if err := l.SetLevel(LevelWarn); err != nil {
				b.Fatal(err)
			}
			l.e.enabled.Store(^uint32(0))
			call := mk(l)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				call(i)
			}
			b.StopTimer()
			if s := l.Stats(); s.Submitted != 0 {
				b.Fatalf("the engine accepted %d records below its level", s.Submitted)
			}
		}
	}
	ctx := context.Background()
	slogFields := func(log *slog.Logger, i int) {
		log.LogAttrs(ctx, slog.LevelInfo, "user logged in", slog.Int("user", i),
			slog.Int("subnet", i%256), slog.Int("host", i%100), slog.Int("ms", i%1000))
	}
	b.Run("to-engine", gated(func(l *Logger) func(int) {
		return func(i int) {
			if err := fields(l, i); err != nil {
				b.Fatal(err)
			}
		}
	}))
	b.Run("slog-to-engine", gated(func(l *Logger) func(int) {
		log := slog.New(l.Handler(nil))
		return func(i int) { slogFields(log, i) }
	}))
	b.Run("slog-frontend", func(b *testing.B) {
		log := slog.New(nopHandler{})
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			slogFields(log, i)
		}
	})
	for _, warm := range []bool{true, false} {
		name := "record-cold"
		if warm {
			name = "record-warm"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var l *Logger
			for i := 0; i < b.N; i++ {
				if i%burst == 0 {
					b.StopTimer()
					if l != nil && !warm {
						_ = l.Close()
						l = nil
					}
					if l == nil {
						l = openB(b)
						if warm {
							for j := 0; j < 3*burst; j++ { // every slot of the queue used once
								_ = fields(l, j)
							}
						}
					}
					if err := l.Flush(b.Context()); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				if err := fields(l, i); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			_ = l.Close()
		})
	}
}

// nopHandler accepts every record and does nothing with it.
type nopHandler struct{}

func (nopHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (nopHandler) Handle(context.Context, slog.Record) error { return nil }
func (h nopHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h nopHandler) WithGroup(string) slog.Handler           { return h }
