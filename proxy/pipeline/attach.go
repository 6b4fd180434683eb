package pipeline

import (
	"bytes"
	"context"
	"mime"
	"strconv"
	"strings"

	"github.com/smimeproxy/smimeproxy/smime"
)

// Attachment is what became of one message/rfc822 part whose embedded
// message is an S/MIME envelope.
type Attachment struct {
	// Part is the part's IMAP number (RFC 3501 section 6.4.5): "2", "3.1".
	Part string
	// Decrypt and Signed are as in Output, for the embedded message.
	Decrypt *smime.DecryptResult
	Signed  []smime.SignedEntity
}

// envelopePart locates the embedded message of a message/rfc822 part
// that holds an envelope: raw[start:end].
type envelopePart struct {
	number     string
	start, end int
	// delims are the delimiters of the enclosing multiparts; the
	// replacement must not contain them, or it would end a part early.
	delims [][]byte
}

// maxAttachments bounds the envelopes opened in one message, each a
// private-key operation; later ones are left closed.
const maxAttachments = 32

// maxBoundary bounds the boundary parameter. RFC 2046 section 5.1.1
// allows 70 characters; longer ones are forgiven up to this many.
const maxBoundary = 256

// NeedsBodyScan tells from a raw header block whether the body may hold
// something NeedsTransform cannot see: a multipart message may carry an
// envelope as a message/rfc822 attachment. NeedsTransformBody decides
// from the whole message.
func (p *Pipeline) NeedsBodyScan(header []byte) bool {
	_, scan := p.Triage(header)
	return scan
}

// Triage is NeedsTransform and NeedsBodyScan in one pass over header, for
// fronts that classify every message of a listing.
func (p *Pipeline) Triage(header []byte) (transform, bodyScan bool) {
	defer func() {
		if v := recover(); v != nil {
			p.reportPanic(MessageRef{}, v)
			transform, bodyScan = true, true
		}
	}()
	info := scanOuter(header, p.opts.AuthServID)
	kind := smime.ClassifyContentType(info.contentType)
	if opens(kind) {
		return true, false
	}
	return info.forged > 0, isMultipart(info.contentType)
}

// isMultipart reports a multipart/* Content-Type value.
func isMultipart(ct string) bool {
	const prefix = "multipart/"
	if len(ct) < len(prefix) || !strings.EqualFold(ct[:len(prefix)], prefix) {
		return false // the common case, without ParseMediaType's allocations
	}
	mediaType, _, err := mime.ParseMediaType(ct)
	return err == nil && strings.HasPrefix(mediaType, prefix)
}

// NeedsTransformBody tells from a whole message whether Transform would
// open an envelope attached to it as a message/rfc822 part. It is false
// for a message whose top level is S/MIME: NeedsTransform covers those.
func (p *Pipeline) NeedsTransformBody(msg []byte) (needs bool) {
	defer func() {
		if v := recover(); v != nil {
			p.reportPanic(MessageRef{}, v)
			needs = true
		}
	}()
	info := scanOuter(msg, p.opts.AuthServID)
	if opens(smime.ClassifyContentType(info.contentType)) {
		return false
	}
	return len(p.findEnveloped(msg, info)) > 0
}

// openAttachments opens the envelopes found in message/rfc822 parts of a
// multipart message. Each one is transformed as a message of its own and
// replaces that part's body, the embedded message, as a whole; every
// other byte of the outer message stays as it was, so decrypted content
// never joins a part that came from outside (EFAIL). The outer message
// gets a status field naming the parts. Nil: there is no such part.
func (p *Pipeline) openAttachments(ctx context.Context, ref MessageRef, keys KeySource,
	raw []byte, info outerInfo) *Output {
	found := p.findEnveloped(raw, info)
	if len(found) == 0 {
		return nil
	}
	out := &Output{Changed: true}
	msg := make([]byte, 0, len(raw)+len(raw)/4)
	kept := 0
	for _, f := range found {
		a, replacement := p.openAttachment(ctx, ref, keys, raw[f.start:f.end], f)
		msg = append(append(msg, raw[kept:f.start]...), replacement...)
		kept = f.end
		out.Attachments = append(out.Attachments, a)
	}
	msg = append(msg, raw[kept:]...)
	line := statusLine(attachmentsStatus(out.Attachments), lineEnding(raw))
	out.Message = p.stripForged(msg, line)
	return out
}

// openAttachment runs the layer walk on one embedded message and returns
// its result and the bytes that replace it.
func (p *Pipeline) openAttachment(ctx context.Context, ref MessageRef, keys KeySource,
	embedded []byte, f envelopePart) (Attachment, []byte) {
	info := scanOuter(embedded, p.opts.AuthServID)
	eo := p.openLayers(ctx, ref, keys, embedded, info, smime.KindEnveloped)
	a := Attachment{Part: f.number, Decrypt: eo.Decrypt, Signed: eo.Signed}
	for _, d := range f.delims {
		if bytes.Contains(eo.Message, d) {
			// The plaintext would end the outer part early and mix with the
			// parts around it: keep the attachment closed.
			p.log.Info("decrypted attachment holds an outer boundary; left as it was",
				"user", ref.User, "mailbox", ref.Mailbox, "uid", ref.UID, "part", f.number)
			a.Decrypt, a.Signed = &smime.DecryptResult{Outcome: smime.OutcomeCorrupt}, nil
			return a, embedded
		}
	}
	return a, eo.Message
}

// attachmentsStatus is the outer message's status: the outcome says
// whether any attachment was decrypted, then each attachment's part
// number and its own outcome (and reason), in document order:
//
//	attachment-decrypted; part=2; decrypted; part=3; not-decrypted; reason=no-key
func attachmentsStatus(atts []Attachment) smime.Status {
	st := smime.Status{Outcome: smime.StatusAttachmentNotDecrypted}
	for _, a := range atts {
		res := smime.DecryptResult{Outcome: smime.OutcomeCorrupt}
		if a.Decrypt != nil {
			res = *a.Decrypt
		}
		if res.Outcome == smime.OutcomeDecrypted {
			st.Outcome = smime.StatusAttachmentDecrypted
		}
		inner := res.Status()
		st.Params = append(st.Params, smime.StatusParam{Name: "part", Value: a.Part},
			smime.StatusParam{Name: inner.Outcome})
		if reason, ok := inner.Get("reason"); ok {
			st.Params = append(st.Params, smime.StatusParam{Name: "reason", Value: reason})
		}
	}
	return st
}

// findEnveloped lists the message/rfc822 parts of a multipart message
// whose embedded message is an envelope, in document order, descending
// into nested multiparts to MaxLayers levels. The cheap test for
// "pkcs7-mime" comes first: most multipart mail has none.
func (p *Pipeline) findEnveloped(raw []byte, info outerInfo) []envelopePart {
	if !containsFold(raw[info.body:], "pkcs7-mime") {
		return nil
	}
	var found []envelopePart
	p.scanMultipart(raw, span{info.body, len(raw)}, info.contentType, "", nil, 0, &found)
	return found
}

// span is a range of offsets into the message.
type span struct{ start, end int }

// scanMultipart looks through the parts of the multipart entity body
// raw[body.start:body.end] with Content-Type ct. Each level scans only its
// own bytes, so the work is at most MaxLayers times the message's length.
func (p *Pipeline) scanMultipart(raw []byte, body span, ct, prefix string, outer [][]byte,
	depth int, found *[]envelopePart) {
	if depth >= p.opts.MaxLayers {
		return
	}
	mediaType, params, err := mime.ParseMediaType(ct)
	boundary := params["boundary"]
	if err != nil || !strings.HasPrefix(mediaType, "multipart/") || boundary == "" ||
		len(boundary) > maxBoundary {
		return
	}
	delim := []byte("--" + boundary)
	delims := append(outer[:len(outer):len(outer)], delim)
	for i, pt := range splitParts(raw[body.start:body.end], delim) {
		number := strconv.Itoa(i + 1)
		if prefix != "" {
			number = prefix + "." + number
		}
		part := raw[body.start+pt.start : body.start+pt.end]
		pct, pcte, off := partFields(part)
		inner := span{body.start + pt.start + off, body.start + pt.end}
		partType, _, _ := mime.ParseMediaType(pct)
		switch {
		case strings.HasPrefix(partType, "multipart/"):
			p.scanMultipart(raw, inner, pct, number, delims, depth+1, found)
		case len(*found) >= maxAttachments:
			return
		case partType == "message/rfc822" && identityEncoding(pcte) &&
			isEnvelope(raw[inner.start:inner.end]):
			*found = append(*found, envelopePart{number: number, start: inner.start,
				end: inner.end, delims: delims})
		}
	}
}

// partFields returns a part's Content-Type and Content-Transfer-Encoding
// and the offset of its body.
func partFields(part []byte) (ct, cte string, body int) {
	haveCT, haveCTE := false, false
	s := newFieldScanner(part)
	for f, ok := s.next(); ok; f, ok = s.next() {
		switch {
		case !haveCT && f.is(part, "Content-Type"):
			ct, haveCT = f.value(part), true
		case !haveCTE && f.is(part, "Content-Transfer-Encoding"):
			cte, haveCTE = f.value(part), true
		}
	}
	return ct, cte, s.body
}

// identityEncoding reports a transfer encoding that leaves the bytes as
// they are; a message/rfc822 part must have one (RFC 2046 section 5.2.1).
// TODO(nesting): base64-encoded message/rfc822 parts, which some clients
// write against the rule, are left as they are.
func identityEncoding(cte string) bool {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "", "7bit", "8bit", "binary":
		return true
	}
	return false
}

// isEnvelope reports an embedded message whose top level is an envelope.
func isEnvelope(msg []byte) bool {
	return smime.ClassifyContentType(scanOuter(msg, "").contentType) == smime.KindEnveloped
}

// splitParts returns the body parts of a multipart body (RFC 2046 section
// 5.1.1), each without the line break that belongs to the delimiter after
// it. A delimiter line is delim at the start of a line, then "--" for the
// last one, optional spaces or tabs, and the line's end. The preamble, the
// epilogue and a last part without closing delimiter (a truncated
// message) are left out.
func splitParts(body, delim []byte) []span {
	var parts []span
	partStart := -1
	for pos := 0; pos < len(body); {
		i := bytes.Index(body[pos:], delim)
		if i < 0 {
			break
		}
		at := pos + i
		end := at + len(delim)
		closing := bytes.HasPrefix(body[end:], []byte("--"))
		if closing {
			end += 2
		}
		for end < len(body) && (body[end] == ' ' || body[end] == '\t') {
			end++
		}
		atLineStart := at == 0 || body[at-1] == '\n'
		if !atLineStart || end < len(body) && body[end] != '\r' && body[end] != '\n' {
			pos = at + len(delim)
			continue
		}
		if partStart >= 0 {
			parts = append(parts, span{partStart, max(partStart, lineBreakBefore(body, at))})
		}
		if closing {
			return parts
		}
		end = skipLineEnd(body, end)
		partStart, pos = end, end
	}
	return parts
}

// lineBreakBefore returns the offset of the CRLF or LF that ends just
// before at.
func lineBreakBefore(b []byte, at int) int {
	if at > 0 && b[at-1] == '\n' {
		at--
		if at > 0 && b[at-1] == '\r' {
			at--
		}
	}
	return at
}

// skipLineEnd steps over a CRLF, LF or lone CR at i.
func skipLineEnd(b []byte, i int) int {
	if i < len(b) && b[i] == '\r' {
		i++
	}
	if i < len(b) && b[i] == '\n' {
		i++
	}
	return i
}

// containsFold reports whether b contains the lower-case ASCII word s in
// any mix of cases, in one pass over b.
func containsFold(b []byte, s string) bool {
	first := s[0]
	upper := first - 'a' + 'A'
	for i := 0; i+len(s) <= len(b); i++ {
		c := b[i]
		if (c == first || c == upper) && bytes.EqualFold(b[i:i+len(s)], []byte(s)) {
			return true
		}
	}
	return false
}
