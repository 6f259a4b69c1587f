package alog

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestVersionMatchesHeader(t *testing.T) {
	if v := Version(); v == "" || strings.Count(v, ".") != 2 {
		t.Fatalf("Version() = %q", v)
	}
}

func TestTypedAttrsInJSON(t *testing.T) {
	l, path := open(t, WithFormat(FormatJSON))
	when := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.FixedZone("X", 3600))
	err := l.Warn("typed \"values\"\n",
		String("s", "a\tb"), Int("i", -42), Int64("i64", math.MinInt64), Uint64("u", math.MaxUint64),
		Float64("f", 1.25), Float64("nan", math.NaN()), Bool("yes", true), Bool("no", false),
		Duration("d", 1500*time.Millisecond), Time("t", when), Err(errors.New("boom")),
		Err(nil), Attr{}, Any("obj", map[string]any{"k": []int{1, 2}}), Any("n", 7))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	got := lines(t, path)
	if len(got) != 1 {
		t.Fatalf("%d lines, want 1: %q", len(got), got)
	}
	line := got[0]
	start := `{"ts":"`
	if !strings.HasPrefix(line, start) {
		t.Fatalf("line starts %q", line)
	}
	want := `","level":"WARN","msg":"typed \"values\"\n","s":"a\tb","i":-42,"i64":-9223372036854775808,` +
		`"u":18446744073709551615,"f":1.25,"nan":"NaN","yes":true,"no":false,"d":1500000000,` +
		`"t":"2026-01-02T02:04:05.000006Z","error":"boom","error#2":null,"obj":{"k":[1,2]},"n":7}`
	if rest := line[len(start)+tsLen:]; rest != want {
		t.Fatalf("line\n got %s\nwant %s", rest, want)
	}
}

func TestTextFormatAndWriter(t *testing.T) {
	l, path := open(t)
	if err := l.Info("plain"); err != nil {
		t.Fatal(err)
	}
	std := log.New(l.Writer(LevelWarn), "std: ", 0)
	std.Print("two\nlines") // one Write, one record
	if n, err := l.Writer(LevelError).Write([]byte("raw")); n != 3 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if _, err := l.Writer(0).Write([]byte("x")); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Writer(0).Write error = %v, want ErrInvalid", err)
	}
	if err := l.Debug("below the level"); err != nil {
		t.Fatal(err)
	}
	_ = l.Close()
	want := []string{"INFO plain", `WARN std: two\nlines`, "ERROR raw"}
	if got := textBodies(t, path); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q, want %q", got, want)
	}
	if s := l.Stats(); s.Submitted != 3 || s.Written != 3 {
		t.Fatalf("stats %+v", s)
	}
}

func TestOpenErrorsNameTheProblem(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		opts []Option
		path string
		code Code
		op   string
		text []string
	}{
		{[]Option{Config("colour", "red")}, "a.log", ErrInvalid, "config colour", []string{"colour"}},
		{[]Option{WithQueue(8, "sometimes")}, "a.log", ErrInvalid, "config overflow", []string{"sometimes", "drop_oldest"}},
		{[]Option{WithLevel(0)}, "a.log", ErrInvalid, "config level", []string{"level"}},
		{[]Option{WithBlockTimeout(-time.Second)}, "a.log", ErrInvalid, "config block_timeout_ms", []string{"block_timeout_ms"}},
		{[]Option{WithCallback(99, "", func(Level, []byte) {})}, "a.log", ErrInvalid, "callback", []string{"min_level 99"}},
		{[]Option{WithCallback(0, "xml", func(Level, []byte) {})}, "a.log", ErrInvalid, "callback", []string{`"xml"`}},
		{nil, "file/under/a/file.log", ErrIO, "open", nil},
	}
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		l, err := Open(filepath.Join(dir, c.path), c.opts...)
		if err == nil {
			_ = l.Close()
			t.Fatalf("%s: Open succeeded", c.op)
		}
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, c.code) || !strings.HasPrefix(e.Op, c.op) {
			t.Fatalf("%s: error %#v (%v), want code %d", c.op, err, err, c.code)
		}
		for _, s := range c.text {
			if !strings.Contains(err.Error(), s) {
				t.Fatalf("%s: error %q does not mention %q", c.op, err, s)
			}
		}
	}
}

func TestInvalidLevelsAndSetLevel(t *testing.T) {
	l, path := open(t)
	for _, lv := range []Level{0, -1, 25} {
		if err := l.Log(lv, "x"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("Log(%d) = %v, want ErrInvalid", lv, err)
		}
	}
	if err := l.SetLevel(30); !errors.Is(err, ErrInvalid) {
		t.Fatalf("SetLevel(30) = %v", err)
	}
	if !l.Enabled(LevelInfo) || l.Enabled(LevelDebug) {
		t.Fatal("default level is not info")
	}
	if err := l.SetLevel(LevelError); err != nil {
		t.Fatal(err)
	}
	if l.Enabled(LevelWarn) || !l.Enabled(LevelError) || !l.Enabled(LevelError+1) {
		t.Fatal("Enabled does not follow SetLevel")
	}
	_ = l.Warn("dropped by level")
	_ = l.Error("kept")
	_ = l.Log(LevelError+2, "finer grade")
	_ = l.Close()
	want := "ERROR kept|ERROR3 finer grade"
	if got := strings.Join(textBodies(t, path), "|"); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// The seed's test: 100 goroutines x 1000 records, every one written exactly once.
func TestHundredGoroutinesThousandRecordsEach(t *testing.T) {
	const workers, each = 100, 1000
	l, path := open(t, WithQueue(1000, OverflowBlock), WithBlockTimeout(0))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				if err := l.Info(fmt.Sprintf("worker %d - log %d", w, j), Int("w", w)); err != nil {
					t.Errorf("worker %d log %d: %v", w, j, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	seen := make([]int, workers*each)
	next := make([]int, workers) // records of one goroutine stay in order
	for _, b := range textBodies(t, path) {
		var w, j, w2 int
		if _, err := fmt.Sscanf(b, "INFO worker %d - log %d w=%d", &w, &j, &w2); err != nil || w != w2 || w < 0 || w >= workers || j < 0 || j >= each {
			t.Fatalf("unexpected line %q (%v)", b, err)
		}
		seen[w*each+j]++
		if j != next[w] {
			t.Fatalf("worker %d: record %d after %d", w, j, next[w]-1)
		}
		next[w]++
	}
	for i, n := range seen {
		if n != 1 {
			t.Fatalf("worker %d log %d written %d times", i/each, i%each, n)
		}
	}
	s := l.Stats()
	if s.Submitted != workers*each || s.Written != workers*each || s.Dropped != 0 || s.Pending != 0 || s.Failed != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// Close while goroutines log: every call returns nil or ErrClosed, every nil is one line,
// concurrent and repeated Close calls return nil, and the handle stays usable.
func TestCloseRacingLoggers(t *testing.T) {
	for round := range 5 {
		var called atomic.Int64
		l, path := open(t, WithQueue(64, OverflowBlock), WithCallback(0, "", func(Level, []byte) { called.Add(1) }))
		var ok atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for i := 0; ; i++ {
					var err error
					switch i % 3 {
					case 0:
						err = l.Info("r", Int("g", g), Int("i", i))
					case 1:
						_, err = l.Writer(LevelInfo).Write([]byte("w"))
					default:
						err = l.Handler(nil).Handle(context.Background(), slogRecord("s"))
					}
					if errors.Is(err, ErrClosed) {
						return
					}
					if err != nil {
						t.Errorf("round %d: %v", round, err)
						return
					}
					ok.Add(1)
				}
			}()
		}
		close(start)
		time.Sleep(time.Duration(round+1) * 5 * time.Millisecond)
		var closers sync.WaitGroup
		for range 3 {
			closers.Add(1)
			go func() {
				defer closers.Done()
				if err := l.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			}()
		}
		closers.Wait()
		wg.Wait()
		if err := l.Close(); err != nil {
			t.Fatalf("Close after Close: %v", err)
		}
		if err := l.Flush(context.Background()); !errors.Is(err, ErrClosed) {
			t.Fatalf("Flush after Close: %v", err)
		}
		s := l.Stats()
		n := int64(len(lines(t, path)))
		if n != ok.Load() || called.Load() != n || s.Written != uint64(n) || s.Submitted != uint64(n) || s.Pending != 0 {
			t.Fatalf("round %d: %d calls succeeded, %d lines, %d callbacks, stats %+v", round, ok.Load(), n, called.Load(), s)
		}
		if l.e.res.handles != nil {
			t.Fatal("handles kept after Close")
		}
	}
}

func TestFlushHonoursContext(t *testing.T) {
	g := newGate()
	l, path := open(t, WithCallback(LevelTrace, FormatText, g.sink))
	_ = l.Info("stalls the writer")
	g.waitCalls(1)
	_ = l.Info("waits behind it")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err := l.Flush(ctx)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flush = %v, want ErrTimeout and DeadlineExceeded", err)
	}
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	if err := l.Flush(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Flush(cancelled) = %v", err)
	}
	g.release()
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(lines(t, path)); n != 2 {
		t.Fatalf("%d lines after Flush, want 2", n)
	}
}

// The seed LogManager's handlers: a callback for errors only, in its own format, on the
// writer thread; the main file still gets everything.
func TestCallbackAtLevelWithOwnFormat(t *testing.T) {
	var mu sync.Mutex
	var alerts []string
	l, path := open(t, WithCallback(LevelError, FormatJSON, func(lv Level, line []byte) {
		mu.Lock()
		alerts = append(alerts, fmt.Sprintf("%d %s", lv, line[tsLen+8:]))
		mu.Unlock()
	}))
	_ = l.Info("fine")
	_ = l.Warn("hmm")
	_ = l.Error("disk full", String("dev", "sda"))
	_ = l.Log(LevelFatal, "gone")
	_ = l.Close()
	want := []string{
		`17 ,"level":"ERROR","msg":"disk full","dev":"sda"}`,
		`21 ,"level":"FATAL","msg":"gone"}`,
	}
	if strings.Join(alerts, "\n") != strings.Join(want, "\n") {
		t.Fatalf("alerts\n%s\nwant\n%s", strings.Join(alerts, "\n"), strings.Join(want, "\n"))
	}
	if n := len(lines(t, path)); n != 4 {
		t.Fatalf("file has %d lines, want 4", n)
	}
}

func TestPanickingCallbackDoesNotKillTheProcess(t *testing.T) {
	var calls atomic.Int32
	l, path := open(t, WithCallback(0, "", func(Level, []byte) {
		calls.Add(1)
		panic("callback bug")
	}))
	_ = l.Info("one")
	_ = l.Info("two")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 || len(lines(t, path)) != 2 {
		t.Fatalf("calls %d, lines %d", calls.Load(), len(lines(t, path)))
	}
}

// fullFile returns a regular file as large as its file system allows (found by halving):
// every append to it fails with EFBIG. (alog refuses a device such as /dev/full as a log path.)
func fullFile(t *testing.T) string {
	p := t.TempDir() + "/full.log"
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lo, hi := int64(0), int64(math.MaxInt64)
	for lo < hi {
		mid := lo + (hi-lo)/2 + 1
		if f.Truncate(mid) == nil {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	if err := f.Truncate(lo); err != nil {
		t.Fatal(err)
	}
	return p
}

// Writes to a full file fail: the records are counted failed and the error handler hears of
// each failure with the engine's code and message.
func TestErrorHandlerAndFailedAccounting(t *testing.T) {
	var mu sync.Mutex
	var errs []error
	l, err := Open(fullFile(t), Config("write_retries", "0"), WithErrorHandler(func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}))
	if err != nil {
		t.Fatal(err)
	}
	_ = l.Info("lost")
	_ = l.Close()
	s := l.Stats()
	if s.Failed != 1 || s.Written != 0 || s.Submitted != 1 {
		t.Fatalf("stats %+v", s)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(errs) == 0 {
		t.Fatal("error handler not called")
	}
	var e *Error
	if !errors.As(errs[0], &e) || !errors.Is(errs[0], ErrIO) || e.Op != "write" || !strings.Contains(strings.ToLower(e.Detail), "too large") {
		t.Fatalf("error %v", errs[0])
	}
	if le := l.LastError(); !strings.Contains(strings.ToLower(le), "too large") {
		t.Fatalf("LastError() = %q", le)
	}
}

// In sync mode the record is written, and the callback has run, when the call returns.
func TestSyncModeWritesBeforeReturning(t *testing.T) {
	var got []string
	l, path := open(t, WithSync(true), WithCallback(0, "", func(_ Level, line []byte) {
		got = append(got, string(line[tsLen+1:])) // same goroutine: no lock needed
	}))
	for i := range 3 {
		if err := l.Info(fmt.Sprintf("sync %d", i), Int("i", i)); err != nil {
			t.Fatal(err)
		}
		if n := len(lines(t, path)); n != i+1 || len(got) != i+1 {
			t.Fatalf("after record %d: %d lines, %d callbacks", i, n, len(got))
		}
	}
	if want := "INFO sync 0 i=0|INFO sync 1 i=1|INFO sync 2 i=2"; strings.Join(got, "|") != want {
		t.Fatalf("callback got %q", got)
	}
}

// Every typed option maps to keys the engine accepts, with the values it expects.
func TestEveryTypedOptionIsAccepted(t *testing.T) {
	l, path := open(t, WithLevel(LevelDebug), WithFormat(FormatText), WithPattern("{level}|{msg}{fields}"),
		WithJSONKeys("time", "lvl", "message"), WithQueue(16, OverflowDropOldest),
		WithBlockTimeout(1500*time.Microsecond), WithBatch(4, 10*time.Millisecond),
		WithFsync(FsyncClose), WithConsole(ConsoleNone), WithSync(false),
		Config("file.full.format", "json"), Config("file.full.path", filepath.Join(t.TempDir(), "full.log")))
	_ = l.Debug("d", Int("n", 1))
	_ = l.Close()
	if got := lines(t, path); len(got) != 1 || got[0] != "DEBUG|d n=1" {
		t.Fatalf("got %q", got)
	}
	if millis(1500*time.Microsecond) != "2" || millis(0) != "0" || millis(time.Second) != "1000" {
		t.Fatal("millis does not round up to whole milliseconds")
	}
}

func TestReopenAfterTheFileWasMoved(t *testing.T) {
	l, path := open(t)
	if err := l.Info("before"); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	if err := l.Info("after"); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := textBodies(t, path+".1"); len(got) != 1 || got[0] != "INFO before" {
		t.Fatalf("moved file: %q", got)
	}
	if got := textBodies(t, path); len(got) != 1 || got[0] != "INFO after" {
		t.Fatalf("reopened file: %q", got)
	}
	if err := l.Reopen(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Reopen after Close = %v, want ErrClosed", err)
	}
}
