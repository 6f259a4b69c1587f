package alog

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Exact accounting of every overflow policy. A callback sink stalls the writer thread:
// r=0 is taken by the writer, which then blocks; r=1..capacity fill the queue; later
// records overflow and meet the policy under test.
const capacity = 8

func stalledLogger(t *testing.T, overflow Overflow, timeout time.Duration) (*Logger, string, *gate) {
	t.Helper()
	g := newGate()
	l, path := open(t, WithQueue(capacity, overflow), WithBlockTimeout(timeout),
		WithBatch(1, 50*time.Millisecond), WithCallback(LevelTrace, FormatText, g.sink),
		// The callback lane holds only what it writes: a stalled callback stops the writer.
		Config("callback.backlog", "0"))
	if err := l.Info("r=0"); err != nil {
		t.Fatal(err)
	}
	g.waitCalls(1)
	for i := 1; i <= capacity; i++ {
		if err := l.Info(fmt.Sprintf("r=%d", i)); err != nil {
			t.Fatalf("r=%d: %v", i, err)
		}
	}
	if s := l.Stats(); s.QueueLen != capacity || s.QueueCapacity != capacity {
		t.Fatalf("queue not full: %+v", s)
	}
	return l, path, g
}

// finish releases the writer, closes and checks the counters and the file's records.
func finish(t *testing.T, l *Logger, path string, g *gate, submitted, dropped uint64, want []int) {
	t.Helper()
	g.release()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	s := l.Stats()
	checkIdentity(t, s)
	if s.Submitted != submitted || s.Dropped != dropped || s.Written != uint64(len(want)) || s.Failed != 0 || s.Pending != 0 {
		t.Fatalf("stats %+v, want submitted %d dropped %d written %d", s, submitted, dropped, len(want))
	}
	var wantLines []string
	for _, id := range want {
		wantLines = append(wantLines, fmt.Sprintf("INFO r=%d", id))
	}
	got := textBodies(t, path)
	if strings.Join(got, "|") != strings.Join(wantLines, "|") {
		t.Fatalf("file\n%q\nwant\n%q", got, wantLines)
	}
	if g.calls != len(want) {
		t.Fatalf("callback saw %d records, want %d", g.calls, len(want))
	}
}

func ids(first, last int) []int {
	var out []int
	for i := first; i <= last; i++ {
		out = append(out, i)
	}
	return out
}

func TestOverflowDropNewestAndWarn(t *testing.T) {
	for _, policy := range []Overflow{OverflowDropNewest, OverflowWarn} {
		t.Run(string(policy), func(t *testing.T) {
			l, path, g := stalledLogger(t, policy, 0)
			const extra = 12
			for i := capacity + 1; i <= capacity+extra; i++ {
				if err := l.Info(fmt.Sprintf("r=%d", i)); !errors.Is(err, ErrFull) {
					t.Fatalf("r=%d: %v, want ErrFull", i, err)
				}
			}
			if s := l.Stats(); s.Dropped != extra {
				t.Fatalf("dropped %d while stalled, want %d", s.Dropped, extra)
			}
			finish(t, l, path, g, 1+capacity+extra, extra, ids(0, capacity))
		})
	}
}

func TestOverflowDropOldest(t *testing.T) {
	l, path, g := stalledLogger(t, OverflowDropOldest, 0)
	const extra = 12
	for i := capacity + 1; i <= capacity+extra; i++ {
		if err := l.Info(fmt.Sprintf("r=%d", i)); err != nil {
			t.Fatalf("r=%d: %v", i, err)
		}
	}
	// The queue keeps the newest `capacity` records.
	finish(t, l, path, g, 1+capacity+extra, extra, append([]int{0}, ids(extra+1, capacity+extra)...))
}

// The seed LogManager's 100 ms backpressure: block, then give up with ErrTimeout.
func TestOverflowBlockWithTimeout(t *testing.T) {
	l, path, g := stalledLogger(t, OverflowBlock, 100*time.Millisecond)
	start := time.Now()
	for i := capacity + 1; i <= capacity+3; i++ {
		if err := l.Info(fmt.Sprintf("r=%d", i)); !errors.Is(err, ErrTimeout) {
			t.Fatalf("r=%d: %v, want ErrTimeout", i, err)
		}
	}
	if waited := time.Since(start); waited < 300*time.Millisecond {
		t.Fatalf("3 timed-out calls returned after %v, want >= 300ms", waited)
	}
	finish(t, l, path, g, 1+capacity+3, 3, ids(0, capacity))
}

func TestOverflowBlockForever(t *testing.T) {
	l, path, g := stalledLogger(t, OverflowBlock, 0)
	done := make(chan error)
	go func() { done <- l.Info(fmt.Sprintf("r=%d", capacity+1)) }()
	select {
	case err := <-done:
		t.Fatalf("blocked call returned early: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	g.release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	finish(t, l, path, g, capacity+2, 0, ids(0, capacity+1))
}
