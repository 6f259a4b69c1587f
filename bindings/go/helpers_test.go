package alog

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// tsLen is the length of the engine's text timestamp, e.g. 2026-11-23T16:20:01.920234Z.
const tsLen = len("2026-11-23T16:20:01.920234Z")

// open opens a logger on a fresh file in the test's temporary folder.
func open(t *testing.T, opts ...Option) (*Logger, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.log")
	l, err := Open(path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l, path
}

// lines reads a log file's lines.
func lines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if s == "" {
		return nil
	}
	if !strings.HasSuffix(s, "\n") {
		t.Fatalf("%s does not end with a newline: %q", path, s)
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// textBodies reads a text log and returns each line after its timestamp and space, checking
// that every line starts with one.
func textBodies(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	for i, l := range lines(t, path) {
		if len(l) < tsLen+1 || l[tsLen-1] != 'Z' || l[tsLen] != ' ' || l[4] != '-' || l[10] != 'T' {
			t.Fatalf("line %d has no timestamp: %q", i, l)
		}
		out = append(out, l[tsLen+1:])
	}
	return out
}

// jsonLines parses every line of a JSON log.
func jsonLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for i, l := range lines(t, path) {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %d is not JSON (%v): %s", i, err, l)
		}
		out = append(out, m)
	}
	return out
}

// gate is a callback sink that stalls the engine's writer thread while it is closed, so
// that the queue fills deterministically.
type gate struct {
	mu      sync.Mutex
	cond    *sync.Cond
	stalled bool
	calls   int
	lines   []string
}

func newGate() *gate {
	g := &gate{stalled: true}
	g.cond = sync.NewCond(&g.mu)
	return g
}

func (g *gate) sink(_ Level, line []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls++
	g.lines = append(g.lines, string(line))
	g.cond.Broadcast()
	for g.stalled {
		g.cond.Wait()
	}
}

func (g *gate) waitCalls(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.calls < n {
		g.cond.Wait()
	}
}

func (g *gate) release() {
	g.mu.Lock()
	g.stalled = false
	g.cond.Broadcast()
	g.mu.Unlock()
}

// checkIdentity checks the accounting identity of a snapshot.
func checkIdentity(t *testing.T, s Stats) {
	t.Helper()
	if s.Submitted != s.Written+s.Dropped+s.Failed+s.Pending {
		t.Fatalf("submitted %d != written %d + dropped %d + failed %d + pending %d",
			s.Submitted, s.Written, s.Dropped, s.Failed, s.Pending)
	}
}
