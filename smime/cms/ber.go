package cms

// BER to DER normalisation (X.690 sections 8 and 10). Outlook and
// `openssl cms -stream` write indefinite lengths and OCTET STRINGs cut into
// chunks; the parsers in this package read DER only, so input is rewritten
// first. Input that is already DER is returned as is, without a copy.
//
// The rewrite makes every length definite and minimal and joins constructed
// universal strings into one primitive string. It does not sort SET OF
// members, and it keeps constructed context-specific elements as they are:
// whether such an element is an IMPLICIT string is known only to the parser
// of the enclosing structure (see encryptedContent in envelope.go).

// berHeader is one identifier and length (X.690 sections 8.1.2 and 8.1.3).
type berHeader struct {
	tag         []byte // identifier octets as in the input
	constructed bool
	indefinite  bool
	length      int  // content length when definite
	size        int  // identifier plus length octets
	minimal     bool // the length is in DER form (X.690 section 10.1)
}

const maxTagOctets = 5

func readHeader(b []byte) (berHeader, error) {
	var h berHeader
	if len(b) < 2 {
		return h, malformed("truncated element")
	}
	i := 1
	if b[0]&0x1f == 0x1f {
		for {
			if i >= len(b) || i >= maxTagOctets {
				return h, malformed("bad tag")
			}
			i++
			if b[i-1]&0x80 == 0 {
				break
			}
		}
	}
	h.tag = b[:i]
	h.constructed = b[0]&0x20 != 0
	if i >= len(b) {
		return h, malformed("truncated element")
	}
	return readLength(b, i, h)
}

func readLength(b []byte, i int, h berHeader) (berHeader, error) {
	l := b[i]
	i++
	switch {
	case l < 0x80:
		h.length, h.minimal = int(l), true
	case l == 0x80:
		if !h.constructed {
			return h, malformed("indefinite length on a primitive element")
		}
		h.indefinite = true
	default:
		n := int(l & 0x7f)
		if n > 4 || i+n > len(b) {
			return h, malformed("declared length exceeds input")
		}
		for _, c := range b[i : i+n] {
			h.length = h.length<<8 | int(c)
		}
		h.minimal = h.length >= 0x80 && b[i] != 0
		i += n
	}
	h.size = i
	// Reject before anything is allocated for it: a 2 GB length in a
	// 1 KB message is an attack or garbage, never a message.
	if !h.indefinite && h.length > len(b)-i {
		return h, malformed("declared length exceeds input")
	}
	return h, nil
}

// isStringTag reports whether a constructed element with this first
// identifier octet is a universal string type that DER stores primitive.
// BIT STRING is left alone: joining it needs its unused-bits octets, and
// CMS envelopes do not chunk it.
func isStringTag(first byte) bool {
	if first&0xc0 != 0 {
		return false
	}
	switch first & 0x1f {
	case 4, 12, 18, 19, 20, 21, 22, 25, 26, 27, 28, 30:
		return true
	}
	return false
}

func lengthSize(n int) int {
	size := 1
	if n >= 0x80 {
		for ; n > 0; n >>= 8 {
			size++
		}
	}
	return size
}

func appendLength(dst []byte, n int) []byte {
	if n < 0x80 {
		return append(dst, byte(n))
	}
	size := lengthSize(n) - 1
	dst = append(dst, 0x80|byte(size))
	for i := size - 1; i >= 0; i-- {
		dst = append(dst, byte(n>>(8*i)))
	}
	return dst
}

// normalizer walks a BER element twice: measure computes the DER content
// length of every constructed element (recorded in pre-order), and emit
// writes the DER using those lengths. Memory is one int per constructed
// element, and only when the input is not DER already.
type normalizer struct {
	maxDepth int
	record   bool
	lens     []int
	next     int
	dirty    bool // the DER form differs from the input
}

// measured is what measure learns about one element.
type measured struct {
	in      int // bytes it takes in the input
	content int // length of its DER contents
	der     int // length of its DER encoding
}

// eachChild calls fn for every element in the contents of the element with
// header h at b, stopping at the end of the contents or at end-of-contents
// octets. fn returns how many input bytes the child took. It returns the
// input size of the whole element.
func eachChild(b []byte, h berHeader, fn func(child []byte) (int, error)) (int, error) {
	body := b[h.size:]
	if !h.indefinite {
		body = body[:h.length]
	}
	pos := 0
	for {
		if h.indefinite {
			if len(body)-pos < 2 {
				return 0, malformed("missing end-of-contents")
			}
			if body[pos] == 0 && body[pos+1] == 0 {
				return h.size + pos + 2, nil
			}
		} else if pos == len(body) {
			return h.size + pos, nil
		}
		n, err := fn(body[pos:])
		if err != nil {
			return 0, err
		}
		pos += n
	}
}

func (n *normalizer) measure(b []byte, depth int) (measured, error) {
	h, err := readHeader(b)
	if err != nil {
		return measured{}, err
	}
	if b[0] == 0 {
		return measured{}, malformed("unexpected end-of-contents")
	}
	if !h.minimal {
		n.dirty = true
	}
	if !h.constructed {
		return n.result(h, h.size+h.length, h.length), nil
	}
	if depth >= n.maxDepth {
		return measured{}, overLimit("nesting deeper than %d", n.maxDepth)
	}
	slot := len(n.lens)
	if n.record {
		n.lens = append(n.lens, 0)
	}
	join := isStringTag(b[0])
	if join {
		n.dirty = true
	}
	total := 0
	in, err := eachChild(b, h, func(child []byte) (int, error) {
		if join && child[0]&^0x20 != b[0]&^0x20 {
			return 0, malformed("string chunk of another type")
		}
		m, err := n.measure(child, depth+1)
		if join {
			total += m.content
		} else {
			total += m.der
		}
		return m.in, err
	})
	if err != nil {
		return measured{}, err
	}
	if n.record {
		n.lens[slot] = total
	}
	return n.result(h, in, total), nil
}

func (n *normalizer) result(h berHeader, in, content int) measured {
	tagLen := len(h.tag)
	if h.constructed && isStringTag(h.tag[0]) {
		tagLen = 1
	}
	return measured{in: in, content: content, der: tagLen + lengthSize(content) + content}
}

// emit appends the DER form of the element at b, which measure has
// accepted, and returns the input bytes it took.
func (n *normalizer) emit(dst, b []byte) ([]byte, int) {
	h, _ := readHeader(b)
	if !h.constructed {
		dst = append(dst, h.tag...)
		dst = appendLength(dst, h.length)
		return append(dst, b[h.size:h.size+h.length]...), h.size + h.length
	}
	content := n.lens[n.next]
	n.next++
	join := isStringTag(b[0])
	if join {
		dst = append(dst, b[0]&^0x20)
	} else {
		dst = append(dst, h.tag...)
	}
	dst = appendLength(dst, content)
	in, _ := eachChild(b, h, func(child []byte) (int, error) {
		var used int
		if join {
			dst, used = n.emitChunks(dst, child)
		} else {
			dst, used = n.emit(dst, child)
		}
		return used, nil
	})
	return dst, in
}

// emitChunks appends only the contents of a string chunk, recursing into
// constructed chunks.
func (n *normalizer) emitChunks(dst, b []byte) ([]byte, int) {
	h, _ := readHeader(b)
	if !h.constructed {
		return append(dst, b[h.size:h.size+h.length]...), h.size + h.length
	}
	n.next++
	in, _ := eachChild(b, h, func(child []byte) (int, error) {
		var used int
		dst, used = n.emitChunks(dst, child)
		return used, nil
	})
	return dst, in
}

// normalize returns the DER form of the single element in in. Trailing
// zero bytes (padding some encoders add) are ignored; other trailing data
// is an error.
func normalize(in []byte, limits Limits) ([]byte, error) {
	if len(in) > limits.MaxInputBytes {
		return nil, overLimit("input of %d bytes, limit %d", len(in), limits.MaxInputBytes)
	}
	n := &normalizer{maxDepth: limits.MaxNestingDepth}
	m, err := n.measure(in, 0)
	if err != nil {
		return nil, err
	}
	for _, c := range in[m.in:] {
		if c != 0 {
			return nil, malformed("trailing data")
		}
	}
	if !n.dirty {
		return in[:m.in:m.in], nil
	}
	n = &normalizer{maxDepth: limits.MaxNestingDepth, record: true}
	if _, err := n.measure(in, 0); err != nil {
		return nil, err
	}
	out, _ := n.emit(make([]byte, 0, m.der), in)
	return out, nil
}

// NormalizeBER returns the DER encoding of the one BER element in ber,
// within limits (zero fields take DefaultLimits). Lengths become definite
// and minimal and chunked strings are joined; SET OF members keep their
// order. When ber is DER already, the result shares its memory.
func NormalizeBER(ber []byte, limits Limits) (der []byte, err error) {
	defer guard(&err)
	return normalize(ber, limits.withDefaults())
}
