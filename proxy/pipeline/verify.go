package pipeline

import (
	"bytes"
	"context"
	"mime"
	"strings"

	"github.com/smimeproxy/smimeproxy/smime"
)

// layerWalk is the state of openLayers: what was found so far.
type layerWalk struct {
	ref     MessageRef
	keys    KeySource
	senders []string
	report  smime.Report
	inner   []byte // the innermost opened entity, nil while none
}

// openLayers opens the S/MIME layers of a message from the outside in
// (RFC 8551 section 3.7: signing and encrypting may nest in any order):
// an envelope is decrypted, an opaque signature verified and unwrapped,
// and a multipart/signed entity verified and left as it is, so that a
// client able to check it can still do so. The walk stops at anything
// else, at a layer that does not open, or after MaxLayers layers.
func (p *Pipeline) openLayers(ctx context.Context, ref MessageRef, keys KeySource, raw []byte,
	info outerInfo, kind smime.Kind) *Output {
	w := &layerWalk{ref: ref, keys: keys, senders: smime.SenderAddresses(info.from, info.sender)}
	ct, cte, body := info.contentType, info.transferEncoding, raw[info.body:]
	for depth := 0; depth < p.opts.MaxLayers && opens(kind); depth++ {
		next := p.openLayer(ctx, w, kind, ct, cte, body)
		if next == nil {
			break
		}
		w.inner = next
		hdr, innerBody := splitInner(next)
		ct, cte = headerField(hdr, "Content-Type"), headerField(hdr, "Content-Transfer-Encoding")
		body, kind = innerBody, smime.ClassifyContentType(ct)
	}
	return p.finish(raw, info, w)
}

// openLayer handles one layer and returns the entity inside it, or nil
// when the walk ends here.
func (p *Pipeline) openLayer(ctx context.Context, w *layerWalk, kind smime.Kind,
	ct, cte string, body []byte) []byte {
	switch kind {
	case smime.KindEnveloped:
		if w.report.Decrypt != nil {
			// TODO(nesting): a second envelope inside the first is left
			// closed; one DecryptResult is reported per message.
			return nil
		}
		res := p.decrypt(ctx, w.ref, w.keys, body, cte)
		w.report.Decrypt = &res
		if res.Outcome != smime.OutcomeDecrypted {
			return nil
		}
		return res.Inner
	case smime.KindCompressed:
		if w.report.Decompressed != "" {
			return nil // TODO(nesting): one compressed layer per message
		}
		inner, err := smime.DecompressEntity(body, cte, p.opts.Limits)
		if err != nil {
			w.report.Decompressed = smime.DecompressFailure(err)
			p.log.Info("compressed-data layer did not open", "user", w.ref.User,
				"mailbox", w.ref.Mailbox, "uid", w.ref.UID, "error", err)
			return nil
		}
		w.report.Decompressed = "ok"
		return inner
	case smime.KindSignedOpaque:
		start := p.opts.Now()
		se := p.verifier.VerifyOpaque(ctx, body, cte, w.senders)
		p.auditVerify(w.ref, se, p.opts.Now().Sub(start))
		w.report.Signed = append(w.report.Signed, se)
		return se.Inner
	case smime.KindSigned:
		start := p.opts.Now()
		se := p.verifier.VerifyMultipartSigned(ctx, ct, body, w.senders)
		p.auditVerify(w.ref, se, p.opts.Now().Sub(start))
		w.report.Signed = append(w.report.Signed, se)
	}
	return nil
}

// finish builds the Output from what the walk found.
func (p *Pipeline) finish(raw []byte, info outerInfo, w *layerWalk) *Output {
	out := &Output{Changed: true, Decrypt: w.report.Decrypt}
	if w.inner != nil {
		w.inner, w.report.HeaderProtection = protectedEntity(w.inner)
	}
	tag := ""
	if p.opts.SubjectTag {
		tag = w.report.SubjectTag()
	}
	if w.inner == nil {
		eol := lineEnding(raw)
		out.Message = p.stripForgedTagged(raw, p.ourFields(w.report, eol), tag)
	} else {
		out.Message = p.buildOpened(raw, info, opened{inner: w.inner,
			fields: p.ourFields(w.report, "\r\n"), tag: tag, hp: w.report.HeaderProtection})
	}
	if out.Decrypt != nil {
		out.Decrypt.Inner = nil
	}
	for i := range w.report.Signed {
		w.report.Signed[i].Inner = nil
	}
	out.Signed = w.report.Signed
	return out
}

// ourFields formats the Authentication-Results field (when we have an
// authserv-id, without which no reader could tell ours from a forgery)
// and the X-SMIME-Status field, with line ending eol.
func (p *Pipeline) ourFields(rep smime.Report, eol string) []byte {
	var out []byte
	if p.opts.AuthServID != "" {
		// Unsigned is known only of what was decrypted; an envelope we
		// could not open may hold a signature.
		encrypted := rep.Decrypt != nil && rep.Decrypt.Outcome == smime.OutcomeDecrypted
		out = smime.AuthResultsField(p.opts.AuthServID, rep.Signed, encrypted)
		if eol != "\r\n" {
			out = bytes.ReplaceAll(out, []byte("\r\n"), []byte(eol))
		}
	}
	return append(out, statusLine(rep.Status(), eol)...)
}

// protectedEntity applies RFC 9788 to the innermost entity: with an hp
// parameter on its Content-Type its own header fields are the true ones
// (section 2.1); a message/rfc822 part marked forwarded=no is the older
// wrapper form (RFC 8551 section 3.1, RFC 9788 section 1.1), and the
// message inside it is shown instead.
func protectedEntity(inner []byte) ([]byte, bool) {
	hdr, body := splitInner(inner)
	mediaType, params, err := mime.ParseMediaType(headerField(hdr, "Content-Type"))
	if err != nil {
		return inner, false
	}
	if _, ok := params["hp"]; ok {
		return inner, true
	}
	if mediaType == "message/rfc822" && strings.EqualFold(params["forwarded"], "no") {
		if len(body) > 0 {
			return body, true
		}
	}
	return inner, false
}

// headerField returns the value of the first field called name in hdr.
func headerField(hdr []byte, name string) string {
	s := newFieldScanner(hdr)
	for f, ok := s.next(); ok; f, ok = s.next() {
		if f.is(hdr, name) {
			return f.value(hdr)
		}
	}
	return ""
}
