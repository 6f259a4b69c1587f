package alog_test

import (
	"fmt"
	"log/slog"
	"time"

	alog "github.com/alog-dev/alog/bindings/go"
)

// A logger whose only sink is a Go callback, with a pattern without timestamps so that the
// output is reproducible.
func Example() {
	l, err := alog.Open("",
		alog.WithPattern("{level} {msg}{fields}"),
		alog.WithCallback(0, "", func(_ alog.Level, line []byte) { fmt.Println(string(line)) }))
	if err != nil {
		panic(err)
	}
	l.Info("service started", alog.String("user", "ann"), alog.Int("ms", 1250))
	l.Warn("slow request", alog.Duration("took", 1500*time.Millisecond), alog.Bool("retry", true))
	if err := l.Close(); err != nil {
		panic(err)
	}
	fmt.Println(l.Stats().Written, "written")
	// Output:
	// INFO service started user=ann ms=1250
	// WARN slow request took=1500000000 retry=true
	// 2 written
}

// The log/slog handler: groups travel as nested JSON; text output flattens them as slog's
// TextHandler does.
func ExampleLogger_Handler() {
	l, err := alog.Open("",
		alog.WithFormat(alog.FormatJSON),
		alog.WithPattern("{level} {msg}{fields}"),
		alog.WithCallback(0, alog.FormatText, func(_ alog.Level, line []byte) { fmt.Println(string(line)) }))
	if err != nil {
		panic(err)
	}
	log := slog.New(l.Handler(nil)).With("svc", "api").WithGroup("req")
	log.Info("handled", "path", "/users", "status", 200)
	_ = l.Close()
	// Output:
	// INFO handled svc=api req.path=/users req.status=200
}
