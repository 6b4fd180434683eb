package proxy

import (
	"bufio"
	"net"
)

// upstreamReadBuffer is how much a read from the mailbox server may take
// at once. The IMAP client library reads through a 4 KiB buffer of its
// own; a bulk FETCH then costs a system call (and a wake-up) per 4 KiB,
// which on a loaded machine dominated the proxy's relay path.
const upstreamReadBuffer = 64 << 10

// readBufferedConn serves reads from a large buffer; writes go straight
// through, so that commands leave at once.
type readBufferedConn struct {
	net.Conn
	r *bufio.Reader
}

// WithReadBuffer wraps conn so that reads fill a 64 KiB buffer.
func WithReadBuffer(conn net.Conn) net.Conn {
	return &readBufferedConn{Conn: conn, r: bufio.NewReaderSize(conn, upstreamReadBuffer)}
}

func (c *readBufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
