package alog

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// sqlite3 runs the sqlite3 program's query on the database at db, read-only, and returns its
// output lines (columns separated by '|').
func sqlite3(t *testing.T, db, query string) []string {
	t.Helper()
	bin, err := exec.LookPath("sqlite3")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("the sqlite3 program is missing: scripts/prereqs.sh installs it")
		}
		t.Skip("the sqlite3 program is not installed")
	}
	out, err := exec.Command(bin, "-batch", "-readonly", db, query).CombinedOutput()
	if err != nil {
		t.Fatalf("sqlite3 %s: %v\n%s", query, err, out)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
}

// The seed's DB backend: 100 goroutines x 1000 records into a SQLite table beside a file,
// every one a row exactly once, each goroutine's rows in its order, read back by the sqlite3
// program.
func TestSQLiteHundredGoroutinesThousandRecordsEach(t *testing.T) {
	const workers, each = 100, 1000
	db := filepath.Join(t.TempDir(), "app.db")
	l, path := open(t, WithQueue(1000, OverflowBlock), WithSQLite(db), WithAddSource(true))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				if err := l.Warn(fmt.Sprintf("worker %d - log %d", w, j), Int("w", w), Int("j", j), String("q", `it's "quoted"`)); err != nil {
					t.Errorf("worker %d log %d: %v", w, j, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	s := l.Stats()
	if s.Submitted != workers*each || s.Written != workers*each || s.Dropped != 0 || s.Failed != 0 || s.Pending != 0 {
		t.Fatalf("stats %+v (last error %q)", s, l.LastError())
	}
	if n := len(lines(t, path)); n != workers*each {
		t.Fatalf("the file beside the database has %d lines", n)
	}

	summary := sqlite3(t, db, "SELECT count(*), count(DISTINCT msg), sum(json_valid(fields)), "+
		"count(DISTINCT pid), min(level), max(level), min(level_num), max(level_num), "+
		"sum(json_extract(fields, '$.q') = 'it''s \"quoted\"'), "+
		"sum(file LIKE '%sqlite_test.go' AND line > 0 AND func LIKE '%TestSQLiteHundredGoroutinesThousandRecordsEach%') "+
		"FROM logs")
	want := fmt.Sprintf("%d|%d|%d|1|WARN|WARN|13|13|%d|%d", workers*each, workers*each, workers*each, workers*each, workers*each)
	if len(summary) != 1 || summary[0] != want {
		t.Fatalf("summary %q, want %q", summary, want)
	}
	rows := sqlite3(t, db, "SELECT json_extract(fields, '$.w'), json_extract(fields, '$.j'), msg FROM logs ORDER BY id")
	if len(rows) != workers*each {
		t.Fatalf("%d rows", len(rows))
	}
	next := make([]int, workers) // each goroutine's rows stay in its order
	for _, r := range rows {
		var w, j int
		var msg string
		parts := strings.SplitN(r, "|", 3)
		if len(parts) != 3 {
			t.Fatalf("row %q", r)
		}
		if _, err := fmt.Sscan(parts[0], &w); err != nil || w < 0 || w >= workers {
			t.Fatalf("row %q", r)
		}
		if _, err := fmt.Sscan(parts[1], &j); err != nil {
			t.Fatalf("row %q", r)
		}
		msg = parts[2]
		if j != next[w] || msg != fmt.Sprintf("worker %d - log %d", w, j) {
			t.Fatalf("worker %d: row %q after record %d", w, r, next[w]-1)
		}
		next[w]++
	}
	for w, n := range next {
		if n != each {
			t.Fatalf("worker %d: %d rows", w, n)
		}
	}
}

// A path that is not a regular file fails Open with the engine's message naming it.
func TestSQLiteOpenErrorNamesThePath(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(filepath.Join(dir, "app.log"), WithSQLite(dir))
	want := fmt.Sprintf("cannot open the SQLite database %s: %s is a directory, not a regular file", dir, dir)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Open: %v, want an error containing %q", err, want)
	}
}
