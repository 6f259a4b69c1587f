package alog

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// How a Go program ends decides what reaches the file, since Go runs no C exit hooks:
// testdata/exitprog logs 1000 records that its writer would hold for a minute, then returns
// from main, calls os.Exit or waits for SIGTERM, with and without what the README says to
// write (defer Close, Shutdown before os.Exit, FlushOnSignal).
func TestHowAProgramEnds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	dir := t.TempDir()
	prog := filepath.Join(dir, "exitprog")
	build := exec.Command("go", "build", "-o", prog, "./testdata/exitprog")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cases := []struct {
		mode   string
		lines  int
		exit   int            // exit status, or -1 for killed by signal
		signal syscall.Signal // sent once the program printed "ready"
	}{
		{"return-close", 1000, 0, 0},
		{"return", 0, 0, 0}, // documented loss: no Close
		{"exit-shutdown", 1000, 1, 0},
		{"exit", 0, 1, 0}, // documented loss: os.Exit without Shutdown
		{"sigterm-flush", 1000, -1, syscall.SIGTERM},
		{"sigterm", 0, -1, syscall.SIGTERM}, // documented loss: Go's default SIGTERM handling
		// durability=mmap: nothing in the file at the end, every record after the next open.
		{"exit-mmap", 0, 1, 0},
		{"sigterm-mmap", 0, -1, syscall.SIGTERM},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			log := filepath.Join(dir, c.mode+".log")
			cmd := exec.Command(prog, log, c.mode)
			cmd.Stderr = os.Stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if c.signal != 0 {
				line, _ := bufio.NewReader(out).ReadString('\n')
				if line != "ready\n" {
					_ = cmd.Process.Kill()
					t.Fatalf("the program printed %q", line)
				}
				if err := cmd.Process.Signal(c.signal); err != nil {
					t.Fatal(err)
				}
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatal("the program did not end")
			}
			var ee *exec.ExitError
			switch {
			case c.exit == 0 && err != nil:
				t.Fatalf("exit: %v", err)
			case c.exit > 0 && (!errors.As(err, &ee) || ee.ExitCode() != c.exit):
				t.Fatalf("exit: %v, want status %d", err, c.exit)
			case c.exit < 0:
				ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
				if !ok || !ws.Signaled() || ws.Signal() != c.signal {
					t.Fatalf("exit: %v, want killed by %v", err, c.signal)
				}
			}
			b, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Count(string(b), "\n")
			if got != c.lines {
				t.Fatalf("%d lines in the file, want %d", got, c.lines)
			}
			if c.lines > 0 && !strings.HasSuffix(string(b), "INFO record i=999\n") {
				t.Fatalf("the file ends %q", string(b[len(b)-40:]))
			}
			if strings.HasSuffix(c.mode, "-mmap") {
				// The next open of the path writes what the journal kept, once, in order.
				l, err := Open(log, Config("durability", "mmap"))
				if err != nil {
					t.Fatal(err)
				}
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				b, err := os.ReadFile(log)
				if err != nil {
					t.Fatal(err)
				}
				lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
				if len(lines) != 1000 {
					t.Fatalf("%d lines after the reopen, want 1000", len(lines))
				}
				for i, l := range lines {
					if !strings.HasSuffix(l, fmt.Sprintf("INFO record i=%d", i)) {
						t.Fatalf("line %d after the reopen: %q", i, l)
					}
				}
			}
		})
	}
}

// Shutdown closes every open Logger (also one reachable only through a With child), leaves
// closed ones alone, and a second Shutdown has nothing to do.
func TestShutdownClosesEveryOpenLogger(t *testing.T) {
	a, pa := open(t)
	b, pb := open(t)
	c, _ := open(t)
	child := b.With(String("k", "v"))
	b = nil
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	_ = a.Info("a")
	_ = child.Info("b")
	if err := Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := a.Info("late"); !errors.Is(err, ErrClosed) {
		t.Fatalf("a after Shutdown: %v", err)
	}
	if err := child.Info("late"); !errors.Is(err, ErrClosed) {
		t.Fatalf("child after Shutdown: %v", err)
	}
	if got := textBodies(t, pa); len(got) != 1 || got[0] != "INFO a" {
		t.Fatalf("a wrote %q", got)
	}
	if got := textBodies(t, pb); len(got) != 1 || got[0] != "INFO b k=v" {
		t.Fatalf("b wrote %q", got)
	}
	if n := len(openEngines()); n != 0 {
		t.Fatalf("%d engines still registered", n)
	}
	if err := Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
