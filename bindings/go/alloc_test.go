//go:build !race

// The race detector makes sync.Pool drop items at random, so allocation counts are only
// meaningful without it.

package alog

import (
	"context"
	"log/slog"
	"testing"
	"time"
	"unsafe"
)

// unsafeString views b as a string for the duration of a call that does not keep it.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// The direct API allocates nothing per call, with or without typed fields, With attributes,
// context attributes or the source location; the slog handler
// allocates less than log/slog's own JSON handler for the same call.
func TestZeroAllocationsPerCall(t *testing.T) {
	l, _ := open(t, WithFormat(FormatJSON), WithQueue(1<<16, OverflowDropNewest))
	buf := make([]byte, 0, 64)
	i := 0
	child := l.With(String("req", "r-1"), Int("user", 7))
	actx := ContextWithAttrs(context.Background(), String("trace", "4bf9"))
	src, _ := open(t, WithFormat(FormatJSON), WithQueue(1<<16, OverflowDropNewest), WithAddSource(true))
	cases := map[string]func(){
		"Info(msg)": func() { _ = l.Info("user 42 logged in from 10.0.0.42 in 42 ms") },
		"Info(msg) from a reused buffer": func() {
			buf = append(buf[:0], "user "...)
			buf = append(buf, byte('0'+i%10))
			i++
			_ = l.Info(unsafeString(buf))
		},
		"Info(msg, attr) from a reused buffer": func() {
			buf = append(buf[:0], "10.0.0."...)
			buf = append(buf, byte('0'+i%10))
			i++
			_ = l.Info("from", String("ip", unsafeString(buf)), Int("n", i))
		},
		"Info(msg, 9 attrs)": func() {
			_ = l.Info("nine", Int("a", 1), Int("b", 2), Int("c", 3), Int("d", 4), Int("e", 5),
				Int("f", 6), Int("g", 7), Int("h", 8), String("i", "9"))
		},
		"Info(msg, Time attr)": func() { _ = l.Info("t", Time("at", time.Unix(1, 2))) },
		"Info(msg, 5 typed attrs)": func() {
			_ = l.Info("user logged in", Int("user", 42), String("ip", "10.0.0.42"),
				Duration("took", 42*time.Millisecond), Bool("ok", true), Float64("score", 0.5))
		},
		"Debug below the level":          func() { _ = l.Debug("x", Int("a", 1)) },
		"Writer.Write":                   func() { _, _ = l.Writer(LevelInfo).Write(buf) },
		"With child Info(msg, attr)":     func() { _ = child.Info("handled", Int("status", 200)) },
		"InfoContext with context attrs": func() { _ = l.InfoContext(actx, "handled", Int("status", 200)) },
		"Info with AddSource":            func() { _ = src.Info("handled", Int("status", 200)) },
	}
	for name, f := range cases {
		if n := testing.AllocsPerRun(2000, f); n != 0 {
			t.Errorf("%s: %v allocations per call, want 0", name, n)
		}
	}
	h := l.Handler(nil)
	ctx := context.Background()
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "user logged in", 0)
	r.AddAttrs(slog.Int("user", 42), slog.String("ip", "10.0.0.42"), slog.Group("req", slog.Int("ms", 42)))
	if n := testing.AllocsPerRun(2000, func() { _ = h.Handle(ctx, r) }); n != 0 {
		t.Errorf("Handler.Handle: %v allocations per call, want 0", n)
	}
	plain := slog.NewRecord(time.Now(), slog.LevelInfo, "no attributes", 0)
	if n := testing.AllocsPerRun(2000, func() { _ = h.Handle(ctx, plain) }); n != 0 {
		t.Errorf("Handler.Handle without attributes: %v allocations per call, want 0", n)
	}
}
