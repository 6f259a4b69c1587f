package alog

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/slogtest"
	"time"
)

func slogRecord(msg string) slog.Record { return slog.NewRecord(time.Now(), slog.LevelInfo, msg, 0) }

// slog's key names for the engine's leading members.
var slogKeys = WithJSONKeys(slog.TimeKey, slog.LevelKey, slog.MessageKey)

func TestSlogtest(t *testing.T) {
	var path string
	var l *Logger
	slogtest.Run(t, func(t *testing.T) slog.Handler {
		path = filepath.Join(t.TempDir(), "slogtest.log")
		var err error
		if l, err = Open(path, WithFormat(FormatJSON), slogKeys); err != nil {
			t.Fatal(err)
		}
		return l.Handler(nil)
	}, func(t *testing.T) map[string]any {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		got := jsonLines(t, path)
		if len(got) != 1 {
			t.Fatalf("%d lines, want 1", len(got))
		}
		return got[0]
	})
}

var fixed = time.Date(2026, 11, 23, 16, 20, 1, 920234567, time.UTC)

const fixedTS = `{"time":"2026-11-23T16:20:01.920234Z",`

// handle logs one record with a fixed time through h and returns the line after the time.
func handle(t *testing.T, l *Logger, path string, h slog.Handler, level slog.Level, msg string, attrs ...slog.Attr) string {
	t.Helper()
	r := slog.NewRecord(fixed, level, msg, 0)
	r.AddAttrs(attrs...)
	if err := h.Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	all := lines(t, path)
	last := all[len(all)-1]
	if !strings.HasPrefix(last, fixedTS) {
		t.Fatalf("line does not start with the record's time: %s", last)
	}
	return last[len(fixedTS):]
}

type token string

func (token) LogValue() slog.Value { return slog.StringValue("REDACTED") }

type lazyGroup struct{}

func (lazyGroup) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("a", 1), slog.Any("t", token("x")))
}

func TestSlogExactOutput(t *testing.T) {
	l, path := open(t, WithFormat(FormatJSON), slogKeys, WithLevel(LevelTrace))
	h := l.Handler(&slog.HandlerOptions{Level: slog.LevelDebug})
	cases := []struct {
		name string
		h    slog.Handler
		lv   slog.Level
		msg  string
		as   []slog.Attr
		want string
	}{
		{"typed values", h, slog.LevelInfo, "m", []slog.Attr{
			slog.String("s", "x\"y"), slog.Int("i", -3), slog.Uint64("u", math.MaxUint64),
			slog.Float64("f", 0.5), slog.Float64("inf", math.Inf(-1)), slog.Bool("b", true),
			slog.Duration("d", time.Second), slog.Time("t", fixed), slog.Any("err", errors.New("boom")),
			slog.Any("m", map[string]int{"k": 1}), slog.Any("nil", nil),
		}, `"level":"INFO","msg":"m","s":"x\"y","i":-3,"u":18446744073709551615,"f":0.5,"inf":"-Inf",` +
			`"b":true,"d":1000000000,"t":"2026-11-23T16:20:01.920234567Z","err":"boom","m":{"k":1},"nil":null}`},
		// Up to 8 scalar attributes travel by value (sendInline), more or a Time through
		// working memory; the lines are the same either way.
		{"four scalars", h, slog.LevelInfo, "m", []slog.Attr{
			slog.String("s", "x\"y"), slog.Int("i", -3), slog.Uint64("u", math.MaxUint64), slog.Bool("b", true),
		}, `"level":"INFO","msg":"m","s":"x\"y","i":-3,"u":18446744073709551615,"b":true}`},
		{"eight scalars", h, slog.LevelWarn, "m", []slog.Attr{
			slog.String("s", ""), slog.Int("", 0), slog.Uint64("u", 0), slog.Float64("f", 0.5),
			slog.Float64("nan", math.NaN()), slog.Bool("b", false), slog.Duration("d", -time.Millisecond),
			slog.Int64("i64", math.MinInt64),
		}, `"level":"WARN","msg":"m","s":"","":0,"u":0,"f":0.5,"nan":"NaN","b":false,"d":-1000000,` +
			`"i64":-9223372036854775808}`},
		{"a time among few scalars", h, slog.LevelInfo, "m", []slog.Attr{
			slog.Int("a", 1), slog.Time("t", fixed), slog.Int("b", 2),
		}, `"level":"INFO","msg":"m","a":1,"t":"2026-11-23T16:20:01.920234567Z","b":2}`},
		{"levels map to the engine's", h, slog.LevelDebug, "d", nil, `"level":"DEBUG","msg":"d"}`},
		{"warn", h, slog.LevelWarn, "w", nil, `"level":"WARN","msg":"w"}`},
		{"error", h, slog.LevelError, "e", nil, `"level":"ERROR","msg":"e"}`},
		{"finer grade", h, slog.LevelWarn + 2, "w2", nil, `"level":"WARN3","msg":"w2"}`},
		{"beyond error", h, slog.LevelError + 100, "x", nil, `"level":"FATAL4","msg":"x"}`},
		{"groups nest; empty attrs and groups vanish; empty keys inline", h, slog.LevelInfo, "g", []slog.Attr{
			slog.Group("req", slog.String("path", "/"), slog.Group("user", slog.Int("id", 7)), slog.Group("none")),
			{}, slog.Group("empty"), slog.Group("", slog.Int("inl", 1), slog.Group("", slog.Bool("deep", false))),
			slog.Group("onlyempty", slog.Group("x")),
		}, `"level":"INFO","msg":"g","req":{"path":"/","user":{"id":7}},"inl":1,"deep":false}`},
		{"LogValuer resolved at top level and in groups", h, slog.LevelInfo, "v", []slog.Attr{
			slog.Any("tok", token("secret")), slog.Any("lazy", lazyGroup{}), slog.Group("g", slog.Any("tok", token("s"))),
		}, `"level":"INFO","msg":"v","tok":"REDACTED","lazy":{"a":1,"t":"REDACTED"},"g":{"tok":"REDACTED"}}`},
		{"WithAttrs and WithGroup nest", h.WithAttrs([]slog.Attr{slog.Int("a", 1)}).WithGroup("g").
			WithAttrs([]slog.Attr{slog.Int("b", 2)}).WithGroup("h"), slog.LevelInfo, "n",
			[]slog.Attr{slog.Int("c", 3)}, `"level":"INFO","msg":"n","a":1,"g":{"b":2,"h":{"c":3}}}`},
		{"a group without attributes is left out", h.WithAttrs([]slog.Attr{slog.Int("a", 1)}).WithGroup("g").
			WithAttrs([]slog.Attr{slog.Int("b", 2)}).WithGroup("h"), slog.LevelInfo, "n", nil,
			`"level":"INFO","msg":"n","a":1,"g":{"b":2}}`},
		{"nested groups without attributes are left out", h.WithGroup("g").WithGroup("h"), slog.LevelInfo, "n",
			[]slog.Attr{{}, slog.Group("e")}, `"level":"INFO","msg":"n"}`},
		{"WithGroup(\"\") is the same handler", h.WithGroup("").WithAttrs(nil), slog.LevelInfo, "n",
			[]slog.Attr{slog.Int("c", 3)}, `"level":"INFO","msg":"n","c":3}`},
		{"escaping in group keys and values", h.WithGroup("k\"\n"), slog.LevelInfo, "n",
			[]slog.Attr{slog.String("v", "a\x01\u2028\xff")}, `"level":"INFO","msg":"n","k\"\n":{"v":"a\u0001\u2028\ufffd"}}`},
	}
	for _, c := range cases {
		if got := handle(t, l, path, c.h, c.lv, c.msg, c.as...); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}

func TestSlogLevelsAndEnabled(t *testing.T) {
	l, _ := open(t, WithLevel(LevelWarn))
	ctx := context.Background()
	h := l.Handler(nil)
	if h.Enabled(ctx, slog.LevelInfo) || !h.Enabled(ctx, slog.LevelWarn) {
		t.Fatal("engine level warn not honoured")
	}
	var lv slog.LevelVar
	lv.Set(slog.LevelError)
	h = l.Handler(&slog.HandlerOptions{Level: &lv})
	if h.Enabled(ctx, slog.LevelWarn) || !h.Enabled(ctx, slog.LevelError) {
		t.Fatal("handler level error not honoured")
	}
	lv.Set(slog.LevelDebug)
	if h.Enabled(ctx, slog.LevelInfo) || !h.Enabled(ctx, slog.LevelWarn) {
		t.Fatal("both levels must pass")
	}
	for in, want := range map[slog.Level]Level{-100: 1, -8: 1, -4: 5, 0: 9, 3: 12, 4: 13, 8: 17, 12: 21, 15: 24, 16: 24} {
		if got := SlogLevel(in); got != want {
			t.Errorf("SlogLevel(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestSlogSource(t *testing.T) {
	l, path := open(t, WithFormat(FormatJSON), slogKeys)
	log := slog.New(l.Handler(&slog.HandlerOptions{AddSource: true}))
	_, file, line, _ := runtime.Caller(0)
	log.Info("here") // line+1
	_ = l.Close()
	got := jsonLines(t, path)[0]
	src, _ := got["source"].(map[string]any)
	if src["file"] != file || src["line"] != float64(line+1) || !strings.HasSuffix(src["function"].(string), ".TestSlogSource") {
		t.Fatalf("source %v, want %s:%d", got["source"], file, line+1)
	}
	keys := orderedKeys(t, lines(t, path)[0])
	if !slices.Equal(keys, []string{"time", "level", "msg", "source"}) {
		t.Fatalf("keys %v", keys)
	}
}

func TestSlogReplaceAttr(t *testing.T) {
	l, path := open(t, WithFormat(FormatJSON), slogKeys)
	var seen []string
	rep := func(groups []string, a slog.Attr) slog.Attr {
		seen = append(seen, strings.Join(append(slices.Clone(groups), a.Key), "."))
		switch a.Key {
		case slog.MessageKey:
			return slog.String(a.Key, strings.ToUpper(a.Value.String()))
		case slog.LevelKey:
			return slog.Any(a.Key, a.Value.Any().(slog.Level)+4) // INFO -> WARN
		case slog.TimeKey:
			return slog.Time(a.Key, a.Value.Time().Add(time.Hour))
		case slog.SourceKey:
			return slog.Attr{} // removed
		case "password":
			return slog.String(a.Key, "***")
		case "drop":
			return slog.Attr{}
		case "n":
			return slog.Int("renamed", int(a.Value.Int64())*10)
		}
		return a
	}
	h := l.Handler(&slog.HandlerOptions{ReplaceAttr: rep, AddSource: true})
	log := slog.New(h.WithAttrs([]slog.Attr{slog.String("password", "p")}).WithGroup("g").WithAttrs([]slog.Attr{slog.Int("n", 1)}))
	r := slog.NewRecord(fixed, slog.LevelInfo, "hi", 0)
	r.AddAttrs(slog.Int("n", 2), slog.String("drop", "x"), slog.Group("sub", slog.Int("n", 3), slog.String("password", "q")))
	if err := log.Handler().Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	slog.New(h).Info("with source", "n", 4)
	_ = l.Close()
	got := lines(t, path)
	want0 := `{"time":"2026-11-23T17:20:01.920234Z","level":"WARN","msg":"HI","password":"***",` +
		`"g":{"renamed":10,"renamed":20,"sub":{"renamed":30,"password":"***"}}}`
	if got[0] != want0 {
		t.Fatalf("line\n got %s\nwant %s", got[0], want0)
	}
	if !strings.Contains(got[1], `"msg":"WITH SOURCE","renamed":40}`) || strings.Contains(got[1], "source") {
		t.Fatalf("line %s", got[1])
	}
	wantSeen := "password g.n time level msg g.n g.drop g.sub.n g.sub.password time level msg source n"
	if strings.Join(seen, " ") != wantSeen {
		t.Fatalf("ReplaceAttr saw %q\nwant %q", strings.Join(seen, " "), wantSeen)
	}
}

func TestSlogTextFormat(t *testing.T) {
	l, path := open(t)
	log := slog.New(l.Handler(nil)).With("svc", "api").WithGroup("req")
	log.Warn("slow", "ms", 1250, "ok", true)
	_ = l.Close()
	// The engine flattens the group in text, as slog's TextHandler does.
	want := `WARN slow svc=api req.ms=1250 req.ok=true`
	if got := textBodies(t, path); len(got) != 1 || got[0] != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestSlogHandleAfterClose(t *testing.T) {
	l, _ := open(t)
	h := l.Handler(nil)
	_ = l.Close()
	if err := h.Handle(context.Background(), slogRecord("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Handle after Close = %v", err)
	}
}

// orderedKeys returns the top-level keys of a JSON object in order.
func orderedKeys(t *testing.T, line string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}
