package smime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"strings"

	"github.com/smimeproxy/smimeproxy/smime/cms"
)

// ErrMultipart reports a multipart/signed body whose structure is not
// two parts between boundary delimiters (RFC 1847 section 2.1).
var ErrMultipart = errors.New("smime: malformed multipart/signed")

// VerifyMultipartSigned checks a multipart/signed entity (RFC 8551 section
// 3.5.3; RFC 1847). contentType is its Content-Type value, body its body
// as received, senders the From/Sender addresses (SenderAddresses).
//
// The signed content is the first body part exactly as received: the
// bytes after the CRLF of the first delimiter line up to, not including,
// the CRLF before the next one (RFC 1847 section 2.1, RFC 2046 section
// 5.1.1). It is canonical already (RFC 8551 section 3.1.1); bare LF line
// endings, which a message only has after it was stored on a Unix system,
// are turned back into CRLF when the bytes as received do not match.
func (v *Verifier) VerifyMultipartSigned(ctx context.Context, contentType string, body []byte,
	senders []string) (out SignedEntity) {
	out = SignedEntity{Kind: KindSigned, Part: "1"}
	defer recoverSigned(&out)
	signed, sigPart, err := splitSigned(contentType, body)
	if err != nil {
		out.Signers = []SignerResult{permError(err)}
		return out
	}
	sd, err := v.parseSignaturePart(sigPart)
	if err != nil {
		out.Signers = []SignerResult{parseFailure(err)}
		return out
	}
	out.Signers = v.checkSigned(ctx, sd, signed, senders)
	return out
}

// VerifyOpaque checks an application/pkcs7-mime signed-data entity (RFC
// 8551 section 3.5.2) with body and Content-Transfer-Encoding cte. The
// encapsulated entity is returned in Inner, even when the signature does
// not hold (the client should see the content, marked as not valid).
func (v *Verifier) VerifyOpaque(ctx context.Context, body []byte, cte string,
	senders []string) (out SignedEntity) {
	out = SignedEntity{Kind: KindSignedOpaque, Part: "TEXT"}
	defer recoverSigned(&out)
	der, err := extractCMS(body, cte, v.maxInput())
	if err != nil {
		out.Signers = []SignerResult{parseFailure(err)}
		return out
	}
	sd, err := cms.ParseSignedDataFunc(der, v.Limits, v.certs.parse)
	if err != nil {
		out.Signers = []SignerResult{parseFailure(err)}
		return out
	}
	if sd.Content == nil {
		out.Signers = []SignerResult{permError(cms.ErrNoContent)}
		return out
	}
	out.Inner = NormalizeCRLF(sd.Content)
	out.Signers = v.checkSigned(ctx, sd, sd.Content, senders)
	return out
}

func recoverSigned(out *SignedEntity) {
	if v := recover(); v != nil {
		out.Inner = nil
		out.Signers = []SignerResult{permError(panicError(v))}
	}
}

func (v *Verifier) maxInput() int {
	if v.Limits.MaxInputBytes > 0 {
		return v.Limits.MaxInputBytes
	}
	return cms.DefaultLimits().MaxInputBytes
}

// parseFailure classifies a failure to read the signature itself.
func parseFailure(err error) SignerResult {
	switch {
	case errors.Is(err, cms.ErrUnsupported):
		return SignerResult{Result: SigNeutral, Reason: ReasonUnsupported,
			Comment: "unsupported signature format", Err: err}
	case errors.Is(err, cms.ErrLimit), errors.Is(err, ErrTooLarge):
		// Not checked is not the same as broken ([smime] max_message_bytes).
		return SignerResult{Result: SigNeutral, Reason: ReasonTooLarge,
			Comment: "too large to verify", Err: err}
	}
	return permError(err)
}

// parseSignaturePart reads the CMS object from the second body part of a
// multipart/signed entity.
func (v *Verifier) parseSignaturePart(part []byte) (*cms.SignedData, error) {
	hdr, body := splitEntity(part)
	der, err := extractCMS(body, headerValue(hdr, "Content-Transfer-Encoding"), v.maxInput())
	if err != nil {
		return nil, err
	}
	return cms.ParseSignedDataFunc(der, v.Limits, v.certs.parse)
}

// splitSigned returns the first body part (the signed content) and the
// second (the signature entity) of a multipart/signed body.
func splitSigned(contentType string, body []byte) (signed, sig []byte, err error) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: content type: %w", ErrMultipart, err)
	}
	boundary := params["boundary"]
	if boundary == "" || len(boundary) > 200 {
		return nil, nil, fmt.Errorf("%w: no usable boundary", ErrMultipart)
	}
	parts, err := bodyParts(body, boundary, 2)
	if err != nil {
		return nil, nil, err
	}
	return parts[0], parts[1], nil
}

// bodyParts cuts body into its first n body parts (RFC 2046 section
// 5.1.1). A delimiter line is "--" boundary at the start of a line,
// optionally followed by white space (transport padding); the line break
// before it belongs to the delimiter, not to the part.
func bodyParts(body []byte, boundary string, n int) ([][]byte, error) {
	delim := []byte("--" + boundary)
	start := -1 // offset of the current part's first byte
	var parts [][]byte
	for pos := 0; pos < len(body); {
		i := bytes.Index(body[pos:], delim)
		if i < 0 {
			break
		}
		at := pos + i
		next := len(body)
		if j := bytes.IndexByte(body[at:], '\n'); j >= 0 {
			next = at + j + 1
		}
		if (at == 0 || body[at-1] == '\n') && isDelimiter(body[at:next], delim) {
			if start >= 0 {
				parts = append(parts, body[start:trimLineBreak(body, start, at)])
				if len(parts) == n {
					return parts, nil
				}
			}
			start = next
		}
		pos = at + len(delim)
	}
	return nil, fmt.Errorf("%w: %d of %d body parts found", ErrMultipart, len(parts), n)
}

// trimLineBreak returns the end of a part that runs from start to the
// delimiter line at pos, without the CRLF (or LF) before that line.
func trimLineBreak(body []byte, start, pos int) int {
	end := pos
	if end > start && body[end-1] == '\n' {
		end--
		if end > start && body[end-1] == '\r' {
			end--
		}
	}
	return end
}

func isDelimiter(line, delim []byte) bool {
	if !bytes.HasPrefix(line, delim) {
		return false
	}
	rest := bytes.TrimRight(line[len(delim):], " \t\r\n")
	return len(rest) == 0 || string(rest) == "--"
}

// splitEntity separates a MIME entity's header block from its body. An
// entity without a blank line is all header.
func splitEntity(entity []byte) (hdr, body []byte) {
	for i := 0; i < len(entity); {
		j := bytes.IndexByte(entity[i:], '\n')
		if j < 0 {
			break
		}
		line := entity[i : i+j+1]
		if string(line) == "\n" || string(line) == "\r\n" {
			return entity[:i], entity[i+j+1:]
		}
		i += j + 1
	}
	return entity, nil
}

// headerValue returns the unfolded value of the first field called name
// in a header block, or "".
func headerValue(hdr []byte, name string) string {
	lines := strings.Split(string(hdr), "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], "\r")
		colon := strings.IndexByte(line, ':')
		if colon < 0 || !strings.EqualFold(strings.TrimSpace(line[:colon]), name) {
			continue
		}
		value := line[colon+1:]
		for i+1 < len(lines) && len(lines[i+1]) > 0 &&
			(lines[i+1][0] == ' ' || lines[i+1][0] == '\t') {
			i++
			value += strings.TrimRight(lines[i], "\r")
		}
		return strings.TrimSpace(value)
	}
	return ""
}
