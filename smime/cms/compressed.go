package cms

import (
	"bytes"
	"compress/zlib"
	"encoding/asn1"
	"errors"
	"io"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// CompressedData (RFC 3274): zlib-compressed content, either as the
// outer ContentInfo (Decompress) or as the content of an envelope, which
// Decrypt then decompresses.

// oidZlib is id-alg-zlibCompress (RFC 3274 section 2).
var oidZlib = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 3, 8}

// Decompress opens a ContentInfo holding CompressedData, in DER or BER,
// and returns the uncompressed content. Output beyond
// limits.MaxDecompressedBytes is ErrLimit; a corrupt zlib stream is
// ErrMalformed; another compression algorithm is ErrUnsupported.
func Decompress(ber []byte, limits Limits) (content []byte, err error) {
	defer guard(&err)
	return decompress(ber, limits.withDefaults())
}

// decompress is Decompress without the guard, for the fuzz tests.
func decompress(ber []byte, limits Limits) ([]byte, error) {
	in, err := normalize(ber, limits)
	if err != nil {
		return nil, err
	}
	s := cryptobyte.String(in)
	var ci, inner cryptobyte.String
	var ctype asn1.ObjectIdentifier
	if !s.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.ReadASN1ObjectIdentifier(&ctype) ||
		!ci.ReadASN1(&inner, cbasn1.Tag(0).ContextSpecific().Constructed()) || !ci.Empty() {
		return nil, malformed("content info")
	}
	if !ctype.Equal(oidCompressedData) {
		return nil, unsupported("content type", oidName(ctype))
	}
	return decompressData(inner, limits.MaxDecompressedBytes)
}

// decompressData reads CompressedData (RFC 3274 section 1.1), DER, and
// inflates its eContent.
func decompressData(der []byte, max int) ([]byte, error) {
	s := cryptobyte.String(der)
	var cd, eci, explicit cryptobyte.String
	var version int64
	var ctype asn1.ObjectIdentifier
	var hasContent bool
	if !s.ReadASN1(&cd, cbasn1.SEQUENCE) || !s.Empty() || !cd.ReadASN1Integer(&version) {
		return nil, malformed("compressed-data")
	}
	alg, ok := readAlgorithm(&cd)
	if !ok || !cd.ReadASN1(&eci, cbasn1.SEQUENCE) || !cd.Empty() ||
		!eci.ReadASN1ObjectIdentifier(&ctype) ||
		!eci.ReadOptionalASN1(&explicit, &hasContent,
			cbasn1.Tag(0).ContextSpecific().Constructed()) || !eci.Empty() {
		return nil, malformed("compressed-data")
	}
	if !alg.oid.Equal(oidZlib) {
		return nil, unsupported("compression", oidName(alg.oid))
	}
	var data []byte
	if !hasContent || !explicit.ReadASN1Bytes(&data, cbasn1.OCTET_STRING) || !explicit.Empty() {
		return nil, malformed("compressed content")
	}
	return inflate(data, max)
}

// inflate decompresses a zlib stream (RFC 1950) into at most max bytes.
func inflate(data []byte, max int) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, malformed("zlib stream")
	}
	defer zr.Close()
	var out bytes.Buffer
	n, err := io.Copy(&out, io.LimitReader(zr, int64(max)+1))
	switch {
	case n > int64(max):
		return nil, overLimit("decompressed content larger than %d bytes", max)
	case err != nil && !errors.Is(err, io.EOF):
		return nil, malformed("zlib stream")
	}
	return out.Bytes(), nil
}
