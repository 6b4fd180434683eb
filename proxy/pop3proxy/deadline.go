package pop3proxy

import (
	"net"
	"time"
)

// idleConn gives every Read and Write on a connection an idle timeout:
// an operation fails when the peer has sent or taken nothing for that
// long, however big the whole transfer. Deadlines are moved at most once
// per second, so that a fast transfer of many small reads does not pay
// for a timer update each time.
type idleConn struct {
	net.Conn
	timeout time.Duration
	now     func() time.Time

	readSet, writeSet time.Time
}

func newIdleConn(conn net.Conn, timeout time.Duration) *idleConn {
	return &idleConn{Conn: conn, timeout: timeout, now: time.Now}
}

func (c *idleConn) Read(p []byte) (int, error) {
	if now := c.now(); now.Sub(c.readSet) > time.Second {
		c.readSet = now
		if err := c.Conn.SetReadDeadline(now.Add(c.timeout)); err != nil {
			return 0, err
		}
	}
	return c.Conn.Read(p)
}

func (c *idleConn) Write(p []byte) (int, error) {
	if now := c.now(); now.Sub(c.writeSet) > time.Second {
		c.writeSet = now
		if err := c.Conn.SetWriteDeadline(now.Add(c.timeout)); err != nil {
			return 0, err
		}
	}
	return c.Conn.Write(p)
}
