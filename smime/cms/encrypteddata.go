package cms

import (
	"encoding/asn1"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// DecryptEncryptedData opens a ContentInfo holding EncryptedData (RFC
// 5652 section 8): content encrypted directly under a key agreed out of
// band, with no recipient information. A wrong key is ErrDecrypt.
func DecryptEncryptedData(ber, key []byte, limits Limits) (content []byte, err error) {
	defer guard(&err)
	return decryptEncryptedData(ber, key, limits.withDefaults())
}

// decryptEncryptedData is DecryptEncryptedData without the guard, for the
// fuzz tests.
func decryptEncryptedData(ber, key []byte, limits Limits) ([]byte, error) {
	in, err := normalize(ber, limits)
	if err != nil {
		return nil, err
	}
	s := cryptobyte.String(in)
	var ci, inner, ed cryptobyte.String
	var ctype asn1.ObjectIdentifier
	var version int64
	if !s.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.ReadASN1ObjectIdentifier(&ctype) ||
		!ci.ReadASN1(&inner, cbasn1.Tag(0).ContextSpecific().Constructed()) || !ci.Empty() {
		return nil, malformed("content info")
	}
	if !ctype.Equal(oidEncryptedData) {
		return nil, unsupported("content type", oidName(ctype))
	}
	if !inner.ReadASN1(&ed, cbasn1.SEQUENCE) || !inner.Empty() || !ed.ReadASN1Integer(&version) {
		return nil, malformed("encrypted-data")
	}
	e := &Envelope{Kind: KindEnveloped, maxInflate: limits.MaxDecompressedBytes}
	if err := e.parseContentInfo(&ed); err != nil {
		return nil, err
	}
	if !ed.SkipOptionalASN1(cbasn1.Tag(1).ContextSpecific().Constructed()) || !ed.Empty() {
		return nil, malformed("encrypted-data trailer")
	}
	switch {
	case e.cipherErr != nil:
		return nil, e.cipherErr
	case e.detached:
		return nil, unsupported("content", "detached encrypted content")
	}
	return e.decryptContent(key)
}
