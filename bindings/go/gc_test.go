package alog

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"
)

// GC stress: the collector runs continuously while goroutines log records whose message,
// keys and values are freshly allocated and dropped right after the call. If Go memory
// handed to C were freed, moved or reused before the engine copied it, lines would come out
// corrupted; every line is compared with what was logged. Loggers dropped without Close are
// closed by their cleanup, and callbacks keep running meanwhile.
func TestGCStress(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(1))
	stop := make(chan struct{})
	var gcs sync.WaitGroup
	gcs.Add(1)
	go func() {
		defer gcs.Done()
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
			}
		}
	}()

	var mu sync.Mutex
	called := 0
	l, path := open(t, WithFormat(FormatJSON), WithQueue(256, OverflowBlock),
		WithCallback(LevelWarn, FormatText, func(_ Level, line []byte) {
			if !strings.Contains(string(line), "WARN ") {
				panic("callback got a corrupt line")
			}
			mu.Lock()
			called++
			mu.Unlock()
		}))
	const workers, each = 4, 2000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			log := slog.New(l.Handler(nil)).With(fresh("w", w), w).WithGroup(fresh("g", w))
			for i := range each {
				key, val := fresh("k", i), strings.Repeat(fresh("v", i), 1+i%7)
				var err error
				switch i % 3 {
				case 0:
					err = l.Info(fresh("msg", i), String(key, val), Int(fresh("n", w), i))
				case 1:
					err = l.Warn(fresh("msg", i), String(key, val), Int(fresh("n", w), i))
				default:
					log.Info(fresh("msg", i), key, val, fresh("n", w), i)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()

	// Loggers nobody closes: their cleanup must close them, draining every record.
	dir := t.TempDir()
	for k := range 3 {
		abandon(t, filepath.Join(dir, fmt.Sprintf("abandoned-%d.log", k)), 500)
	}
	deadline := time.Now().Add(20 * time.Second)
	for k := 0; k < 3; {
		name := filepath.Join(dir, fmt.Sprintf("abandoned-%d.log", k))
		if !isOpen(t, name) {
			if b, _ := os.ReadFile(name); strings.Count(string(b), "\n") != 500 {
				t.Fatalf("abandoned logger %d closed with %d lines, want 500", k, strings.Count(string(b), "\n"))
			}
			k++
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("abandoned logger %d was not closed by its cleanup", k)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}

	close(stop)
	gcs.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	got := jsonLines(t, path)
	if len(got) != workers*each {
		t.Fatalf("%d lines, want %d", len(got), workers*each)
	}
	count := 0
	for _, m := range got {
		msg := m["msg"].(string)
		var i int
		if _, err := fmt.Sscanf(msg, "msg-%d", &i); err != nil {
			t.Fatalf("corrupt message %q", msg)
		}
		want := strings.Repeat(fresh("v", i), 1+i%7)
		fields := m
		if i%3 == 2 {
			g := findGroup(m)
			if g == nil {
				t.Fatalf("record %v has no group", m)
			}
			fields = g
		}
		if fields[fresh("k", i)] != want {
			t.Fatalf("record %d: %v, want %s=%s", i, m, fresh("k", i), want)
		}
		count++
	}
	want := 0
	for i := range each {
		if i%3 == 1 {
			want += workers
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if called != want {
		t.Fatalf("callback called %d times, want %d", called, want)
	}
}

// fresh returns a newly allocated string.
func fresh(prefix string, n int) string {
	return string(append([]byte(prefix+"-"), fmt.Sprint(n)...))
}

func findGroup(m map[string]any) map[string]any {
	for k, v := range m {
		if strings.HasPrefix(k, "g-") {
			g, _ := v.(map[string]any)
			return g
		}
	}
	return nil
}

// isOpen reports whether this process holds a file descriptor on path.
func isOpen(t *testing.T, path string) bool {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	for _, e := range ents {
		if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && target == path {
			return true
		}
	}
	return false
}

// abandon opens a logger, logs n records and drops it without Close.
func abandon(t *testing.T, path string, n int) {
	l, err := Open(path, WithCallback(0, "", func(Level, []byte) {}))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := l.Info(fresh("abandoned", i)); err != nil {
			t.Fatal(err)
		}
	}
	if !isOpen(t, path) {
		t.Fatalf("%s is not open", path)
	}
}
