package alog

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// WithSyslog and WithFlushOn: a socket bound by the test plays the syslog daemon; batches
// never fill or time out, so only flush_on gets the records out while the logger is open.
func TestSyslogSinkAndFlushOn(t *testing.T) {
	dir := t.TempDir()
	sockPath := filepath.Join(dir, "log.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sockPath, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer conn.Close()
	l, path := open(t, WithSyslog(sockPath, "local1", "gotest"), WithFlushOn(LevelError),
		WithBatch(1000, time.Hour))
	if err := l.Info("queued", Int("n", 1)); err != nil {
		t.Fatal(err)
	}
	if err := l.Error("now"); err != nil {
		t.Fatal(err)
	}
	// local1 = 17: 17*8 + info (6) = 142, 17*8 + err (3) = 139.
	tail := fmt.Sprintf(" gotest[%d]: ", os.Getpid())
	want := []string{"<142>|queued n=1", "<139>|now"}
	buf := make([]byte, 4096)
	for i, w := range want {
		if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
			t.Fatal(err)
		}
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("datagram %d: %v (flush_on did not write the batch out)", i, err)
		}
		d := string(buf[:n])
		pri, body, _ := strings.Cut(w, "|")
		if !strings.HasPrefix(d, pri) || !strings.HasSuffix(d, tail+body) {
			t.Fatalf("datagram %d = %q, want %s ... %s%s", i, d, pri, tail, body)
		}
	}
	// The file sink writes its batch after the datagrams went out: wait for it.
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := textBodies(t, path); len(got) != 2 || got[1] != "ERROR now" {
		t.Fatalf("file: %q", got)
	}
}
