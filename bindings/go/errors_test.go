package alog

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Every method of a nil or zero Logger returns an error matching ErrNull (Close: nil),
// never panics.
func TestNilAndZeroLoggers(t *testing.T) {
	for name, l := range map[string]*Logger{"nil": nil, "zero": {}, "With of zero": (&Logger{}).With(String("k", "v"))} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			calls := map[string]error{
				"Log":          l.Log(LevelInfo, "x"),
				"Log(0)":       l.Log(0, "x"),
				"Debug":        l.Debug("x"),
				"Info":         l.Info("x", Int("n", 1)),
				"Warn":         l.Warn("x"),
				"Error":        l.Error("x"),
				"LogContext":   l.LogContext(ctx, LevelWarn, "x"),
				"DebugContext": l.DebugContext(ctx, "x"),
				"InfoContext":  l.InfoContext(ctx, "x"),
				"WarnContext":  l.WarnContext(ctx, "x"),
				"ErrorContext": l.ErrorContext(ctx, "x"),
				"SetLevel":     l.SetLevel(LevelWarn),
				"Flush":        l.Flush(ctx),
				"Reopen":       l.Reopen(),
				"Handle":       l.Handler(nil).Handle(ctx, slogRecord("x")),
			}
			_, werr := l.Writer(LevelInfo).Write([]byte("x"))
			calls["Writer.Write"] = werr
			for m, err := range calls {
				if !errors.Is(err, ErrNull) || !strings.Contains(err.Error(), "alog.Open") {
					t.Errorf("%s: %v, want ErrNull saying to use alog.Open", m, err)
				}
			}
			if err := l.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if err := l.CloseContext(ctx); err != nil {
				t.Errorf("CloseContext: %v", err)
			}
			if l.Enabled(LevelFatal) || l.Handler(nil).Enabled(ctx, slog.LevelError) {
				t.Error("a Logger that is not open reports levels enabled")
			}
			if s := l.Stats(); s != (Stats{}) {
				t.Errorf("Stats = %+v", s)
			}
			if e := l.LastError(); e != "" {
				t.Errorf("LastError = %q", e)
			}
		})
	}
}

// The engine's messages reach Go whole, however long: an unknown key's message lists every
// key (the last one is reopen_check), a long path is named in full.
func TestErrorMessagesAreNotCut(t *testing.T) {
	_, err := Open("", Config("no_such_key", "1"))
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("Open: %v", err)
	}
	if !strings.HasSuffix(e.Detail, "README.md)") || !strings.Contains(e.Detail, `"no_such_key"`) {
		t.Fatalf("message of %d bytes: %q", len(e.Detail), e.Detail)
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "plain")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	long := filepath.Join(file, strings.Repeat("d", 200), strings.Repeat("e", 200), strings.Repeat("f", 200), "app.log")
	_, err = Open(long)
	if !errors.As(err, &e) || !errors.Is(err, ErrIO) || !strings.Contains(e.Detail, filepath.Dir(long)) {
		t.Fatalf("Open under a file: %v", err)
	}
}

// An OS error behind Open's ErrIO is wrapped: errors.Is sees fs.ErrNotExist, syscall.ENOTDIR.
func TestOpenWrapsTheOSError(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plain")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(filepath.Join(file, "sub", "app.log"))
	if !errors.Is(err, ErrIO) || !errors.Is(err, syscall.ENOTDIR) || errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("under a file: %v (want ErrIO and ENOTDIR)", err)
	}
	_, err = Open(filepath.Join(dir, "app.log"), Config("encryption_key_file", filepath.Join(dir, "no-key")))
	if !errors.Is(err, ErrIO) || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "no-key") {
		t.Fatalf("missing key file: %v (want ErrIO and fs.ErrNotExist)", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Err != syscall.ENOENT {
		t.Fatalf("Err = %#v, want ENOENT", e.Err)
	}
	// A configuration error carries no OS error.
	_, err = Open(filepath.Join(dir, "app.log"), Config("queue_capacity", "0"))
	if !errors.As(err, &e) || e.Err != nil || !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad value: %v, Err %v", err, e.Err)
	}
}

// Details match the failure: SetLevel after Close says closed (not "1..24"); a bad level
// names the level; Flush and Close from inside a callback say why they are refused.
func TestErrorDetailsMatchTheFailure(t *testing.T) {
	l, _ := open(t)
	if err := l.SetLevel(30); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "level 30 is outside 1..24") {
		t.Fatalf("SetLevel(30): %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	err := l.SetLevel(LevelWarn)
	if !errors.Is(err, ErrClosed) || strings.Contains(err.Error(), "1..24") {
		t.Fatalf("SetLevel after Close: %v", err)
	}

	got := make(chan [2]error, 1)
	var self *Logger
	self, _ = open(t, WithCallback(0, "", func(Level, []byte) {
		got <- [2]error{self.Flush(context.Background()), self.CloseContext(context.Background())}
	}))
	if err := self.Info("call back"); err != nil {
		t.Fatal(err)
	}
	errs := <-got
	for i, what := range []string{"flush", "close"} {
		if !errors.Is(errs[i], ErrInvalid) || !strings.Contains(errs[i].Error(), "cannot "+what+" its own logger") {
			t.Errorf("%s inside a callback: %v", what, errs[i])
		}
	}
}

// CloseContext gives up when its context ends, and a later Close waits for the drain.
func TestCloseContextThenClose(t *testing.T) {
	g := newGate()
	l, path := open(t, WithCallback(0, "", g.sink))
	for i := range 10 {
		if err := l.Info("r", Int("i", i)); err != nil {
			t.Fatal(err)
		}
	}
	g.waitCalls(1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err := l.CloseContext(ctx)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("CloseContext: %v", err)
	}
	if err := l.Info("after"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Info after CloseContext: %v", err)
	}
	g.release()
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := len(lines(t, path)); n != 10 {
		t.Fatalf("%d lines, want 10", n)
	}
	if s := l.Stats(); s.Written != 10 || s.Pending != 0 || l.e.res.handles != nil {
		t.Fatalf("stats %+v, handles %v", s, l.e.res.handles)
	}
}
