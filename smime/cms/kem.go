package cms

import (
	"crypto"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"fmt"
	"hash"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// KEM recipients (RFC 9629): KEMRecipientInfo in an OtherRecipientInfo
// of type id-ori-kem. With ML-KEM (RFC 9936) the private key is any
// crypto.Decapsulator, such as *mlkem.DecapsulationKey768 or a key in a
// hardware module.

// RFC 8619 section 2: HKDF key derivation algorithms, parameters absent.
var (
	oidHKDFSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 3, 28}
	oidHKDFSHA384 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 3, 29}
	oidHKDFSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 3, 30}
)

// kemDetail is the part of KEMRecipientInfo (RFC 9629 section 3) after
// rid and kem.
type kemDetail struct {
	kemct     []byte
	kdf       algorithm
	kekLength int64
	ukm       []byte // nil when absent
	wrap      algorithm
}

// readKEMRecipient reads KEMRecipientInfo after its version.
func readKEMRecipient(s cryptobyte.String) (Recipient, bool) {
	r := Recipient{Type: KEM}
	d := &kemDetail{}
	var ok, hasUKM bool
	var ukm cryptobyte.String
	if r.ID, ok = readRecipientID(&s); !ok {
		return r, false
	}
	if r.keyAlg, ok = readAlgorithm(&s); !ok ||
		!s.ReadASN1Bytes(&d.kemct, cbasn1.OCTET_STRING) {
		return r, false
	}
	if d.kdf, ok = readAlgorithm(&s); !ok || !s.ReadASN1Integer(&d.kekLength) ||
		!s.ReadOptionalASN1(&ukm, &hasUKM, cbasn1.Tag(0).ContextSpecific().Constructed()) {
		return r, false
	}
	if hasUKM && (!ukm.ReadASN1Bytes(&d.ukm, cbasn1.OCTET_STRING) || !ukm.Empty()) {
		return r, false
	}
	if hasUKM {
		d.ukm = nonNil(d.ukm)
	}
	if d.wrap, ok = readAlgorithm(&s); !ok ||
		!s.ReadASN1Bytes(&r.encryptedKey, cbasn1.OCTET_STRING) || !s.Empty() {
		return r, false
	}
	r.detail = d
	r.KeyAlgorithm = oidName(r.keyAlg.oid)
	return r, true
}

// kemCiphertextLen is the ciphertext size of each KEM we decapsulate
// (FIPS 203 section 8, table 3).
func kemCiphertextLen(oid asn1.ObjectIdentifier) (int, bool) {
	switch {
	case oid.Equal(oidMLKEM768):
		return 1088, true
	case oid.Equal(oidMLKEM1024):
		return 1568, true
	}
	return 0, false
}

// unwrapKEM decapsulates the shared secret, derives the KEK from it and
// CMSORIforKEMOtherInfo (RFC 9629 section 5) and unwraps the content key.
func unwrapKEM(r *Recipient, key crypto.PrivateKey, keyLen int) ([]byte, error) {
	d, ok := r.detail.(*kemDetail)
	if !ok {
		return nil, malformed("kem recipient")
	}
	ctLen, ok := kemCiphertextLen(r.keyAlg.oid)
	if !ok {
		return nil, unsupported("kem", r.KeyAlgorithm)
	}
	newHash, err := hkdfHash(d.kdf)
	if err != nil {
		return nil, err
	}
	n, err := wrapKeyLen(d.wrap)
	if err != nil {
		return nil, err
	}
	if d.kekLength != int64(n) {
		return nil, malformed("kekLength differs from the key wrap")
	}
	dec, ok := key.(crypto.Decapsulator)
	if !ok {
		return nil, unsupported("private key", fmt.Sprintf("%T for a KEM recipient", key))
	}
	if len(d.kemct) != ctLen {
		return nil, ErrDecrypt
	}
	ss, err := dec.Decapsulate(d.kemct)
	if err != nil {
		return nil, ErrDecrypt
	}
	defer clear(ss)
	kek, err := hkdf.Key(newHash, ss, nil, string(kemOtherInfo(d.wrap, n, d.ukm)), n)
	if err != nil {
		return nil, ErrDecrypt
	}
	defer clear(kek)
	return unwrapCEK(kek, r.encryptedKey, keyLen)
}

func hkdfHash(alg algorithm) (func() hash.Hash, error) {
	var h func() hash.Hash
	switch {
	case alg.oid.Equal(oidHKDFSHA256):
		h = sha256.New
	case alg.oid.Equal(oidHKDFSHA384):
		h = sha512.New384
	case alg.oid.Equal(oidHKDFSHA512):
		h = sha512.New
	default:
		return nil, unsupported("key derivation", oidName(alg.oid))
	}
	if alg.params != nil {
		return nil, malformed("hkdf parameters")
	}
	return h, nil
}

// kemOtherInfo encodes CMSORIforKEMOtherInfo (RFC 9629 section 5).
func kemOtherInfo(wrap algorithm, kekLen int, ukm []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addAlgorithm(b, wrap)
		b.AddASN1Int64(int64(kekLen))
		if ukm != nil {
			b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1OctetString(ukm)
			})
		}
	})
	return b.BytesOrPanic()
}
