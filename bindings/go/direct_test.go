package alog

import (
	"context"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Records of up to 8 fields travel by value (alog_go_write4 / alog_go_write8), others through
// the scratch buffer: the same record written either way gives the same bytes, for fields of
// every kind, from With, the context and the call.
func TestFieldsByValueAndThroughScratchWriteTheSameBytes(t *testing.T) {
	l, path := open(t, WithFormat(FormatJSON))
	kinds := []Attr{String("s", "a \"b\"\n\xff"), Int("i", -42), Int64("i64", math.MinInt64),
		Uint64("u", math.MaxUint64), Float64("f", 1.25), Bool("yes", true),
		Duration("d", 1500*time.Millisecond), Any("obj", map[string]any{"k": []int{1, 2}})}
	more := []Attr{Float64("nan", math.NaN()), Bool("no", false), Err(errors.New("boom")),
		Err(nil), String("", ""), Any("n", 7), Float64("inf", math.Inf(-1))}
	kindsJSON := []string{`"s":"a \"b\"\n` + "\ufffd" + `"`, `"i":-42`, `"i64":-9223372036854775808`,
		`"u":18446744073709551615`, `"f":1.25`, `"yes":true`, `"d":1500000000`, `"obj":{"k":[1,2]}`}
	wantKinds := strings.Join(kindsJSON, ",")
	wantMore := `"nan":"NaN","no":false,"error":"boom","error#2":null,"":"","n":7,"inf":"-Inf"`
	// A zero Attr adds no field but counts toward the 8 that travel by value: with one, 8
	// fields take the scratch path.
	zero := Attr{}
	ctx := ContextWithAttrs(context.Background(), Int("ctx", 1))
	child := l.With(String("w1", "x"), Int("w2", 2))
	type rec struct {
		name string
		log  func() error
		want string
	}
	recs := []rec{
		{"8 by value", func() error { return l.Info("m", kinds...) }, wantKinds},
		{"8 + a zero Attr through scratch", func() error { return l.Info("m", append(kinds, zero)...) }, wantKinds},
		{"4 by value", func() error { return l.Info("m", kinds[:4]...) }, strings.Join(kindsJSON[:4], ",")},
		{"4 + a zero Attr by value (8)", func() error { return l.Info("m", append(kinds[:4:4], zero)...) }, strings.Join(kindsJSON[:4], ",")},
		{"7 more by value", func() error { return l.Info("m", more...) }, wantMore},
		{"7 more + 2 zero through scratch", func() error { return l.Info("m", append(more, zero, zero)...) }, wantMore},
		{"With + context + call = 4", func() error { return child.InfoContext(ctx, "m", Bool("c", true)) },
			`"w1":"x","w2":2,"ctx":1,"c":true`},
		{"With + context + call = 9", func() error { return child.InfoContext(ctx, "m", kinds[:6]...) },
			`"w1":"x","w2":2,"ctx":1,` + strings.Join(kindsJSON[:6], ",")},
		{"a Time through scratch", func() error {
			return l.Info("m", Int("a", 1), Time("t", time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)))
		}, `"a":1,"t":"2026-01-02T03:04:05.000006Z"`},
		{"only zero Attrs", func() error { return l.Info("m", zero, zero) }, ``},
	}
	for _, r := range recs {
		if err := r.log(); err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	got := lines(t, path)
	if len(got) != len(recs) {
		t.Fatalf("%d lines, want %d: %q", len(got), len(recs), got)
	}
	for i, r := range recs {
		want := `","level":"INFO","msg":"m"`
		if r.want != "" {
			want += "," + r.want
		}
		want += "}"
		if rest := got[i][len(`{"ts":"`)+tsLen:]; rest != want {
			t.Errorf("%s:\n got %s\nwant %s", r.name, rest, want)
		}
	}
	if s := l.Stats(); s.Written != uint64(len(recs)) || s.Failed != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// A record by value carries the source location of WithAddSource as well.
func TestFieldsByValueWithSource(t *testing.T) {
	l, path := open(t, WithAddSource(true))
	_, file, line, _ := runtime.Caller(0)
	_ = l.Info("four", Int("a", 1), String("b", "x"), Bool("c", true), Uint64("d", 4)) // line+1
	_ = l.Info("five", Int("a", 1), String("b", "x"), Bool("c", true), Uint64("d", 4), Int("e", 5))
	_ = l.Info("time", Time("t", time.Unix(0, 0)))
	_ = l.Close()
	fn := "func=github.com/alog-dev/alog/bindings/go.TestFieldsByValueWithSource"
	want := []string{
		"INFO four source=" + file + ":" + itoa(line+1) + " " + fn + " a=1 b=x c=true d=4",
		"INFO five source=" + file + ":" + itoa(line+2) + " " + fn + " a=1 b=x c=true d=4 e=5",
		"INFO time source=" + file + ":" + itoa(line+3) + " " + fn + " t=1970-01-01T00:00:00Z",
	}
	if got := textBodies(t, path); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func itoa(n int) string { return Level(n).number() }

// In sync mode a callback sink runs inside the logging call, on the caller's goroutine; one
// that grows (and so moves) the goroutine's stack must not disturb the record in flight, whose
// fields the C side holds in its own copy.
func TestFieldsByValueSurviveAStackMovingCallback(t *testing.T) {
	var got []string
	l, path := open(t, WithSync(true), WithCallback(0, "", func(_ Level, line []byte) {
		growStack(64)
		got = append(got, string(line[tsLen+1:]))
	}))
	key, val := strings.Repeat("k", 20), strings.Repeat("v", 40)
	var want []string
	for i := range 50 {
		if err := l.Info("sync", String(key, val), Int("i", i), String("s", val[:i%40]), Bool("b", i%2 == 0)); err != nil {
			t.Fatal(err)
		}
		want = append(want, "INFO sync "+key+"="+val+" i="+itoa(i)+" s="+quoteIfEmpty(val[:i%40])+" b="+map[bool]string{true: "true", false: "false"}[i%2 == 0])
	}
	_ = l.Close()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("callback got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if file := textBodies(t, path); strings.Join(file, "\n") != strings.Join(want, "\n") {
		t.Fatalf("file\n%s", strings.Join(file, "\n"))
	}
}

func quoteIfEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// growStack uses about depth KiB of stack, forcing the runtime to move the goroutine's stack.
//
//go:noinline
func growStack(depth int) byte {
	var pad [1024]byte
	pad[depth%len(pad)] = byte(depth)
	if depth == 0 {
		return pad[0]
	}
	return growStack(depth-1) + pad[depth%len(pad)]
}
