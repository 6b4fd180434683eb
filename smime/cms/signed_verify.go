package cms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// ErrVerify means a signature does not hold: the content or the signed
// attributes were changed, or the signature was not made with the key
// given. Unlike the other sentinels it is a finding about the message.
// ErrDigestMismatch and ErrBadSignature match it with errors.Is.
var ErrVerify = errors.New("cms: signature does not verify")

// Finer kinds of ErrVerify.
var (
	// ErrDigestMismatch: the message-digest attribute differs from the
	// digest of the content, i.e. the content was altered after signing.
	ErrDigestMismatch error = &subError{"cms: signed content was altered", ErrVerify}
	// ErrBadSignature: the signature value does not match the signer's key
	// over the signed bytes.
	ErrBadSignature error = &subError{"cms: signature value does not match the key", ErrVerify}
	// ErrNoContent: the SignedData holds no content and none was given.
	ErrNoContent error = &subError{"cms: no content to verify", ErrMalformed}
)

// subError is a sentinel that also matches its parent with errors.Is.
type subError struct {
	msg    string
	parent error
}

func (e *subError) Error() string { return e.msg }
func (e *subError) Unwrap() error { return e.parent }

func verifyError(why string) error { return fmt.Errorf("%w: %s", ErrVerify, why) }

// Verify checks the signature of si, one of sd.Signers, with the public
// key of cert (RFC 5652 section 5.6). content is the detached content of
// a multipart/signed message; nil means the encapsulated sd.Content.
//
// It checks only the signature: whether cert is trusted, valid and
// allowed to sign is the caller's business. A nil error means the
// signature holds. Errors: ErrVerify (with ErrDigestMismatch or
// ErrBadSignature) when it does not, ErrUnsupported for an algorithm not
// implemented, ErrMalformed (ErrNoContent) when there is nothing to check.
func (sd *SignedData) Verify(si *Signer, cert *x509.Certificate, content []byte) (err error) {
	defer guard(&err)
	return sd.verify(si, cert, content)
}

func (sd *SignedData) verify(si *Signer, cert *x509.Certificate, content []byte) error {
	if si.digestErr != nil {
		return si.digestErr
	}
	if si.sigErr != nil {
		return si.sigErr
	}
	if content == nil {
		content = sd.Content
	}
	if content == nil {
		return ErrNoContent
	}
	h := si.digest.hash.New()
	h.Write(content)
	digest := h.Sum(nil)

	signed, hashed := content, digest
	if si.SignedAttributes {
		if err := sd.checkAttributes(si, digest); err != nil {
			return err
		}
		h.Reset()
		h.Write(si.attrsDER)
		signed, hashed = si.attrsDER, h.Sum(nil)
	} else if !sd.contentType.Equal(oidData) {
		// Section 5.3: signedAttrs MUST be present unless the content is
		// id-data, so that the content type is signed too.
		return verifyError("no signed attributes for a content type other than data")
	}
	return si.checkSignature(cert, signed, hashed)
}

// checkAttributes applies section 5.6 and 11.1: the content-type attribute
// must name eContentType, and message-digest must equal the digest
// (compared in constant time; it is not secret, but it costs nothing).
func (sd *SignedData) checkAttributes(si *Signer, digest []byte) error {
	if si.attrErr != nil {
		return si.attrErr
	}
	if !si.attrType.Equal(sd.contentType) {
		return verifyError("content-type attribute differs from the content type")
	}
	if subtle.ConstantTimeCompare(si.messageDigest, digest) != 1 {
		return ErrDigestMismatch
	}
	return nil
}

// checkSignature verifies the signature value over signed (whose digest
// under the signer's digest algorithm is hashed).
func (si *Signer) checkSignature(cert *x509.Certificate, signed, hashed []byte) error {
	if cert == nil {
		return fmt.Errorf("%w: no certificate", ErrBadSignature)
	}
	var ok bool
	switch si.sigKind {
	case sigRSA:
		pub, isRSA := cert.PublicKey.(*rsa.PublicKey)
		ok = isRSA && rsa.VerifyPKCS1v15(pub, si.digest.hash, hashed, si.signature) == nil
	case sigPSS:
		pub, isRSA := cert.PublicKey.(*rsa.PublicKey)
		if !isRSA {
			break
		}
		opts, err := si.pssOptions()
		if err != nil {
			return err
		}
		ok = rsa.VerifyPSS(pub, si.digest.hash, hashed, si.signature, opts) == nil
	case sigECDSA:
		pub, isEC := cert.PublicKey.(*ecdsa.PublicKey)
		ok = isEC && ecdsa.VerifyASN1(pub, hashed, si.signature)
	case sigEd25519:
		// RFC 8419 section 3.1: pure Ed25519 over the signed bytes.
		pub, isEd := cert.PublicKey.(ed25519.PublicKey)
		ok = isEd && ed25519.Verify(pub, signed, si.signature)
	}
	if !ok {
		return ErrBadSignature
	}
	return nil
}

// pssOptions reads RSASSA-PSS-params (RFC 4055 section 3.1; RFC 4056 for
// CMS). Go's VerifyPSS uses one hash for the message and MGF1, so other
// combinations are unsupported; they are not seen in practice.
func (si *Signer) pssOptions() (*rsa.PSSOptions, error) {
	hash, mgfHash, salt, err := parsePSSParams(si.sigParams)
	if err != nil {
		return nil, err
	}
	if hash != si.digest.hash || mgfHash != hash {
		return nil, unsupported("signature algorithm", "rsa-pss with mixed hashes")
	}
	return &rsa.PSSOptions{SaltLength: salt, Hash: hash}, nil
}

// parsePSSParams returns the hash, MGF1 hash and salt length, applying
// the defaults (SHA-1, MGF1-SHA-1, 20).
func parsePSSParams(params []byte) (hash, mgfHash crypto.Hash, salt int, err error) {
	hash, mgfHash, salt = crypto.SHA1, crypto.SHA1, 20
	bad := malformed("rsa-pss parameters")
	if len(params) == 0 {
		return hash, mgfHash, salt, nil
	}
	s := cryptobyte.String(params)
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() {
		return 0, 0, 0, bad
	}
	var ok bool
	if hash, ok = readPSSHash(&seq, 0, hash); !ok {
		return 0, 0, 0, bad
	}
	if mgfHash, ok = readMGF(&seq, mgfHash); !ok {
		return 0, 0, 0, bad
	}
	var saltEl cryptobyte.String
	var present bool
	tag2 := cbasn1.Tag(2).ContextSpecific().Constructed()
	if !seq.ReadOptionalASN1(&saltEl, &present, tag2) {
		return 0, 0, 0, bad
	}
	if present {
		var n int64
		if !saltEl.ReadASN1Integer(&n) || n < 0 || n > 1<<16 {
			return 0, 0, 0, bad
		}
		salt = int(n)
	}
	// trailerField [3] must be 1 (trailerFieldBC) when present; skip it.
	if !seq.SkipOptionalASN1(cbasn1.Tag(3).ContextSpecific().Constructed()) || !seq.Empty() {
		return 0, 0, 0, bad
	}
	return hash, mgfHash, salt, nil
}

// readPSSHash reads an optional [n] EXPLICIT hash AlgorithmIdentifier.
func readPSSHash(seq *cryptobyte.String, n int, def crypto.Hash) (crypto.Hash, bool) {
	var el cryptobyte.String
	var present bool
	if !seq.ReadOptionalASN1(&el, &present, cbasn1.Tag(n).ContextSpecific().Constructed()) {
		return 0, false
	}
	if !present {
		return def, true
	}
	alg, ok := readAlgorithm(&el)
	if !ok || !el.Empty() {
		return 0, false
	}
	d, ok := digestByOID(alg.oid)
	return d.hash, ok
}

// readMGF reads the optional [1] maskGenAlgorithm, which must be MGF1.
func readMGF(seq *cryptobyte.String, def crypto.Hash) (crypto.Hash, bool) {
	var el cryptobyte.String
	var present bool
	if !seq.ReadOptionalASN1(&el, &present, cbasn1.Tag(1).ContextSpecific().Constructed()) {
		return 0, false
	}
	if !present {
		return def, true
	}
	alg, ok := readAlgorithm(&el)
	if !ok || !el.Empty() || !alg.oid.Equal(oidMGF1) {
		return 0, false
	}
	inner := cryptobyte.String(alg.params)
	hashAlg, ok := readAlgorithm(&inner)
	if !ok {
		return 0, false
	}
	d, ok := digestByOID(hashAlg.oid)
	return d.hash, ok
}

// EContentType returns eContentType as an OID, for callers that need more
// than its name.
func (sd *SignedData) EContentType() asn1.ObjectIdentifier {
	return append(asn1.ObjectIdentifier(nil), sd.contentType...)
}
