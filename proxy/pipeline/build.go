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
// (our own fields, or nil) in front. Every other byte, the body
// included, is copied unchanged.
func (p *Pipeline) stripForged(raw, prefix []byte) []byte {
	return p.stripForgedTagged(raw, prefix, "")
}

// stripForgedTagged is stripForged that also puts tag (a Subject prefix
// such as "[signed]", or "") in front of the Subject value. A message
// without Subject gets one after prefix.
func (p *Pipeline) stripForgedTagged(raw, prefix []byte, tag string) []byte {
	out := make([]byte, 0, len(prefix)+len(raw)+len(tag)+16)
	out = append(out, prefix...)
	s := newFieldScanner(raw)
	kept := 0 // raw[kept:f.start] is still to be copied
	tagged := tag == ""
	for f, ok := s.next(); ok; f, ok = s.next() {
		switch {
		case isForged(raw, f, p.opts.AuthServID):
			out = append(out, raw[kept:f.start]...)
			kept = f.end
		case !tagged && f.is(raw, "Subject"):
			out = append(out, raw[kept:f.colon+1]...)
			out = append(out, " "+tag...)
			kept, tagged = f.colon+1, true
		}
	}
	if !tagged {
		out = append(out, "Subject: "+tag+lineEnding(raw)...)
	}
	return append(out, raw[kept:]...)
}

// opened is the innermost entity the layers gave, and how to show it.
type opened struct {
	inner  []byte // MIME entity: header fields, blank line, body (CRLF)
	fields []byte // our fields: Authentication-Results, X-SMIME-Status
	tag    string // Subject prefix, or ""
	hp     bool   // the inner fields are protected (RFC 9788): prefer them
}

// buildOpened assembles the message from an opened envelope or opaque
// signature (RFC 8551 section 3.1: the inner entity replaces the outer
// body and its content fields):
//
//	outer fields, in order, minus Content-* and forged fields
//	our fields
//	inner entity's fields, minus forged ones and duplicates of outer ones
//	blank line, inner body
//
// Only the whole body is replaced, never a part of a multipart that came
// from outside, so decrypted text cannot be spliced into an attacker's
// HTML (the EFAIL direct exfiltration pattern). With header protection
// the inner Subject, From, To... replace the outer ones instead.
// Header lines are written with CRLF endings.
func (p *Pipeline) buildOpened(raw []byte, info outerInfo, o opened) []byte {
	outerHdr := raw[:info.blank]
	innerHdr, innerBody := splitInner(o.inner)
	// Room for a CR per line, and for a line ending after a last field
	// that had none, in each header block.
	size := len(outerHdr) + bytes.Count(outerHdr, []byte("\n")) + len(o.fields) +
		len(innerHdr) + bytes.Count(innerHdr, []byte("\n")) + 6 + len(innerBody) + len(o.tag) + 12
	out := make([]byte, 0, size)

	// Sets, not lists: both header blocks can come from an attacker, and
	// comparing every inner field with every outer one would be quadratic.
	innerNames := fieldNames(innerHdr)
	outerNames := make(map[string]struct{})
	tagged := o.tag == ""
	s := newFieldScanner(outerHdr)
	for f, ok := s.next(); ok; f, ok = s.next() {
		if f.hasPrefix(outerHdr, "Content-") || isForged(outerHdr, f, p.opts.AuthServID) {
			continue
		}
		name := strings.ToLower(string(f.name(outerHdr)))
		if _, protected := innerNames[name]; o.hp && protected {
			continue // RFC 9788 section 4.10: the protected field wins
		}
		outerNames[name] = struct{}{}
		if !tagged && name == "subject" {
			out = appendTagged(out, outerHdr[f.start:f.end], f.colon-f.start, o.tag)
			tagged = true
			continue
		}
		out = appendCRLF(out, outerHdr[f.start:f.end])
	}
	out = append(out, o.fields...)
	out, tagged = p.appendInnerFields(out, innerHdr, outerNames, o.tag, tagged)
	if !tagged {
		out = append(out, "Subject: "+o.tag+"\r\n"...)
	}
	out = append(out, "\r\n"...)
	return append(out, innerBody...)
}

// fieldNames returns the lower-case names of the fields of hdr.
func fieldNames(hdr []byte) map[string]struct{} {
	names := make(map[string]struct{})
	s := newFieldScanner(hdr)
	for f, ok := s.next(); ok; f, ok = s.next() {
		names[strings.ToLower(string(f.name(hdr)))] = struct{}{}
	}
	return names
}

// appendTagged appends a Subject field with tag before its value.
func appendTagged(out, field []byte, colon int, tag string) []byte {
	out = append(out, field[:colon+1]...)
	out = append(out, " "+tag...)
	return appendCRLF(out, field[colon+1:])
}

// appendInnerFields copies the inner entity's fields. A field whose name
// the outer header already has (MIME-Version, or a Subject that a header
// protecting client repeats inside) is left out, so the client never sees
// two of one field; Content-* fields always come from inside. It tags the
// Subject if the outer header had none, and reports whether it did.
func (p *Pipeline) appendInnerFields(out, innerHdr []byte, outerNames map[string]struct{},
	tag string, tagged bool) ([]byte, bool) {
	s := newFieldScanner(innerHdr)
	for f, ok := s.next(); ok; f, ok = s.next() {
		if isForged(innerHdr, f, p.opts.AuthServID) || isHPLegacy(innerHdr, f) {
			continue
		}
		if f.hasPrefix(innerHdr, "Content-") {
			out = appendCRLF(out, innerHdr[f.start:f.end])
			continue
		}
		if _, dup := outerNames[strings.ToLower(string(f.name(innerHdr)))]; dup {
			continue
		}
		if !tagged && f.is(innerHdr, "Subject") {
			out = appendTagged(out, innerHdr[f.start:f.end], f.colon-f.start, tag)
			tagged = true
			continue
		}
		out = appendCRLF(out, innerHdr[f.start:f.end])
	}
	return out, tagged
}

// isHPLegacy reports an RFC 9788 HP-Outer field, which describes the
// outer header and is not for display.
func isHPLegacy(hdr []byte, f field) bool { return f.is(hdr, "HP-Outer") }

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
