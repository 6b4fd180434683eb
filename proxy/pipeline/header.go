package pipeline

import (
	"bytes"
	"strings"
)

// field is one header field of a message, as offsets into the message so
// that it can be copied out byte for byte: start..end covers the field
// name, its value, every folded continuation line and the final line
// ending. colon is the offset of the ':' or -1 for a line that has none.
type field struct {
	start, colon, end int
}

// fieldScanner walks the header block of msg (RFC 5322 section 2.2). It
// is deliberately more forgiving than a parser needs to be: LF-only line
// endings, 8-bit bytes, lines of any length and lines without a colon are
// all taken as they come, since the header of a message we pass on must
// come out exactly as it went in.
//
// go-message's textproto reader is not used here because it rewrites line
// endings and stops at the first malformed line.
type fieldScanner struct {
	msg []byte
	pos int
	// body is the offset just past the blank line that ends the header,
	// or len(msg) when there is none; valid once next returned false.
	body int
	// blank is the offset of that blank line (== body when there is none).
	blank int
}

func newFieldScanner(msg []byte) *fieldScanner {
	return &fieldScanner{msg: msg}
}

// next returns the next field, or false at the end of the header block.
func (s *fieldScanner) next() (field, bool) {
	if s.pos >= len(s.msg) {
		s.body, s.blank = len(s.msg), len(s.msg)
		return field{}, false
	}
	line := s.lineEnd(s.pos)
	if isBlankLine(s.msg[s.pos:line]) {
		s.blank, s.body = s.pos, line
		s.pos = len(s.msg)
		return field{}, false
	}
	f := field{start: s.pos, colon: -1, end: line}
	if i := bytes.IndexByte(s.msg[s.pos:line], ':'); i >= 0 {
		f.colon = s.pos + i
	}
	// Folded lines (RFC 5322 section 2.2.3) start with a space or tab.
	for f.end < len(s.msg) && (s.msg[f.end] == ' ' || s.msg[f.end] == '\t') {
		f.end = s.lineEnd(f.end)
	}
	s.pos = f.end
	return f, true
}

// lineEnd returns the offset just past the line ending that follows from.
func (s *fieldScanner) lineEnd(from int) int {
	i := bytes.IndexByte(s.msg[from:], '\n')
	if i < 0 {
		return len(s.msg)
	}
	return from + i + 1
}

func isBlankLine(line []byte) bool {
	return len(line) == 0 || string(line) == "\n" || string(line) == "\r\n"
}

// name returns the field name without trailing white space (seen in the
// wild before the colon), or nil for a line without a colon.
func (f field) name(msg []byte) []byte {
	if f.colon < 0 {
		return nil
	}
	return bytes.TrimRight(msg[f.start:f.colon], " \t")
}

// is reports whether the field is called name, ignoring ASCII case.
func (f field) is(msg []byte, name string) bool {
	n := f.name(msg)
	return len(n) == len(name) && equalFoldASCII(n, name)
}

// hasPrefix reports whether the field name starts with prefix, ignoring
// ASCII case.
func (f field) hasPrefix(msg []byte, prefix string) bool {
	n := f.name(msg)
	return len(n) >= len(prefix) && equalFoldASCII(n[:len(prefix)], prefix)
}

// equalFoldASCII compares b and s of equal length without allocating;
// field names are ASCII (RFC 5322 section 3.6.8), so Unicode folding
// would only let odd bytes match.
func equalFoldASCII(b []byte, s string) bool {
	for i := 0; i < len(b); i++ {
		if lowerASCII(b[i]) != lowerASCII(s[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// value returns the unfolded value: line breaks removed and the ends
// trimmed (RFC 5322 section 2.2.3).
func (f field) value(msg []byte) string {
	if f.colon < 0 {
		return ""
	}
	v := msg[f.colon+1 : f.end]
	if bytes.IndexByte(v[:len(v)-trailingEOL(v)], '\n') < 0 {
		return strings.TrimSpace(string(v))
	}
	var b strings.Builder
	b.Grow(len(v))
	for _, c := range v {
		if c != '\r' && c != '\n' {
			b.WriteByte(c)
		}
	}
	return strings.TrimSpace(b.String())
}

// validName reports whether the field has a name made of the printable
// characters RFC 5322 section 3.6.8 allows.
func (f field) validName(msg []byte) bool {
	n := f.name(msg)
	if len(n) == 0 {
		return false
	}
	for _, c := range n {
		if c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}

func trailingEOL(b []byte) int {
	switch {
	case bytes.HasSuffix(b, []byte("\r\n")):
		return 2
	case bytes.HasSuffix(b, []byte("\n")):
		return 1
	}
	return 0
}

// authServID returns the authserv-id of an Authentication-Results value
// (RFC 8601 section 2.2): the first token or quoted-string, after any
// comments.
func authServID(value string) string {
	v := skipCFWS(value)
	if strings.HasPrefix(v, `"`) {
		end := strings.IndexByte(v[1:], '"')
		if end < 0 {
			return v[1:]
		}
		return v[1 : 1+end]
	}
	end := strings.IndexAny(v, "; \t(")
	if end < 0 {
		return v
	}
	return v[:end]
}

// skipCFWS drops leading white space and (possibly nested) comments
// (RFC 5322 section 3.2.2).
func skipCFWS(v string) string {
	for {
		v = strings.TrimLeft(v, " \t\r\n")
		if !strings.HasPrefix(v, "(") {
			return v
		}
		depth := 0
		i := 0
		for ; i < len(v); i++ {
			switch v[i] {
			case '\\':
				i++
			case '(':
				depth++
			case ')':
				depth--
			}
			if depth == 0 {
				break
			}
		}
		if i >= len(v) {
			return ""
		}
		v = v[i+1:]
	}
}
