package proxy

import (
	"bytes"
	"errors"
	"net"
	"sync"
	"testing"
	"time"
)

// recordingConn is a net.Conn that keeps each Write it receives.
type recordingConn struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
	err    error
	closed bool
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	c.writes = append(c.writes, append([]byte(nil), p...))
	return len(p), nil
}

func (c *recordingConn) SetWriteDeadline(time.Time) error { return nil }
func (c *recordingConn) Close() error                     { c.closed = true; return nil }

func (c *recordingConn) snapshot() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.writes...)
}

func waitForWrites(t *testing.T, c *recordingConn, n int) [][]byte {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if w := c.snapshot(); len(w) >= n {
			return w
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("got %d writes, want %d", len(c.snapshot()), n)
	return nil
}

func TestCoalescedWritesLeaveTogether(t *testing.T) {
	under := &recordingConn{}
	conn := CoalesceWrites(under)
	for _, part := range []string{"* 1 FETCH (BODY[] {5}\r\n", "hello", ")\r\n"} {
		if _, err := conn.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	writes := waitForWrites(t, under, 1)
	if len(writes) != 1 || string(writes[0]) != "* 1 FETCH (BODY[] {5}\r\nhello)\r\n" {
		t.Errorf("writes = %q, want one write of everything", writes)
	}
}

func TestLargeWritesAreNotHeldBack(t *testing.T) {
	under := &recordingConn{}
	conn := CoalesceWrites(under)
	small := []byte("* OK\r\n")
	big := bytes.Repeat([]byte("x"), coalesceLimit+1)
	conn.Write(small)
	conn.Write(big)
	writes := under.snapshot()
	if len(writes) != 2 || !bytes.Equal(writes[0], small) || len(writes[1]) != len(big) {
		t.Errorf("got %d writes; want the buffered line flushed, then the big one at once", len(writes))
	}
}

func TestCloseFlushes(t *testing.T) {
	under := &recordingConn{}
	conn := CoalesceWrites(under)
	conn.Write([]byte("* BYE bye\r\n"))
	conn.Close()
	if w := under.snapshot(); len(w) != 1 || string(w[0]) != "* BYE bye\r\n" || !under.closed {
		t.Errorf("writes %q closed %t: the pending BYE was lost", w, under.closed)
	}
}

func TestWriteErrorIsKept(t *testing.T) {
	under := &recordingConn{err: errors.New("broken pipe")}
	conn := CoalesceWrites(under)
	conn.Write([]byte("a\r\n"))
	time.Sleep(20 * coalesceDelay)
	if _, err := conn.Write([]byte("b\r\n")); err == nil {
		t.Errorf("a write after a failed flush succeeded")
	}
}
