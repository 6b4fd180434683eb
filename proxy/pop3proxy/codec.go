package pop3proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Line limits. RFC 2449 section 4 caps commands at 255 octets and
// responses at 512, both with CRLF; real clients and servers exceed both
// (long AUTH PLAIN initial responses, long greetings), so the proxy
// accepts more and refuses only what no honest peer sends.
const (
	// maxCommandLine bounds a client command or SASL response line.
	maxCommandLine = 8 << 10
	// maxResponseLine bounds a status line or a line of a listing
	// (LIST, UIDL, CAPA) from the mailbox server.
	maxResponseLine = 8 << 10
	// maxSASLCommand is the longest AUTH command with an initial
	// response that may be sent upstream (RFC 5034 section 4).
	maxSASLCommand = 255
)

// DefaultMaxMessageBytes bounds one message read from the mailbox server
// when ClientOptions.MaxMessageBytes is zero.
const DefaultMaxMessageBytes = 256 << 20

var (
	// ErrLineTooLong reports a line beyond the codec's limit.
	ErrLineTooLong = errors.New("pop3proxy: line too long")
	// ErrMessageTooLarge reports a multi-line response beyond the limit.
	ErrMessageTooLarge = errors.New("pop3proxy: message too large")
	// ErrProtocol reports a response that is not POP3.
	ErrProtocol = errors.New("pop3proxy: protocol error")
)

// Error is a -ERR response: the server's refusal, with its own text
// (response code included, RFC 2449 section 8). It is what a front relays
// to its client, never a broken connection.
type Error struct {
	Text string
}

func (e *Error) Error() string { return "pop3proxy: -ERR " + e.Text }

// readLine reads one line terminated by LF and returns it without CRLF or
// LF. A line longer than limit is consumed up to its end and reported as
// ErrLineTooLong, so that the caller may answer and carry on.
func readLine(r *bufio.Reader, limit int) (string, error) {
	line, err := r.ReadSlice('\n')
	if err == nil && len(line) <= limit {
		return string(trimEOL(line)), nil
	}
	if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
		if len(line) > 0 && errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return "", err
	}
	// Too long for the buffer or the limit: skip to the end of the line.
	for errors.Is(err, bufio.ErrBufferFull) {
		_, err = r.ReadSlice('\n')
	}
	if err != nil {
		return "", err
	}
	return "", ErrLineTooLong
}

func trimEOL(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line
}

// parseStatus splits a status line into its indicator and text
// (RFC 1939 section 3).
func parseStatus(line string) (ok bool, text string, err error) {
	switch {
	case line == "+OK" || strings.HasPrefix(line, "+OK "):
		return true, strings.TrimPrefix(strings.TrimPrefix(line, "+OK"), " "), nil
	case line == "-ERR" || strings.HasPrefix(line, "-ERR "):
		return false, strings.TrimPrefix(strings.TrimPrefix(line, "-ERR"), " "), nil
	}
	// The line is not quoted: out of step, it could be message content.
	return false, "", fmt.Errorf("%w: status line of %d bytes", ErrProtocol, len(line))
}

// readMultiline reads the body of a multi-line response up to its
// terminating "." line and appends it to dst with the byte-stuffing undone
// (RFC 1939 section 3) and every line ending CRLF. Beyond limit bytes
// the rest is drained and ErrMessageTooLarge returned, so that the
// connection stays in step.
func readMultiline(r *bufio.Reader, dst []byte, limit int64) ([]byte, error) {
	start := len(dst)
	tooLarge := false
	for {
		line, err := readDataLine(r)
		if err != nil {
			return dst, err
		}
		if len(line) == 1 && line[0] == '.' {
			break
		}
		if len(line) > 0 && line[0] == '.' {
			line = line[1:]
		}
		if tooLarge || int64(len(dst)-start+len(line)+2) > limit {
			tooLarge = true
			continue
		}
		dst = append(append(dst, line...), '\r', '\n')
	}
	if tooLarge {
		return dst[:start], ErrMessageTooLarge
	}
	return dst, nil
}

// readDataLine reads one line of a multi-line response, of any length
// (message lines are not bounded by RFC 1939), without its line ending.
// The slice is valid until the next read.
func readDataLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err == nil {
		return trimEOL(line), nil
	}
	if !errors.Is(err, bufio.ErrBufferFull) {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	long := append([]byte(nil), line...)
	for errors.Is(err, bufio.ErrBufferFull) {
		line, err = r.ReadSlice('\n')
		long = append(long, line...)
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return trimEOL(long), nil
}

// writeMultiline writes data as the body of a multi-line response: every
// line ending becomes CRLF, lines starting with "." get one more, a last
// line without an ending gets one, and the "." line ends it (RFC 1939
// section 3). The client reads back exactly wireLen(data) bytes.
func writeMultiline(w *bufio.Writer, data []byte) error {
	if wireLen(data) == int64(len(data)) {
		writeStuffed(w, data)
	} else {
		writeLines(w, data)
	}
	_, err := w.WriteString(".\r\n")
	return err
}

// writeStuffed writes canonical data (CRLF line endings, ending in CRLF)
// in as few writes as its dots allow.
func writeStuffed(w *bufio.Writer, data []byte) {
	if len(data) > 0 && data[0] == '.' {
		w.WriteByte('.')
	}
	for {
		i := bytes.Index(data, []byte("\n."))
		if i < 0 {
			w.Write(data)
			return
		}
		w.Write(data[:i+1])
		w.WriteByte('.')
		data = data[i+1:]
	}
}

// writeLines writes data line by line, mending its line endings.
func writeLines(w *bufio.Writer, data []byte) {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
			line = bytes.TrimSuffix(line, []byte("\r"))
		} else {
			data = nil
		}
		if len(line) > 0 && line[0] == '.' {
			w.WriteByte('.')
		}
		w.Write(line)
		w.WriteString("\r\n")
	}
}

// wireLen is the size of data as a client reads it from writeMultiline:
// the size that LIST and STAT must report.
func wireLen(data []byte) int64 {
	n := int64(len(data))
	if lf := bytes.Count(data, []byte("\n")); lf > 0 {
		n += int64(lf - bytes.Count(data, []byte("\r\n")))
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n += 2
	}
	return n
}

// canonical returns data with CRLF line endings throughout and a final
// CRLF: what a client reads back. It returns data itself when it is
// canonical already, the common case, so that no copy is made.
func canonical(data []byte) []byte {
	if wireLen(data) == int64(len(data)) {
		return data
	}
	out := make([]byte, 0, wireLen(data))
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
			line = bytes.TrimSuffix(line, []byte("\r"))
		} else {
			data = nil
		}
		out = append(append(out, line...), '\r', '\n')
	}
	return out
}

// parseCommand splits a command line into its keyword, upper-cased, and
// arguments (RFC 1939 section 3: keyword and arguments separated by a
// single space; we accept runs of spaces).
func parseCommand(line string) (string, []string) {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return "", nil
	}
	return strings.ToUpper(fields[0]), fields[1:]
}

// Capabilities is a CAPA response (RFC 2449 section 5): capability name,
// upper-cased, to its arguments.
type Capabilities map[string][]string

// Has reports whether the capability is listed.
func (c Capabilities) Has(name string) bool {
	_, ok := c[strings.ToUpper(name)]
	return ok
}

// SASL lists the SASL mechanisms offered (RFC 5034 section 6), upper-cased.
func (c Capabilities) SASL() []string {
	mechs := make([]string, 0, len(c["SASL"]))
	for _, m := range c["SASL"] {
		mechs = append(mechs, strings.ToUpper(m))
	}
	return mechs
}

// HasSASL reports whether mech is among the SASL mechanisms offered.
func (c Capabilities) HasSASL(mech string) bool {
	for _, m := range c.SASL() {
		if m == strings.ToUpper(mech) {
			return true
		}
	}
	return false
}

// parseCapa reads the lines of a CAPA response body. Empty lines are
// skipped; a repeated capability keeps its first arguments.
func parseCapa(body []byte) Capabilities {
	caps := Capabilities{}
	for _, line := range strings.Split(string(body), "\r\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		name := strings.ToUpper(fields[0])
		if _, seen := caps[name]; !seen {
			caps[name] = fields[1:]
		}
	}
	return caps
}

// apopTimestamp returns the msg-id in a greeting (RFC 1939 section 7:
// "<...>" holding an "@"), or "" when the server offers no APOP.
func apopTimestamp(greeting string) string {
	start := strings.IndexByte(greeting, '<')
	if start < 0 {
		return ""
	}
	end := strings.IndexByte(greeting[start:], '>')
	if end < 0 {
		return ""
	}
	stamp := greeting[start : start+end+1]
	if !strings.Contains(stamp, "@") || strings.ContainsAny(stamp, " \t") {
		return ""
	}
	return stamp
}
