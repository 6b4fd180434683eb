package pipeline

import (
	"strings"

	"github.com/smimeproxy/smimeproxy/smime"
)

// HeaderFields names the header fields that decide whether a message must
// be fetched whole and transformed. The IMAP side fetches just these
// (BODY.PEEK[HEADER.FIELDS (...)]) and passes them to NeedsTransform.
var HeaderFields = []string{"Content-Type", smime.StatusHeader, "Authentication-Results"}

// outerInfo is what the pipeline learns from the top-level header block.
type outerInfo struct {
	contentType      string
	transferEncoding string
	// from and sender are the From and Sender values, for the signer
	// match (RFC 8550 section 3).
	from, sender string
	// forged counts fields that claim to be our results: X-SMIME-Status,
	// or Authentication-Results under our authserv-id.
	forged int
	// blank and body are offsets of the blank line after the header and
	// of the body; both are len(msg) for a message without a body.
	blank, body int
}

// scanOuter reads the top-level header fields it needs from msg (a whole
// message or just its header block).
func scanOuter(msg []byte, ours string) outerInfo {
	var info outerInfo
	haveCT, haveCTE := false, false
	s := newFieldScanner(msg)
	for f, ok := s.next(); ok; f, ok = s.next() {
		switch {
		case isForged(msg, f, ours):
			info.forged++
		case !haveCT && f.is(msg, "Content-Type"):
			info.contentType, haveCT = f.value(msg), true
		case !haveCTE && f.is(msg, "Content-Transfer-Encoding"):
			info.transferEncoding, haveCTE = f.value(msg), true
		case info.from == "" && f.is(msg, "From"):
			info.from = f.value(msg)
		case info.sender == "" && f.is(msg, "Sender"):
			info.sender = f.value(msg)
		}
	}
	info.blank, info.body = s.blank, s.body
	return info
}

// isForged reports whether f pretends to be a result of ours. The status
// header is ours alone, so every copy in an incoming message is forged;
// an Authentication-Results field is ours only under our authserv-id
// (RFC 8601 section 5: remove such fields that arrive from outside).
func isForged(msg []byte, f field, ours string) bool {
	if f.is(msg, smime.StatusHeader) {
		return true
	}
	if ours == "" || !f.is(msg, "Authentication-Results") {
		return false
	}
	return strings.EqualFold(authServID(f.value(msg)), ours)
}

// NeedsTransform tells from a raw header block (at least HeaderFields;
// the whole header or message will do) whether Transform would change the
// message: forged status fields, an envelope, or a signature
// (multipart/signed or signed-data), whose verdict we add. When it
// returns false and NeedsBodyScan does too, the message can be passed
// through byte for byte without being downloaded whole.
func (p *Pipeline) NeedsTransform(header []byte) (needs bool) {
	defer func() {
		if v := recover(); v != nil {
			p.reportPanic(MessageRef{}, v)
			needs = true // let Transform, which has its own fallback, decide
		}
	}()
	info := scanOuter(header, p.opts.AuthServID)
	return info.forged > 0 || opens(smime.ClassifyContentType(info.contentType))
}

// opens reports whether the pipeline works on a message of this kind:
// envelopes are decrypted, compressed data inflated and both forms of
// signature verified, so that their status is shown (RFC 8551 sections
// 3.3, 3.5, 3.6).
func opens(k smime.Kind) bool {
	switch k {
	case smime.KindEnveloped, smime.KindSigned, smime.KindSignedOpaque, smime.KindCompressed:
		return true
	}
	return false
}
