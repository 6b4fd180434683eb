package cms

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"fmt"
	"hash"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Key agreement recipients (RFC 5652 section 6.2.2): ephemeral-static
// ECDH on P-256, P-384 and P-521 (RFC 5753, RFC 3565 key wrap) and on
// X25519 (RFC 8418).
//
// The private key is an *ecdsa.PrivateKey (as PKCS #8 files hold EC keys)
// or any ecdh.KeyExchanger, which covers *ecdh.PrivateKey (X25519) and
// keys kept in a hardware module.
//
// TODO(x448): X448 (RFC 8418) needs an X448 implementation; crypto/ecdh
// has none, so such recipients report ErrUnsupported.

// kdfKind is how the shared secret becomes the key-encryption key.
type kdfKind int

const (
	kdfX963 kdfKind = iota + 1 // ANSI X9.63 KDF, RFC 5753 section 7.2
	kdfHKDF                    // HKDF (RFC 5869), RFC 8418 section 2.2
)

// agreeScheme is one keyEncryptionAlgorithm of a key agreement recipient.
// The cofactor variants are the standard ones here: every curve we accept
// has cofactor 1 (P-256/384/521), or clears it in the function (X25519).
type agreeScheme struct {
	kdf  kdfKind
	hash crypto.Hash
}

var (
	oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidX25519      = asn1.ObjectIdentifier{1, 3, 101, 110}
	oidX448        = asn1.ObjectIdentifier{1, 3, 101, 111}
	oidP256        = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidP384        = asn1.ObjectIdentifier{1, 3, 132, 0, 34}
	oidP521        = asn1.ObjectIdentifier{1, 3, 132, 0, 35}
	// RFC 8418 section 2.2.
	oidDHHKDFSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 3, 19}
	oidDHHKDFSHA384 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 3, 20}
	oidDHHKDFSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 3, 21}
)

// kdfHashes are the hashes of the SECG scheme arcs 0..3 (RFC 5753
// section 7.1.4), in the order of kdfHashNames.
var kdfHashes = []crypto.Hash{crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512}

// agreeSchemeFor maps a key agreement algorithm OID to its scheme.
func agreeSchemeFor(oid asn1.ObjectIdentifier) (agreeScheme, bool) {
	switch {
	case oid.Equal(oidDHStdSHA1KDF), oid.Equal(oidDHCofactorSHA1KDF):
		return agreeScheme{kdfX963, crypto.SHA1}, true
	case oid.Equal(oidDHHKDFSHA256):
		return agreeScheme{kdfHKDF, crypto.SHA256}, true
	case oid.Equal(oidDHHKDFSHA384):
		return agreeScheme{kdfHKDF, crypto.SHA384}, true
	case oid.Equal(oidDHHKDFSHA512):
		return agreeScheme{kdfHKDF, crypto.SHA512}, true
	}
	for _, prefix := range []asn1.ObjectIdentifier{oidSECGStdDHPrefix, oidSECGCofactorDHPrefix} {
		n := len(prefix)
		if len(oid) == n+1 && oid[:n].Equal(prefix) && oid[n] >= 0 && oid[n] < len(kdfHashes) {
			return agreeScheme{kdfX963, kdfHashes[oid[n]]}, true
		}
	}
	return agreeScheme{}, false
}

// keyExchanger returns the ECDH form of key.
func keyExchanger(key crypto.PrivateKey) (ecdh.KeyExchanger, error) {
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		kx, err := k.ECDH()
		if err != nil {
			return nil, unsupported("private key", "ecdsa key on a curve without ECDH")
		}
		return kx, nil
	case ecdh.KeyExchanger:
		return k, nil
	}
	return nil, unsupported("private key", fmt.Sprintf("%T for key agreement", key))
}

// unwrapKeyAgree recovers the content key of a KeyAgreeRecipientInfo
// entry: ECDH with the originator's ephemeral key, the KDF over
// ECC-CMS-SharedInfo, then AES key unwrap (RFC 5753 section 3.1.2).
func unwrapKeyAgree(r *Recipient, key crypto.PrivateKey, keyLen int) ([]byte, error) {
	d, ok := r.detail.(*keyAgreeDetail)
	if !ok {
		return nil, malformed("key agreement recipient")
	}
	scheme, ok := agreeSchemeFor(r.keyAlg.oid)
	if !ok {
		return nil, unsupported("key agreement", oidName(r.keyAlg.oid))
	}
	wrap, kekLen, err := keyAgreeWrap(r.keyAlg)
	if err != nil {
		return nil, err
	}
	kx, err := keyExchanger(key)
	if err != nil {
		return nil, err
	}
	pub, err := originatorKey(d.originator, kx.Curve())
	if err != nil {
		return nil, err
	}
	z, err := kx.ECDH(pub)
	if err != nil {
		return nil, ErrDecrypt
	}
	defer clear(z)
	kek, err := deriveKEK(scheme, z, sharedInfo(wrap, d.ukm, kekLen), d.ukm, kekLen)
	if err != nil {
		return nil, ErrDecrypt
	}
	defer clear(kek)
	return unwrapCEK(kek, r.encryptedKey, keyLen)
}

// unwrapCEK unwraps the content key and checks that it fits the content
// cipher; a key of another length is a decryption failure like any other.
func unwrapCEK(kek, wrapped []byte, keyLen int) ([]byte, error) {
	cek, err := aesUnwrap(kek, wrapped)
	if err != nil {
		return nil, err
	}
	if len(cek) != keyLen {
		clear(cek)
		return nil, ErrDecrypt
	}
	return cek, nil
}

// keyAgreeWrap reads the KeyWrapAlgorithm in the parameters of the key
// agreement algorithm (RFC 5753 section 7.1.5).
func keyAgreeWrap(alg algorithm) (algorithm, int, error) {
	s := cryptobyte.String(alg.params)
	wrap, ok := readAlgorithm(&s)
	if !ok || !s.Empty() {
		return wrap, 0, malformed("key wrap algorithm")
	}
	n, err := wrapKeyLen(wrap)
	return wrap, n, err
}

// originatorKey reads the originator's ephemeral public key, the
// [1] OriginatorPublicKey choice of OriginatorIdentifierOrKey (RFC 5652
// section 6.2.2), and checks that it is on the recipient's curve.
func originatorKey(orig []byte, curve ecdh.Curve) (*ecdh.PublicKey, error) {
	s := cryptobyte.String(orig)
	var opk cryptobyte.String
	if !s.ReadASN1(&opk, cbasn1.Tag(1).ContextSpecific().Constructed()) {
		return nil, unsupported("key agreement", "static originator key")
	}
	alg, ok := readAlgorithm(&opk)
	var bits asn1.BitString
	if !ok || !opk.ReadASN1BitString(&bits) || !opk.Empty() || bits.BitLength%8 != 0 {
		return nil, malformed("originator public key")
	}
	want, err := curveFor(alg)
	if err != nil {
		return nil, err
	}
	if want != nil && want != curve {
		return nil, ErrDecrypt
	}
	pub, err := curve.NewPublicKey(uncompressed(curve, bits.Bytes))
	if err != nil {
		return nil, ErrDecrypt
	}
	return pub, nil
}

// uncompressed turns a compressed NIST curve point (SEC 1 section 2.3.3),
// which RFC 5753 section 7.1.2 permits and crypto/ecdh does not read,
// into the uncompressed form. Anything else is returned as it is.
func uncompressed(curve ecdh.Curve, point []byte) []byte {
	var c elliptic.Curve
	switch curve {
	case ecdh.P256():
		c = elliptic.P256()
	case ecdh.P384():
		c = elliptic.P384()
	case ecdh.P521():
		c = elliptic.P521()
	default:
		return point
	}
	if len(point) == 0 || (point[0] != 2 && point[0] != 3) {
		return point
	}
	x, y := elliptic.UnmarshalCompressed(c, point)
	if x == nil {
		return point
	}
	n := (c.Params().BitSize + 7) / 8
	out := make([]byte, 1+2*n)
	out[0] = 4
	x.FillBytes(out[1 : 1+n])
	y.FillBytes(out[1+n:])
	return out
}

// curveFor maps the originator key algorithm to a curve. RFC 5753
// section 7.1.2 lets id-ecPublicKey carry no curve (the recipient's curve
// is meant) or a named curve.
func curveFor(alg algorithm) (ecdh.Curve, error) {
	switch {
	case alg.oid.Equal(oidX25519):
		return ecdh.X25519(), nil
	case alg.oid.Equal(oidX448):
		return nil, unsupported("key agreement", "x448")
	case !alg.oid.Equal(oidECPublicKey):
		return nil, unsupported("originator key", oidName(alg.oid))
	}
	s := cryptobyte.String(alg.params)
	var named asn1.ObjectIdentifier
	switch {
	case len(alg.params) == 0 || s.PeekASN1Tag(cbasn1.NULL):
		return nil, nil // the recipient's own curve, checked by the caller
	case !s.ReadASN1ObjectIdentifier(&named):
		return nil, unsupported("originator key", "explicit curve parameters")
	case named.Equal(oidP256):
		return ecdh.P256(), nil
	case named.Equal(oidP384):
		return ecdh.P384(), nil
	case named.Equal(oidP521):
		return ecdh.P521(), nil
	}
	return nil, unsupported("curve", oidName(named))
}

// sharedInfo encodes ECC-CMS-SharedInfo (RFC 5753 section 7.2, used as
// is by RFC 8418 section 2.3): the key wrap algorithm, the ukm as
// entityUInfo when present, and the KEK length in bits.
func sharedInfo(wrap algorithm, ukm []byte, kekLen int) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addAlgorithm(b, wrap)
		if ukm != nil {
			b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1OctetString(ukm)
			})
		}
		b.AddASN1(cbasn1.Tag(2).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			var bits [4]byte
			binary.BigEndian.PutUint32(bits[:], uint32(kekLen*8))
			b.AddASN1OctetString(bits[:])
		})
	})
	return b.BytesOrPanic()
}

func addAlgorithm(b *cryptobyte.Builder, alg algorithm) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(alg.oid)
		b.AddBytes(alg.params)
	})
}

// deriveKEK runs the scheme's KDF. RFC 8418 section 2.2 uses the ukm,
// when present, as the HKDF salt as well.
func deriveKEK(s agreeScheme, z, info, ukm []byte, n int) ([]byte, error) {
	if s.kdf == kdfHKDF {
		return hkdf.Key(s.hash.New, z, ukm, string(info), n)
	}
	return x963KDF(s.hash.New(), z, info, n), nil
}

// x963KDF is the ANSI X9.63 key derivation function (SEC 1 version 2
// section 3.6.1): hash(Z || counter || SharedInfo) for counter = 1, 2...
func x963KDF(h hash.Hash, z, info []byte, n int) []byte {
	out := make([]byte, 0, n+h.Size())
	var counter [4]byte
	for i := uint32(1); len(out) < n; i++ {
		binary.BigEndian.PutUint32(counter[:], i)
		h.Reset()
		h.Write(z)
		h.Write(counter[:])
		h.Write(info)
		out = h.Sum(out)
	}
	clear(out[n:cap(out)])
	return out[:n]
}

// CertificateECDHKey returns the key agreement public key of cert: an
// ECDSA key on P-256, P-384 or P-521, or an X25519 key (RFC 8410), which
// crypto/x509 leaves unparsed.
func CertificateECDHKey(cert *x509.Certificate) (*ecdh.PublicKey, error) {
	if k, ok := cert.PublicKey.(*ecdsa.PublicKey); ok {
		pub, err := k.ECDH()
		if err != nil {
			return nil, unsupported("certificate key", k.Curve.Params().Name)
		}
		return pub, nil
	}
	s := cryptobyte.String(cert.RawSubjectPublicKeyInfo)
	var spki cryptobyte.String
	var bits asn1.BitString
	if !s.ReadASN1(&spki, cbasn1.SEQUENCE) {
		return nil, malformed("subject public key info")
	}
	alg, ok := readAlgorithm(&spki)
	if !ok || !spki.ReadASN1BitString(&bits) || !spki.Empty() || bits.BitLength%8 != 0 {
		return nil, malformed("subject public key info")
	}
	if !alg.oid.Equal(oidX25519) || alg.params != nil {
		return nil, unsupported("certificate key", oidName(alg.oid))
	}
	pub, err := ecdh.X25519().NewPublicKey(bits.Bytes)
	if err != nil {
		return nil, malformed("x25519 public key")
	}
	return pub, nil
}
