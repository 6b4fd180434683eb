package pop3proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/smimeproxy/smimeproxy/proxy"
)

// ClientOptions configure a Client.
type ClientOptions struct {
	// Timeout is the idle timeout of every command: the server must send
	// something within it. Zero means 30 seconds.
	Timeout time.Duration
	// MaxMessageBytes bounds one multi-line response. Zero means
	// DefaultMaxMessageBytes.
	MaxMessageBytes int64
	// Observe, if set, learns how long each command took until its
	// response was read, and its error (a *Error for -ERR): cmd is the
	// command name only, never its arguments. It must not block.
	Observe func(cmd string, d time.Duration, err error)
}

// Client is the proxy's side of a connection to a POP3 server
// (RFC 1939). It runs one command at a time; it is not safe for
// concurrent use.
type Client struct {
	conn     net.Conn
	r        *bufio.Reader
	w        *bufio.Writer
	opts     ClientOptions
	greeting string
	caps     Capabilities
}

// NewClient reads the greeting of a POP3 server on conn.
func NewClient(conn net.Conn, opts ClientOptions) (*Client, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = DefaultMaxMessageBytes
	}
	c := &Client{opts: opts}
	c.setConn(conn)
	text, err := c.readStatus()
	if err != nil {
		return nil, fmt.Errorf("greeting: %w", err)
	}
	c.greeting = text
	return c, nil
}

func (c *Client) setConn(conn net.Conn) {
	c.conn = newIdleConn(conn, c.opts.Timeout)
	c.r = bufio.NewReaderSize(c.conn, 64<<10)
	c.w = bufio.NewWriterSize(c.conn, 16<<10)
}

// DialUpstream connects to the mailbox server as up says, upgrades with
// STLS when up.TLS is starttls (RFC 2595 section 4), and reads the
// capabilities (RFC 2449), so that the client is ready to log in.
func DialUpstream(ctx context.Context, up proxy.Upstream, opts ClientOptions) (*Client, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = up.Timeout
	}
	conn, err := up.Dial(ctx)
	if err != nil {
		return nil, err
	}
	c, err := NewClient(conn, opts)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: %w", proxy.ErrUpstreamUnavailable, err)
	}
	if up.TLS == proxy.UpstreamTLSStartTLS {
		if err := c.StartTLS(ctx, up.ClientTLSConfig()); err != nil {
			c.Close()
			return nil, fmt.Errorf("%w: STLS: %w", proxy.ErrUpstreamUnavailable, err)
		}
	}
	if _, err := c.Capa(); err != nil && !isRefusal(err) {
		c.Close()
		return nil, fmt.Errorf("%w: CAPA: %w", proxy.ErrUpstreamUnavailable, err)
	}
	return c, nil
}

// Greeting is the text of the server's greeting.
func (c *Client) Greeting() string { return c.greeting }

// Capabilities are those read by the last Capa; nil when the server has
// no CAPA command.
func (c *Client) Capabilities() Capabilities { return c.caps }

// Close closes the connection without QUIT: nothing marked deleted is
// deleted (RFC 1939 section 6).
func (c *Client) Close() error { return c.conn.Close() }

// Cmd sends a command with a single-line response and returns the text
// after +OK. A -ERR comes back as *Error.
func (c *Client) Cmd(format string, args ...any) (text string, err error) {
	defer c.observe(verb(format), time.Now(), &err)
	if err := c.send(format, args...); err != nil {
		return "", err
	}
	return c.readStatus()
}

// CmdMulti sends a command with a multi-line response and returns the
// status text and the body, unstuffed, with CRLF line endings.
func (c *Client) CmdMulti(format string, args ...any) (text string, body []byte, err error) {
	defer c.observe(verb(format), time.Now(), &err)
	if err := c.send(format, args...); err != nil {
		return "", nil, err
	}
	return c.readMulti(nil)
}

func (c *Client) observe(cmd string, start time.Time, err *error) {
	if c.opts.Observe != nil {
		c.opts.Observe(cmd, time.Since(start), *err)
	}
}

// verb is the command name of a command line or format: its first word,
// or OTHER when that is an argument (a SASL response), which must not
// reach a metric or a log.
func verb(format string) string {
	name, _, _ := strings.Cut(format, " ")
	if name == "" || strings.ContainsAny(name, "%") {
		return "OTHER"
	}
	return strings.ToUpper(name)
}

func (c *Client) send(format string, args ...any) error {
	fmt.Fprintf(c.w, format, args...)
	c.w.WriteString("\r\n")
	return c.w.Flush()
}

// readStatus reads a status line: the text of +OK, or *Error for -ERR.
func (c *Client) readStatus() (string, error) {
	line, err := readLine(c.r, maxResponseLine)
	if err != nil {
		return "", err
	}
	ok, text, err := parseStatus(line)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", &Error{Text: text}
	}
	return text, nil
}

func (c *Client) readMulti(dst []byte) (string, []byte, error) {
	text, err := c.readStatus()
	if err != nil {
		return "", nil, err
	}
	body, err := readMultiline(c.r, dst, c.opts.MaxMessageBytes)
	return text, body, err
}

// Capa asks for the server's capabilities (RFC 2449 section 5).
func (c *Client) Capa() (Capabilities, error) {
	_, body, err := c.CmdMulti("CAPA")
	if err != nil {
		return nil, err
	}
	c.caps = parseCapa(body)
	return c.caps, nil
}

// StartTLS upgrades the connection (RFC 2595 section 4). Capabilities
// read before must be read again; this does it.
func (c *Client) StartTLS(ctx context.Context, cfg *tls.Config) error {
	if _, err := c.Cmd("STLS"); err != nil {
		return err
	}
	if c.r.Buffered() > 0 {
		return fmt.Errorf("%w: data after the STLS response", ErrProtocol)
	}
	raw := c.conn.(*idleConn).Conn
	tlsConn := tls.Client(raw, cfg)
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	if err := tlsConn.HandshakeContext(ctx); err != nil {
		return err
	}
	c.setConn(tlsConn)
	c.caps = nil
	return nil
}

// ListEntry is one line of LIST or UIDL: a message number and its size
// or unique id.
type ListEntry struct {
	Num  int
	Size int64
	UIDL string
}

// List returns the scan listing of every message (RFC 1939 section 5).
func (c *Client) List() ([]ListEntry, error) {
	_, body, err := c.CmdMulti("LIST")
	if err != nil {
		return nil, err
	}
	return parseListing(body, parseSizeField)
}

// UIDL returns the unique-id listing of every message (RFC 1939
// section 7).
func (c *Client) UIDL() ([]ListEntry, error) {
	_, body, err := c.CmdMulti("UIDL")
	if err != nil {
		return nil, err
	}
	return parseListing(body, parseUIDLField)
}

func parseListing(body []byte, field func(*ListEntry, string) error) ([]ListEntry, error) {
	var entries []ListEntry
	for _, line := range strings.Split(string(body), "\r\n") {
		if line == "" {
			continue
		}
		num, rest, _ := strings.Cut(line, " ")
		n, err := strconv.Atoi(num)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%w: listing line of %d bytes", ErrProtocol, len(line))
		}
		e := ListEntry{Num: n}
		if err := field(&e, strings.TrimSpace(rest)); err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	return entries, nil
}

func parseSizeField(e *ListEntry, s string) error {
	size, _, _ := strings.Cut(s, " ")
	n, err := strconv.ParseInt(size, 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("%w: bad message size", ErrProtocol)
	}
	e.Size = n
	return nil
}

func parseUIDLField(e *ListEntry, s string) error {
	// RFC 1939 section 7: 1 to 70 characters in the range 0x21 to 0x7E.
	if s == "" || len(s) > 70 || strings.ContainsFunc(s, func(r rune) bool {
		return r < 0x21 || r > 0x7e
	}) {
		return fmt.Errorf("%w: bad unique id", ErrProtocol)
	}
	e.UIDL = s
	return nil
}

// Retr returns message num, unstuffed, with CRLF line endings.
func (c *Client) Retr(num int) ([]byte, error) {
	return c.RetrSized(num, 0)
}

// RetrSized is Retr with the size LIST gave, so that the message is read
// into a buffer of the right size at once.
func (c *Client) RetrSized(num int, size int64) ([]byte, error) {
	return c.RetrInto(num, make([]byte, 0, min(size, c.opts.MaxMessageBytes)))
}

// RetrInto is Retr appending to buf, for a caller that reuses buffers.
func (c *Client) RetrInto(num int, buf []byte) (body []byte, err error) {
	defer c.observe("RETR", time.Now(), &err)
	if err := c.send("RETR %d", num); err != nil {
		return nil, err
	}
	_, body, err = c.readMulti(buf)
	return body, err
}

// Top returns the header and the first lines of message num's body.
func (c *Client) Top(num, lines int) ([]byte, error) {
	_, body, err := c.CmdMulti("TOP %d %d", num, lines)
	return body, err
}

// Quit ends the session; in the TRANSACTION state the server deletes the
// messages marked deleted first (RFC 1939 section 6) and its answer says
// whether that worked. The connection is closed in any case.
func (c *Client) Quit() (string, error) {
	text, err := c.Cmd("QUIT")
	c.conn.Close()
	return text, err
}

// Each is called for every response of a Batch, in order: i indexes the
// commands, body holds the response body (valid during the call only) and
// err is nil, a *Error or ErrMessageTooLarge. An error it returns stops
// the batch once the pending responses are read.
type Each func(i int, body []byte, err error) error

// Batch sends commands that all have multi-line responses and hands each
// response to each. With PIPELINING (RFC 2449 section 6.6) up to window
// commands are in flight at once, which saves a round trip per command.
func (c *Client) Batch(commands []string, window int, each Each) error {
	if !c.caps.Has("PIPELINING") || window < 1 {
		window = 1
	}
	var stop error
	var buf []byte
	for start := 0; start < len(commands); start += window {
		since := time.Now()
		end := min(start+window, len(commands))
		for _, cmd := range commands[start:end] {
			c.w.WriteString(cmd)
			c.w.WriteString("\r\n")
		}
		if err := c.w.Flush(); err != nil {
			return err
		}
		for i := start; i < end; i++ {
			var err error
			_, buf, err = c.readMulti(buf[:0])
			c.observe(verb(commands[i]), since, &err)
			since = time.Now()
			if err != nil && !isRefusal(err) && !errors.Is(err, ErrMessageTooLarge) {
				return err
			}
			if stop == nil {
				stop = each(i, buf, err)
			}
		}
		if stop != nil {
			return stop
		}
	}
	return nil
}

// isRefusal reports whether err is a -ERR answer: the connection is fine.
func isRefusal(err error) bool {
	var refusal *Error
	return errors.As(err, &refusal)
}
