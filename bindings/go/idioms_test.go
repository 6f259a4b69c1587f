package alog

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"runtime"
	"strings"
	"testing"
)

func TestLevelStringAndSlogLevel(t *testing.T) {
	cases := []struct {
		l    Level
		name string
		slog slog.Level
	}{
		{LevelTrace, "TRACE", -8}, {LevelTrace + 1, "TRACE+1", -7}, {LevelDebug, "DEBUG", slog.LevelDebug},
		{LevelInfo, "INFO", slog.LevelInfo}, {LevelInfo + 2, "INFO+2", slog.LevelInfo + 2},
		{LevelWarn, "WARN", slog.LevelWarn}, {LevelError + 3, "ERROR+3", slog.LevelError + 3},
		{LevelFatal, "FATAL", 12}, {24, "FATAL+3", 15}, {0, "TRACE-1", -9}, {30, "FATAL+9", 21},
	}
	for _, c := range cases {
		if got := c.l.String(); got != c.name {
			t.Errorf("Level(%d).String() = %q, want %q", c.l, got, c.name)
		}
		if got := c.l.Level(); got != c.slog {
			t.Errorf("Level(%d).Level() = %v, want %v", c.l, got, c.slog)
		}
		// slog names the same level the same way.
		if c.l >= LevelDebug && c.l < LevelFatal && c.l.Level().String() != c.name {
			t.Errorf("slog prints %q for %q", c.l.Level().String(), c.name)
		}
		if c.l >= 1 && c.l <= 24 && SlogLevel(c.l.Level()) != c.l {
			t.Errorf("SlogLevel(Level(%d).Level()) = %d", c.l, SlogLevel(c.l.Level()))
		}
	}
}

func TestParseLevel(t *testing.T) {
	good := map[string]Level{
		"trace": 1, "DEBUG": 5, " Info ": 9, "warn": 13, "warning": 13, "ERROR": 17, "fatal": 21,
		"critical": 21, "INFO+2": 11, "warn-1": 12, "info3": 11, "FATAL4": 24, "7": 7, "24": 24, "TRACE+23": 24,
	}
	for s, want := range good {
		got, err := ParseLevel(s)
		if err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	bad := map[string]string{
		"":        "is not a level",
		"loud":    "is not a level",
		"INFO+x":  "is not a level",
		"INFO5":   "is not a level",
		"0":       "level 0, outside 1..24",
		"TRACE-1": "level 0, outside 1..24",
		"FATAL+4": "level 25, outside 1..24",
	}
	for s, msg := range bad {
		_, err := ParseLevel(s)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), "parse level") {
			t.Errorf("ParseLevel(%q) error %v, want one saying %q", s, err, msg)
		}
	}
}

// A Level is a TextMarshaler / TextUnmarshaler (JSON configuration, flag.TextVar) and a
// slog.Leveler (HandlerOptions.Level).
func TestLevelAsTextAndLeveler(t *testing.T) {
	var conf struct{ Level Level }
	if err := json.Unmarshal([]byte(`{"Level":"warn+1"}`), &conf); err != nil || conf.Level != LevelWarn+1 {
		t.Fatalf("json: %v, %d", err, conf.Level)
	}
	b, err := json.Marshal(conf)
	if err != nil || string(b) != `{"Level":"WARN+1"}` {
		t.Fatalf("json.Marshal: %s, %v", b, err)
	}
	if err := json.Unmarshal([]byte(`{"Level":"loud"}`), &conf); !errors.Is(err, ErrInvalid) {
		t.Fatalf("json with a bad level: %v", err)
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	lv := LevelInfo
	fs.TextVar(&lv, "level", LevelInfo, "level")
	if err := fs.Parse([]string{"-level", "ERROR"}); err != nil || lv != LevelError {
		t.Fatalf("flag: %v, %d", err, lv)
	}

	l, path := open(t, WithLevel(LevelTrace))
	log := slog.New(l.Handler(&slog.HandlerOptions{Level: LevelWarn}))
	log.Info("filtered by the Leveler")
	log.Warn("kept")
	_ = l.Close()
	if got := textBodies(t, path); len(got) != 1 || got[0] != "WARN kept" {
		t.Fatalf("got %q", got)
	}
}

// ALOG_LEVEL overrides the level the options give, and a bad value fails Open naming it.
func TestLevelFromEnvironment(t *testing.T) {
	t.Setenv("ALOG_LEVEL", "warn")
	l, path := open(t, WithLevel(LevelDebug))
	_ = l.Info("dropped by ALOG_LEVEL")
	_ = l.Warn("kept")
	_ = l.Close()
	if got := textBodies(t, path); len(got) != 1 || got[0] != "WARN kept" {
		t.Fatalf("got %q", got)
	}
	t.Setenv("ALOG_LEVEL", "chatty")
	_, err := Open("")
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "ALOG_LEVEL") || !strings.Contains(err.Error(), `"chatty"`) {
		t.Fatalf("Open with ALOG_LEVEL=chatty: %v", err)
	}
}

// With children add their attributes before the call's, share one engine handle (one file,
// one set of counters, one level) and are closed with it.
func TestWithSharesOneEngine(t *testing.T) {
	l, path := open(t, WithFormat(FormatJSON))
	req := l.With(String("req", "r1"))
	user := req.With(Int("user", 7))
	if err := user.Info("hello", Bool("ok", true)); err != nil {
		t.Fatal(err)
	}
	if err := req.Warn("bare"); err != nil {
		t.Fatal(err)
	}
	if err := l.Info("root"); err != nil {
		t.Fatal(err)
	}
	if err := user.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := user.SetLevel(LevelWarn); err != nil {
		t.Fatal(err)
	}
	if l.Enabled(LevelInfo) || req.Enabled(LevelInfo) {
		t.Fatal("SetLevel on a child did not reach the shared engine")
	}
	if err := req.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Warn("after"); !errors.Is(err, ErrClosed) {
		t.Fatalf("root after the child's Close: %v", err)
	}
	if l.Stats() != user.Stats() || l.Stats().Written != 3 {
		t.Fatalf("stats %+v / %+v", l.Stats(), user.Stats())
	}
	got := lines(t, path)
	want := []string{`"msg":"hello","req":"r1","user":7,"ok":true}`, `"msg":"bare","req":"r1"}`, `"msg":"root"}`}
	for i := range want {
		if i >= len(got) || !strings.HasSuffix(got[i], want[i]) {
			t.Fatalf("line %d: %q, want suffix %q", i, got, want[i])
		}
	}
}

// The Context methods and the slog handler add the attributes a context carries.
func TestContextAttrs(t *testing.T) {
	l, path := open(t)
	ctx := ContextWithAttrs(context.Background(), String("trace", "t1"))
	ctx = ContextWithAttrs(ctx, Int("span", 2))
	_ = l.With(String("svc", "api")).InfoContext(ctx, "direct", Int("n", 1))
	_ = l.WarnContext(context.Background(), "plain")
	_ = l.LogContext(ctx, LevelError, "log")
	_ = l.DebugContext(ctx, "below the level")
	slog.New(l.Handler(nil)).InfoContext(ctx, "via slog", "k", "v")
	_ = l.Close()
	want := []string{
		"INFO direct svc=api trace=t1 span=2 n=1", "WARN plain", "ERROR log trace=t1 span=2",
		"INFO via slog trace=t1 span=2 k=v",
	}
	if got := textBodies(t, path); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

// WithAddSource records the caller of every logging method as the source.
func TestAddSourceDirectAPI(t *testing.T) {
	l, path := open(t, WithFormat(FormatJSON), WithAddSource(true))
	_, file, line, _ := runtime.Caller(0)
	_ = l.Info("a")                                 // line+1
	_ = l.With(Int("n", 1)).Log(LevelWarn, "b")     // line+2
	_ = l.ErrorContext(context.Background(), "c")   // line+3
	_, _ = l.Writer(LevelInfo).Write([]byte("d\n")) // line+4: the writer's caller
	_ = l.Close()
	got := jsonLines(t, path)
	if len(got) != 4 {
		t.Fatalf("%d lines", len(got))
	}
	for i, m := range got[:3] {
		src, _ := m["source"].(map[string]any)
		if src["file"] != file || src["line"] != float64(line+1+i) || src["function"] != "github.com/alog-dev/alog/bindings/go.TestAddSourceDirectAPI" {
			t.Errorf("record %d: source %v, want %s:%d", i, src, file, line+1+i)
		}
	}
	if src, _ := got[3]["source"].(map[string]any); src["file"] != file || src["line"] != float64(line+4) {
		t.Errorf("Writer: source %v", src)
	}
}

// Options is exported: a program composes its own Option from others and Options.Set.
func TestCustomOption(t *testing.T) {
	production := func() Option {
		return func(o *Options) {
			WithFormat(FormatJSON)(o)
			o.Set("json.msg_key", "message")
		}
	}
	l, path := open(t, production())
	_ = l.Info("composed")
	_ = l.Close()
	if got := lines(t, path); len(got) != 1 || !strings.HasSuffix(got[0], `"message":"composed"}`) {
		t.Fatalf("got %q", got)
	}
}

// ReplaceAttr removes and renames the built-in time and source as log/slog documents, and
// renames the level and message into ordinary fields.
func TestSlogReplaceAttrBuiltins(t *testing.T) {
	l, path := open(t, WithFormat(FormatJSON), WithJSONKeys("time", "level", "msg"))
	drop := func(key string) func([]string, slog.Attr) slog.Attr {
		return func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == key {
				return slog.Attr{}
			}
			return a
		}
	}
	rename := func(from, to string) func([]string, slog.Attr) slog.Attr {
		return func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == from {
				a.Key = to
			}
			return a
		}
	}
	slog.New(l.Handler(&slog.HandlerOptions{ReplaceAttr: drop(slog.TimeKey)})).Info("no time")
	slog.New(l.Handler(&slog.HandlerOptions{ReplaceAttr: rename(slog.TimeKey, "when")})).Info("renamed time")
	slog.New(l.Handler(&slog.HandlerOptions{AddSource: true, ReplaceAttr: drop(slog.SourceKey)})).Info("no source")
	slog.New(l.Handler(&slog.HandlerOptions{AddSource: true, ReplaceAttr: rename(slog.SourceKey, "src")})).Info("renamed source")
	timeAsText := func(groups []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey && len(groups) == 0 {
			return slog.String(slog.TimeKey, "fixed")
		}
		return a
	}
	slog.New(l.Handler(&slog.HandlerOptions{ReplaceAttr: timeAsText})).Info("retyped time")
	slog.New(l.Handler(&slog.HandlerOptions{ReplaceAttr: rename(slog.MessageKey, "message")})).Info("renamed msg")
	_ = l.Close()
	got := lines(t, path)
	if len(got) != 6 {
		t.Fatalf("%d lines: %q", len(got), got)
	}
	if got[0] != `{"level":"INFO","msg":"no time"}` {
		t.Errorf("time removed: %s", got[0])
	}
	if !strings.HasPrefix(got[1], `{"level":"INFO","msg":"renamed time","when":"20`) {
		t.Errorf("time renamed: %s", got[1])
	}
	if !strings.HasSuffix(got[2], `"msg":"no source"}`) || strings.Contains(got[2], `"source"`) {
		t.Errorf("source removed: %s", got[2])
	}
	if !strings.Contains(got[3], `"msg":"renamed source","src":{"function":"github.com/alog-dev/alog/bindings/go.TestSlogReplaceAttrBuiltins"`) {
		t.Errorf("source renamed: %s", got[3])
	}
	if got[4] != `{"level":"INFO","msg":"retyped time","time":"fixed"}` {
		t.Errorf("time retyped: %s", got[4])
	}
	if !strings.HasSuffix(got[5], `"level":"INFO","msg":"","message":"renamed msg"}`) {
		t.Errorf("msg renamed: %s", got[5])
	}
}
