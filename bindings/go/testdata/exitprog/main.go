// exitprog logs 1000 records to the file named by its first argument and then ends the way
// its second argument says, so that exit_test.go can check what reaches the file. The writer
// waits for a batch of 100000 records or 60 s, so nothing is written before the end unless
// the program closes the logger.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	alog "github.com/alog-dev/alog/bindings/go"
)

func main() {
	path, mode := os.Args[1], os.Args[2]
	opts := []alog.Option{alog.WithQueue(10000, alog.OverflowBlock), alog.WithBatch(100000, time.Minute)}
	if mode == "exit-mmap" || mode == "sigterm-mmap" {
		// The queue in a journal beside the log: what os.Exit or a signal leaves queued is
		// written by the next open of the same path.
		opts = append(opts, alog.Config("durability", "mmap"))
	}
	l, err := alog.Open(path, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	if mode == "return-close" {
		defer l.Close()
	}
	if mode == "sigterm-flush" {
		defer alog.FlushOnSignal()()
	}
	for i := range 1000 {
		if err := l.Info("record", alog.Int("i", i)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
	}
	switch mode {
	case "exit-shutdown":
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := alog.Shutdown(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		cancel()
		os.Exit(1)
	case "exit", "exit-mmap":
		os.Exit(1)
	case "sigterm-flush", "sigterm", "sigterm-mmap":
		fmt.Println("ready")
		time.Sleep(time.Minute) // the test sends SIGTERM meanwhile
	}
	// "return-close", "return": return from main.
}
