package keystore

import (
	"errors"
	"fmt"
)

// NSS (and so Thunderbird and Firefox) writes PKCS#12 files in BER with
// indefinite lengths and chunked OCTET STRINGs; go-pkcs12 and encoding/asn1
// read DER only. berToDER rewrites one BER element as DER (X.690 section
// 10): definite, minimal lengths, and constructed universal strings joined
// into primitive ones. It knows no schema, so IMPLICIT-tagged constructed
// strings stay constructed; callers that expect one fix it themselves (see
// flattenImplicit). SET OF ordering is left alone: encoding/asn1 does not
// check it and re-sorting would change signed bytes for no gain here.

var errBER = errors.New("keystore: malformed BER")

// maxBERDepth bounds nesting; PKCS#12 needs about ten levels.
const maxBERDepth = 32

func berToDER(in []byte) ([]byte, error) {
	out, rest, err := berElement(in, 0)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the element", errBER, len(rest))
	}
	return out, nil
}

// berHeader is a decoded identifier and length.
type berHeader struct {
	tag        []byte // identifier octets as read
	class      byte
	number     int
	compound   bool
	length     int // -1: indefinite
	headerSize int
}

func readBERHeader(in []byte) (berHeader, error) {
	var h berHeader
	if len(in) < 2 {
		return h, fmt.Errorf("%w: truncated header", errBER)
	}
	h.class, h.compound, h.number = in[0]>>6, in[0]&0x20 != 0, int(in[0]&0x1f)
	i := 1
	if h.number == 0x1f { // high tag number form, X.690 section 8.1.2.4
		h.number = 0
		for {
			if i >= len(in) || i > 4 {
				return h, fmt.Errorf("%w: bad tag", errBER)
			}
			c := in[i]
			i++
			h.number = h.number<<7 | int(c&0x7f)
			if c&0x80 == 0 {
				break
			}
		}
	}
	h.tag = in[:i]
	n, size, err := readBERLength(in[i:], h.compound)
	h.length, h.headerSize = n, i+size
	return h, err
}

func readBERLength(in []byte, compound bool) (length, size int, err error) {
	if len(in) == 0 {
		return 0, 0, fmt.Errorf("%w: truncated length", errBER)
	}
	b := in[0]
	switch {
	case b < 0x80:
		return int(b), 1, nil
	case b == 0x80 && compound:
		return -1, 1, nil
	case b == 0x80 || b > 0x84 || len(in) < 1+int(b&0x7f):
		return 0, 0, fmt.Errorf("%w: bad length", errBER)
	}
	for _, c := range in[1 : 1+int(b&0x7f)] {
		length = length<<8 | int(c)
	}
	if length < 0 || length > 1<<28 {
		return 0, 0, fmt.Errorf("%w: length out of range", errBER)
	}
	return length, 1 + int(b&0x7f), nil
}

// berElement converts the element at the start of in and returns the
// bytes after it.
func berElement(in []byte, depth int) (out, rest []byte, err error) {
	if depth > maxBERDepth {
		return nil, nil, fmt.Errorf("%w: nested too deep", errBER)
	}
	h, err := readBERHeader(in)
	if err != nil {
		return nil, nil, err
	}
	body := in[h.headerSize:]
	if !h.compound {
		if h.length > len(body) {
			return nil, nil, fmt.Errorf("%w: truncated content", errBER)
		}
		return derTLV(h.tag, body[:h.length]), body[h.length:], nil
	}
	children, rest, err := berChildren(body, h.length, depth)
	if err != nil {
		return nil, nil, err
	}
	if h.class == 0 && isStringTag(h.number) {
		joined, err := joinChunks(children, h.number)
		if err != nil {
			return nil, nil, err
		}
		return derTLV([]byte{byte(h.number)}, joined), rest, nil
	}
	return derTLV(h.tag, concat(children)), rest, nil
}

// berChildren converts the contents of a constructed element, definite
// (length >= 0) or ended by an end-of-contents marker.
func berChildren(body []byte, length, depth int) (children [][]byte, rest []byte, err error) {
	content := body
	if length >= 0 {
		if length > len(body) {
			return nil, nil, fmt.Errorf("%w: truncated content", errBER)
		}
		content, rest = body[:length], body[length:]
	}
	for {
		if length < 0 && len(content) >= 2 && content[0] == 0 && content[1] == 0 {
			return children, content[2:], nil
		}
		if len(content) == 0 {
			if length < 0 {
				return nil, nil, fmt.Errorf("%w: missing end-of-contents", errBER)
			}
			return children, rest, nil
		}
		var child []byte
		child, content, err = berElement(content, depth+1)
		if err != nil {
			return nil, nil, err
		}
		children = append(children, child)
	}
}

// isStringTag reports universal tags whose constructed form is a chunked
// string: OCTET STRING and the character string types. BIT STRING is left
// out, since joining it needs unused-bit handling and PKCS#12 never
// chunks one.
func isStringTag(n int) bool {
	switch n {
	case 4, 12, 18, 19, 20, 21, 22, 25, 26, 27, 28, 30:
		return true
	}
	return false
}

// joinChunks concatenates the contents of DER chunks of universal tag n.
func joinChunks(chunks [][]byte, n int) ([]byte, error) {
	var joined []byte
	for _, c := range chunks {
		h, err := readBERHeader(c)
		if err != nil || h.class != 0 || h.number != n || h.compound {
			return nil, fmt.Errorf("%w: bad string chunk", errBER)
		}
		joined = append(joined, c[h.headerSize:]...)
	}
	return joined, nil
}

func concat(parts [][]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// derTLV encodes tag, minimal definite length and content.
func derTLV(tag, content []byte) []byte {
	out := append([]byte{}, tag...)
	n := len(content)
	switch {
	case n < 0x80:
		out = append(out, byte(n))
	default:
		var lb []byte
		for ; n > 0; n >>= 8 {
			lb = append([]byte{byte(n)}, lb...)
		}
		out = append(out, 0x80|byte(len(lb)))
		out = append(out, lb...)
	}
	return append(out, content...)
}
