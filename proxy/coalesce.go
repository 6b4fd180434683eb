package proxy

import (
	"net"
	"sync"
	"time"
)

// Client-facing writes are gathered for a moment before they go out. The
// IMAP server library flushes after every response line, so relaying one
// message costs three writes, each waking the client; gathering the
// writes of a bulk FETCH into 64 KiB segments took most of the proxy's
// cost above a plain TCP relay. The delay is far below what a person or
// a client's timer can notice.
const (
	coalesceDelay = 200 * time.Microsecond
	coalesceLimit = 64 << 10
	// flushTimeout bounds a flush to a client that stopped reading, since
	// the deadline the protocol code set may already be gone when the
	// delayed flush runs.
	flushTimeout = 2 * time.Minute
)

type coalescingConn struct {
	net.Conn

	mu      sync.Mutex
	buf     []byte
	pending bool  // a delayed flush is scheduled
	err     error // the first write error, returned from then on
}

// CoalesceWrites wraps conn so that writes issued within a fraction of a
// millisecond of each other leave as one.
func CoalesceWrites(conn net.Conn) net.Conn {
	return &coalescingConn{Conn: conn}
}

func (c *coalescingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if len(c.buf)+len(p) > coalesceLimit {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) > coalesceLimit {
			return c.writeLocked(p)
		}
	}
	c.buf = append(c.buf, p...)
	if !c.pending {
		c.pending = true
		time.AfterFunc(coalesceDelay, c.delayedFlush)
	}
	return len(p), nil
}

func (c *coalescingConn) delayedFlush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending = false
	c.flushLocked()
}

func (c *coalescingConn) flushLocked() error {
	if len(c.buf) == 0 {
		return c.err
	}
	_, err := c.writeLocked(c.buf)
	c.buf = c.buf[:0]
	return err
}

func (c *coalescingConn) writeLocked(p []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(flushTimeout))
	n, err := c.Conn.Write(p)
	if err != nil {
		c.err = err
	}
	return n, err
}

// SetWriteDeadline is ignored: writes are delayed, so a deadline set for
// one response would hit a later flush. Each flush has its own bound.
func (c *coalescingConn) SetWriteDeadline(time.Time) error { return nil }

// SetDeadline applies to reads only, for the same reason.
func (c *coalescingConn) SetDeadline(t time.Time) error { return c.Conn.SetReadDeadline(t) }

func (c *coalescingConn) Close() error {
	c.mu.Lock()
	c.flushLocked()
	c.mu.Unlock()
	return c.Conn.Close()
}

// coalescingListener wraps every accepted connection with CoalesceWrites.
type coalescingListener struct{ net.Listener }

// CoalesceListener returns a listener whose connections coalesce writes.
func CoalesceListener(ln net.Listener) net.Listener { return coalescingListener{ln} }

func (l coalescingListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return CoalesceWrites(conn), nil
}
