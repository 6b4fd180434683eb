package smime

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"mime/quotedprintable"
	"strings"
)

// extractCMS undoes the content transfer encoding (RFC 2045 section 6) and
// any PEM armour, and returns the DER or BER bytes of the CMS object. max
// bounds the decoded size; 0 or less means no bound.
func extractCMS(body []byte, transferEncoding string, max int) ([]byte, error) {
	var data []byte
	var err error
	cte := strings.ToLower(strings.TrimSpace(transferEncoding))
	switch cte {
	case "base64":
		data, err = decodeBase64(body, max)
	case "", "7bit", "8bit", "binary":
		data = body
	case "quoted-printable":
		data, err = decodeQuotedPrintable(body, max)
	default:
		return nil, fmt.Errorf("%w: unknown encoding %.40q", ErrTransferEncoding, cte)
	}
	if err != nil {
		return nil, err
	}
	data, err = unarmor(data, max)
	if err != nil {
		return nil, err
	}
	if max > 0 && len(data) > max {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), max)
	}
	return data, nil
}

// unarmor accepts the forms a CMS object takes in the wild besides plain
// DER: PEM ("-----BEGIN PKCS7-----", as openssl -outform PEM writes it)
// and base64 text in a part that did not declare base64.
func unarmor(data []byte, max int) ([]byte, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrTransferEncoding)
	}
	if trimmed[0] == 0x30 {
		return trimmed, nil // a DER or BER SEQUENCE: the ContentInfo
	}
	if bytes.HasPrefix(trimmed, []byte("-----BEGIN ")) {
		block, _ := pem.Decode(trimmed)
		if block == nil {
			return nil, fmt.Errorf("%w: bad PEM armour", ErrTransferEncoding)
		}
		return block.Bytes, nil
	}
	// QUIRK(senders without Content-Transfer-Encoding): base64 text in a
	// part labelled 7bit or with no encoding at all; a ContentInfo always
	// starts with "MI" in base64.
	if bytes.HasPrefix(trimmed, []byte("MI")) {
		return decodeBase64(trimmed, max)
	}
	return trimmed, nil // let the CMS parser say what is wrong with it
}

// b64 maps a base64 alphabet byte (RFC 4648 section 4) to its value, and
// every other byte to 0xff.
var b64 = func() (m [256]byte) {
	for i := range m {
		m[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alphabet); i++ {
		m[alphabet[i]] = byte(i)
	}
	return m
}()

// decodeBase64 decodes a base64 body. Mail wraps base64 at 76 columns
// (RFC 2045 section 6.8) and real messages add spaces, tabs and stray
// blank lines, so all whitespace is skipped; any other byte outside the
// alphabet makes the body corrupt. The common well-formed case takes the
// standard library's fast path.
func decodeBase64(src []byte, max int) ([]byte, error) {
	n := base64.StdEncoding.DecodedLen(len(src))
	if max <= 0 || n <= max {
		dst := make([]byte, n)
		if m, err := base64.StdEncoding.Decode(dst, src); err == nil {
			return dst[:m], nil
		}
		return decodeBase64Tolerant(dst[:0], src, max)
	}
	if alphabetBytes(src)/4*3 > max+2 {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
	}
	return decodeBase64Tolerant(make([]byte, 0, max+3), src, max)
}

// alphabetBytes counts the base64 alphabet bytes in src, to reject an
// oversized body before allocating for it.
func alphabetBytes(src []byte) int {
	n := 0
	for _, c := range src {
		if b64[c] != 0xff {
			n++
		}
	}
	return n
}

// decodeBase64Tolerant decodes src into dst, skipping whitespace. Decoding
// stops at the first '='; what follows it is ignored.
// QUIRK(mailing lists): lists append a footer after the encoded body; the
// CMS object ends before it, so it is dropped rather than made an error.
func decodeBase64Tolerant(dst, src []byte, max int) ([]byte, error) {
	var quad [4]byte
	q := 0
	for i, c := range src {
		v := b64[c]
		if v == 0xff {
			if c == '=' {
				break
			}
			if isSpace(c) {
				continue
			}
			return nil, fmt.Errorf("%w: byte 0x%02x at offset %d", ErrTransferEncoding, c, i)
		}
		quad[q] = v
		q++
		if q < 4 {
			continue
		}
		q = 0
		dst = append(dst, quad[0]<<2|quad[1]>>4, quad[1]<<4|quad[2]>>2, quad[2]<<6|quad[3])
		if max > 0 && len(dst) > max {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
		}
	}
	switch q {
	case 1:
		return nil, fmt.Errorf("%w: truncated base64", ErrTransferEncoding)
	case 2:
		dst = append(dst, quad[0]<<2|quad[1]>>4)
	case 3:
		dst = append(dst, quad[0]<<2|quad[1]>>4, quad[1]<<4|quad[2]>>2)
	}
	return dst, nil
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

func decodeQuotedPrintable(src []byte, max int) ([]byte, error) {
	r := io.Reader(quotedprintable.NewReader(bytes.NewReader(src)))
	if max > 0 {
		r = io.LimitReader(r, int64(max)+1)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%w: quoted-printable: %w", ErrTransferEncoding, err)
	}
	if max > 0 && len(data) > max {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
	}
	return data, nil
}

// NormalizeCRLF turns bare LF line endings into CRLF and returns b itself
// when there is none, so the common case costs no copy.
//
// Why: the decrypted entity is handed to IMAP and POP3 clients, whose
// protocols carry messages with CRLF line endings (RFC 9051 section 2.2,
// RFC 1939 section 3), and sizes and partial fetches are counted in those
// bytes. Senders that encrypt with "binary" canonicalisation (openssl
// -binary, some gateways) leave LF-only text inside the envelope.
// Content holding a NUL byte is binary data (RFC 2045 section 2.9 binary
// transfer encoding) and is returned untouched, since adding CR bytes
// would corrupt it.
func NormalizeCRLF(b []byte) []byte {
	bare := countBareLF(b)
	if bare == 0 || bytes.IndexByte(b, 0) >= 0 {
		return b
	}
	out := make([]byte, 0, len(b)+bare)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out = append(out, b...)
			break
		}
		out = append(out, b[:i]...)
		if i == 0 || b[i-1] != '\r' {
			out = append(out, '\r')
		}
		out = append(out, '\n')
		b = b[i+1:]
	}
	return out
}

func countBareLF(b []byte) int {
	n := 0
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			break
		}
		if i+j == 0 || b[i+j-1] != '\r' {
			n++
		}
		i += j + 1
	}
	return n
}
