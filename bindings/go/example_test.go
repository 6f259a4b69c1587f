package alog_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log"
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

// printer is a logger whose only sink prints each record without a timestamp.
func printer(opts ...alog.Option) *alog.Logger {
	opts = append([]alog.Option{
		alog.WithPattern("{level} {msg}{fields}"),
		alog.WithCallback(0, "", func(_ alog.Level, line []byte) { fmt.Println(string(line)) }),
	}, opts...)
	l, err := alog.Open("", opts...)
	if err != nil {
		panic(err)
	}
	return l
}

// With children add their attributes to every record and share the parent's engine.
func ExampleLogger_With() {
	l := printer()
	req := l.With(alog.String("req", "r-17"))
	req.Info("started")
	req.With(alog.Int("user", 7)).Warn("denied", alog.String("why", "quota"))
	_ = l.Close()
	// Output:
	// INFO started req=r-17
	// WARN denied req=r-17 user=7 why=quota
}

// Attributes a context carries reach every record logged with it, through the ...Context
// methods and the slog handler.
func ExampleContextWithAttrs() {
	l := printer()
	ctx := alog.ContextWithAttrs(context.Background(), alog.String("trace", "4bf9"))
	l.InfoContext(ctx, "direct", alog.Int("n", 1))
	slog.New(l.Handler(nil)).InfoContext(ctx, "through slog", "n", 2)
	_ = l.Close()
	// Output:
	// INFO direct trace=4bf9 n=1
	// INFO through slog trace=4bf9 n=2
}

// WithAddSource records the caller of each direct-API call.
func ExampleWithAddSource() {
	l := printer(alog.WithAddSource(true), alog.WithPattern("{level} {msg} in {func}"))
	l.Info("here")
	_ = l.Close()
	// Output:
	// INFO here in github.com/alog-dev/alog/bindings/go_test.ExampleWithAddSource
}

// Levels print as log/slog prints them and parse from the usual spellings.
func ExampleParseLevel() {
	for _, s := range []string{"warn", "INFO+2", "info3", "24", "loud"} {
		l, err := alog.ParseLevel(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(s, "=", int(l), l, l.Level())
	}
	// Output:
	// warn = 13 WARN WARN
	// INFO+2 = 11 INFO+2 INFO+2
	// info3 = 11 INFO+2 INFO+2
	// 24 = 24 FATAL+3 ERROR+7
	// alog: parse level: invalid argument or configuration: "loud" is not a level: use trace, debug, info, warn, error or fatal, optionally with an offset (INFO+2), or a number 1..24
}

// A Level is a slog.Leveler: the handler's own level can be an alog.Level.
func ExampleLevel_Level() {
	l := printer(alog.WithLevel(alog.LevelTrace))
	log := slog.New(l.Handler(&slog.HandlerOptions{Level: alog.LevelWarn}))
	log.Info("filtered")
	log.Warn("kept")
	_ = l.Close()
	// Output:
	// WARN kept
}

// Errors match the engine's codes and, for Open, the OS error.
func ExampleOpen_errors() {
	_, err := alog.Open("/proc/no/such/dir/app.log")
	fmt.Println(errors.Is(err, alog.ErrIO), errors.Is(err, fs.ErrNotExist))
	_, err = alog.Open("", alog.Config("queue_capacity", "-1"))
	fmt.Println(errors.Is(err, alog.ErrInvalid))
	var nilLogger *alog.Logger
	fmt.Println(nilLogger.Info("x"))
	// Output:
	// true true
	// true
	// alog: log: a required pointer argument was NULL: the Logger is nil or zero: make it with alog.Open
}

// A program that may end by os.Exit or SIGTERM closes its loggers first.
func ExampleShutdown() {
	defer alog.FlushOnSignal()() // SIGTERM, SIGINT: close every logger, then die as Go would
	l := printer()
	defer l.Close() // return from main
	l.Info("working")
	if failed := true; failed {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = alog.Shutdown(ctx) // os.Exit would skip the deferred Close
		fmt.Println("exit 1")  // os.Exit(1) in a real program
	}
	// Output:
	// INFO working
	// exit 1
}

// An io.Writer for code that only knows writers: one Write is one record.
func ExampleLogger_Writer() {
	l := printer()
	std := log.New(l.Writer(alog.LevelWarn), "http: ", 0)
	std.Printf("TLS handshake error from %s", "10.0.0.7")
	_ = l.Close()
	// Output:
	// WARN http: TLS handshake error from 10.0.0.7
}
