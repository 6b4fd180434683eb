package pop3proxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestWriteMultilineStuffsDots(t *testing.T) {
	tests := []struct{ in, wire string }{
		{"", ".\r\n"},
		{"a\r\nb\r\n", "a\r\nb\r\n.\r\n"},
		{".\r\n", "..\r\n.\r\n"},
		{"..x\r\n.y\r\n", "...x\r\n..y\r\n.\r\n"},
		{"bare\nlf\n", "bare\r\nlf\r\n.\r\n"},
		{"no end", "no end\r\n.\r\n"},
		{"a\r\n\r\n.", "a\r\n\r\n..\r\n.\r\n"},
		{"mid.dot\r\n", "mid.dot\r\n.\r\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		w := bufio.NewWriter(&b)
		if err := writeMultiline(w, []byte(tt.in)); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		if b.String() != tt.wire {
			t.Errorf("writeMultiline(%q) = %q, want %q", tt.in, b.String(), tt.wire)
		}
	}
}

func TestReadMultilineUnstuffs(t *testing.T) {
	wire := "...x\r\n..\r\nplain\r\nbare lf\n\r\n.\r\n+OK next\r\n"
	r := bufio.NewReader(strings.NewReader(wire))
	got, err := readMultiline(r, nil, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if want := "..x\r\n.\r\nplain\r\nbare lf\r\n\r\n"; string(got) != want {
		t.Errorf("body = %q, want %q", got, want)
	}
	if rest, _ := readLine(r, 100); rest != "+OK next" {
		t.Errorf("the next response reads %q", rest)
	}
}

func TestReadMultilineTruncated(t *testing.T) {
	for _, wire := range []string{"line\r\n", "line\r\n.", "line\r\npart", ""} {
		_, err := readMultiline(bufio.NewReader(strings.NewReader(wire)), nil, 1<<20)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("readMultiline(%q) = %v, want unexpected EOF", wire, err)
		}
	}
}

func TestReadMultilineLimitKeepsStep(t *testing.T) {
	wire := strings.Repeat("0123456789\r\n", 10) + ".\r\n+OK after\r\n"
	r := bufio.NewReader(strings.NewReader(wire))
	if _, err := readMultiline(r, nil, 50); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("err = %v, want ErrMessageTooLarge", err)
	}
	if rest, _ := readLine(r, 100); rest != "+OK after" {
		t.Errorf("after the oversized body the stream reads %q", rest)
	}
}

func TestReadMultilineLongLines(t *testing.T) {
	long := strings.Repeat("x", 200<<10) // beyond the 64 KiB read buffer
	wire := "." + long + "\r\n.\r\n"
	r := bufio.NewReaderSize(strings.NewReader(wire), 4096)
	got, err := readMultiline(r, nil, 1<<20)
	if err != nil || string(got) != long+"\r\n" {
		t.Errorf("long line: %d bytes, %v", len(got), err)
	}
}

func TestReadLineLimit(t *testing.T) {
	wire := strings.Repeat("a", 100) + "\r\nshort\r\n" + strings.Repeat("b", 9000) + "\r\nok\r\n"
	r := bufio.NewReaderSize(strings.NewReader(wire), 4096)
	for _, want := range []string{"", "short", "", "ok"} {
		line, err := readLine(r, 50)
		if want == "" && line != "" {
			t.Errorf("too long line read as %q", line)
		}
		if want == "" && !errors.Is(err, ErrLineTooLong) {
			t.Errorf("too long line: err = %v", err)
		}
		if want != "" && (line != want || err != nil) {
			t.Errorf("line = %q, %v; want %q", line, err, want)
		}
	}
	if _, err := readLine(r, 50); !errors.Is(err, io.EOF) {
		t.Errorf("at the end: %v", err)
	}
	if _, err := readLine(bufio.NewReader(strings.NewReader("cut")), 50); !errors.Is(err,
		io.ErrUnexpectedEOF) {
		t.Errorf("unterminated line: %v", err)
	}
}

func TestWireLenAndCanonical(t *testing.T) {
	for _, in := range []string{"", "a", "a\r\n", "a\n", "\n\n", "a\r\nb", "\r", "x\r\r\n"} {
		c := canonical([]byte(in))
		if int64(len(c)) != wireLen([]byte(in)) {
			t.Errorf("%q: canonical has %d bytes, wireLen says %d", in, len(c),
				wireLen([]byte(in)))
		}
		if !bytes.Equal(canonical(c), c) {
			t.Errorf("%q: canonical is not idempotent", in)
		}
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		line string
		ok   bool
		text string
		bad  bool
	}{
		{"+OK", true, "", false},
		{"+OK 2 320", true, "2 320", false},
		{"-ERR [AUTH] no", false, "[AUTH] no", false},
		{"-ERR", false, "", false},
		{"+OKAY", false, "", true},
		{"* BYE", false, "", true},
		{"", false, "", true},
	}
	for _, tt := range tests {
		ok, text, err := parseStatus(tt.line)
		if (err != nil) != tt.bad || ok != tt.ok || text != tt.text {
			t.Errorf("parseStatus(%q) = %t %q %v", tt.line, ok, text, err)
		}
	}
}

func TestParseCapa(t *testing.T) {
	caps := parseCapa([]byte("TOP\r\nuidl\r\nSASL PLAIN login\r\n\r\nEXPIRE 30 USER\r\n" +
		"SASL GSSAPI\r\n"))
	if !caps.Has("TOP") || !caps.Has("UIDL") || caps.Has("STLS") {
		t.Errorf("caps = %v", caps)
	}
	if got := strings.Join(caps.SASL(), ","); got != "PLAIN,LOGIN" {
		t.Errorf("SASL = %s, want the first SASL line", got)
	}
	if !caps.HasSASL("login") || caps.HasSASL("GSSAPI") {
		t.Error("HasSASL")
	}
	if got := strings.Join(caps["EXPIRE"], " "); got != "30 USER" {
		t.Errorf("EXPIRE args = %q", got)
	}
	var none Capabilities
	if none.Has("TOP") || none.HasSASL("PLAIN") {
		t.Error("nil capabilities claim something")
	}
}

func TestParseListing(t *testing.T) {
	entries, err := parseListing([]byte("1 120\r\n2 30 extra\r\n"), parseSizeField)
	if err != nil || len(entries) != 2 || entries[1].Size != 30 {
		t.Errorf("LIST = %v, %v", entries, err)
	}
	for _, bad := range []string{"x 1\r\n", "0 1\r\n", "1 -5\r\n", "1\r\n"} {
		if _, err := parseListing([]byte(bad), parseSizeField); !errors.Is(err, ErrProtocol) {
			t.Errorf("LIST %q: %v", bad, err)
		}
	}
	for _, bad := range []string{"1 \r\n", "1 a\x01b\r\n", "1 " + strings.Repeat("u", 71)} {
		if _, err := parseListing([]byte(bad), parseUIDLField); !errors.Is(err, ErrProtocol) {
			t.Errorf("UIDL %q: %v", bad, err)
		}
	}
}

func TestAPOPTimestamp(t *testing.T) {
	tests := map[string]string{
		"+OK ready <1896.697170952@dbc.mtview.ca.us>": "<1896.697170952@dbc.mtview.ca.us>",
		"Dovecot ready.":      "",
		"ready <no-at-sign>":  "",
		"ready <unclosed@x":   "",
		"ready <a b@c>":       "",
		"<1.2@h> and <3.4@h>": "<1.2@h>",
	}
	for greeting, want := range tests {
		if got := apopTimestamp(greeting); got != want {
			t.Errorf("apopTimestamp(%q) = %q, want %q", greeting, got, want)
		}
	}
}

func TestTopCutsAfterHeader(t *testing.T) {
	msg := []byte("A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\nl3\r\n")
	tests := map[int]string{
		0:  "A: 1\r\nB: 2\r\n\r\n",
		2:  "A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n",
		10: string(msg),
	}
	for k, want := range tests {
		if got := string(top(msg, k)); got != want {
			t.Errorf("top(%d) = %q, want %q", k, got, want)
		}
	}
	if got := string(top([]byte("A: 1\r\n"), 0)); got != "A: 1\r\n" {
		t.Errorf("header-only message: %q", got)
	}
	if got := string(top([]byte("\r\nbody\r\n"), 0)); got != "\r\n" {
		t.Errorf("empty header: %q", got)
	}
}

func TestSizeCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c := newSizeCache(2)
	a, b, d := sizeKey{"u", "a"}, sizeKey{"u", "b"}, sizeKey{"u", "d"}
	c.put(a, sizeEntry{size: 1})
	c.put(b, sizeEntry{size: 2})
	c.get(a)
	c.put(d, sizeEntry{size: 3})
	if _, ok := c.get(b); ok || c.len() != 2 {
		t.Errorf("b survived or %d entries", c.len())
	}
	if e, ok := c.get(a); !ok || e.size != 1 {
		t.Error("a was evicted")
	}
	if _, ok := c.get(sizeKey{"other", "a"}); ok {
		t.Error("another user's entry matched")
	}
}
