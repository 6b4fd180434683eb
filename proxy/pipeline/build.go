package pipeline

import (
	"bytes"
	"errors"
	"strings"

	"github.com/smimeproxy/smimeproxy/smime"
)

// ErrKeys reports that the user's keys could not be had; the message then
// gets reason=temporary-error and is not cached.
var ErrKeys = errors.New("pipeline: could not get the user's keys")

// statusLine formats our X-SMIME-Status field with the given line ending.
func statusLine(st smime.Status, eol string) []byte {
	return []byte(smime.StatusHeader + ": " + st.String() + eol)
}

// lineEnding returns the line ending the message's first line uses, so
// that a field we add to an otherwise untouched message matches it.
func lineEnding(msg []byte) string {
	i := bytes.IndexByte(msg, '\n')
	if i > 0 && msg[i-1] == '\r' || i < 0 {
		return "\r\n"
	}
	return "\n"
}

// stripForged copies raw without its forged status fields, with prefix
// (our own status line, or nil) in front. Every other byte, the body
// included, is copied unchanged.
func (p *Pipeline) stripForged(raw, prefix []byte) []byte {
	out := make([]byte, 0, len(prefix)+len(raw))
	out = append(out, prefix...)
	s := newFieldScanner(raw)
	kept := 0 // raw[kept:f.start] is still to be copied
	for f, ok := s.next(); ok; f, ok = s.next() {
		if isForged(raw, f, p.opts.AuthServID) {
			out = append(out, raw[kept:f.start]...)
			kept = f.end
		}
	}
	return append(out, raw[kept:]...)
}

// buildDecrypted assembles the decrypted message (RFC 8551 section 3.1:
// the inner entity replaces the outer body and its content fields):
//
//	outer fields, in order, minus Content-* and forged fields
//	our X-SMIME-Status field
//	inner entity's fields, minus forged ones and duplicates of outer ones
//	blank line, inner body
//
// Header lines are written with CRLF endings; the inner body is copied as
// smime.DecryptEntity normalised it.
func (p *Pipeline) buildDecrypted(raw []byte, info outerInfo, res *smime.DecryptResult) []byte {
	outerHdr := raw[:info.blank]
	innerHdr, innerBody := splitInner(res.Inner)
	status := statusLine(res.Status(), "\r\n")
	// Room for a CR per line, and for a line ending after a last field
	// that had none, in each header block.
	size := len(outerHdr) + bytes.Count(outerHdr, []byte("\n")) + len(status) +
		len(innerHdr) + bytes.Count(innerHdr, []byte("\n")) + 6 + len(innerBody)
	out := make([]byte, 0, size)

	// A set, not a list: both header blocks can come from an attacker, and
	// comparing every inner field with every outer one would be quadratic.
	outerNames := make(map[string]struct{})
	s := newFieldScanner(outerHdr)
	for f, ok := s.next(); ok; f, ok = s.next() {
		if f.hasPrefix(outerHdr, "Content-") || isForged(outerHdr, f, p.opts.AuthServID) {
			continue
		}
		outerNames[strings.ToLower(string(f.name(outerHdr)))] = struct{}{}
		out = appendCRLF(out, outerHdr[f.start:f.end])
	}
	out = append(out, status...)
	out = p.appendInnerFields(out, innerHdr, outerNames)
	out = append(out, "\r\n"...)
	return append(out, innerBody...)
}

// appendInnerFields copies the inner entity's fields. A field whose name
// the outer header already has (MIME-Version, or a Subject that a header
// protecting client repeats inside) is left out, so the client never sees
// two of one field; Content-* fields always come from inside.
// TODO(header-protection): prefer protected inner fields (RFC 9788) over
// outer ones once signatures are verified.
func (p *Pipeline) appendInnerFields(out, innerHdr []byte, outerNames map[string]struct{}) []byte {
	s := newFieldScanner(innerHdr)
	for f, ok := s.next(); ok; f, ok = s.next() {
		if isForged(innerHdr, f, p.opts.AuthServID) {
			continue
		}
		if f.hasPrefix(innerHdr, "Content-") {
			out = appendCRLF(out, innerHdr[f.start:f.end])
			continue
		}
		if _, dup := outerNames[strings.ToLower(string(f.name(innerHdr)))]; dup {
			continue
		}
		out = appendCRLF(out, innerHdr[f.start:f.end])
	}
	return out
}

// splitInner separates the decrypted entity into its header block
// (without the blank line) and body. Content that does not start with a
// header field, such as bare text some producers encrypt, is all body: a
// MIME reader then takes it as text/plain (RFC 2045 section 5.2).
func splitInner(inner []byte) (hdr, body []byte) {
	s := newFieldScanner(inner)
	for f, ok := s.next(); ok; f, ok = s.next() {
		if !f.validName(inner) {
			return nil, inner
		}
	}
	return inner[:s.blank], inner[s.body:]
}

// appendCRLF appends a header field, turning bare LF line endings into
// CRLF, and ends it with CRLF if it had no line ending at all.
func appendCRLF(out, b []byte) []byte {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out = append(out, b...)
			return append(out, "\r\n"...)
		}
		if i > 0 && b[i-1] == '\r' {
			out = append(out, b[:i+1]...)
		} else {
			out = append(out, b[:i]...)
			out = append(out, "\r\n"...)
		}
		b = b[i+1:]
	}
	return out
}
