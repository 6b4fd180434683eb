package cms

import (
	"crypto"
	"encoding/asn1"

	// Registered so that crypto.MD5 is available to verify old signatures;
	// whether MD5 is acceptable is the caller's policy.
	_ "crypto/md5"
	_ "crypto/sha1"
	_ "crypto/sha256"
	_ "crypto/sha512"
)

// Object identifiers for SignedData. They live here rather than in oids.go
// so that the signature side can grow without touching the envelope side.
var (
	// RFC 5652 section 11: signed attributes.
	oidAttrContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidAttrMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidAttrSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}

	// RFC 8017 appendix A and RFC 4055: RSA signatures.
	oidSigMD5WithRSA    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 4}
	oidSigSHA1WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}
	oidSigRSAPSS        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidSigSHA256WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSigSHA384WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSigSHA512WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidSigSHA224WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 14}

	// RFC 5758 section 3.2 and RFC 5753 section 7.1.3: ECDSA.
	oidSigECPublicKey     = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidSigECDSAWithSHA1   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 1}
	oidSigECDSAWithSHA224 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 1}
	oidSigECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidSigECDSAWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidSigECDSAWithSHA512 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}

	// RFC 8419 section 2.3 / RFC 8410: Ed25519.
	oidSigEd25519 = asn1.ObjectIdentifier{1, 3, 101, 112}

	// RFC 3370 section 2.1 / RFC 1321: MD5.
	oidSigMD5 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 5}
)

// digestSpec names a digest algorithm (RFC 5652 section 10.1.1).
type digestSpec struct {
	oid  asn1.ObjectIdentifier
	name string
	hash crypto.Hash
}

var digestSpecs = []digestSpec{
	{oidSHA256, "sha256", crypto.SHA256},
	{oidSHA384, "sha384", crypto.SHA384},
	{oidSHA512, "sha512", crypto.SHA512},
	{oidSHA224, "sha224", crypto.SHA224},
	{oidSHA1, "sha1", crypto.SHA1},
	{oidSigMD5, "md5", crypto.MD5},
}

func digestByOID(oid asn1.ObjectIdentifier) (digestSpec, bool) {
	for _, d := range digestSpecs {
		if d.oid.Equal(oid) {
			return d, true
		}
	}
	return digestSpec{}, false
}

// sigKind is the family of a signature algorithm.
type sigKind int

const (
	sigRSA sigKind = iota + 1 // RSASSA-PKCS1-v1_5
	sigPSS                    // RSASSA-PSS, RFC 4056
	sigECDSA
	sigEd25519
)

var sigKindNames = map[sigKind]string{
	sigRSA:     "rsa-pkcs1v15",
	sigPSS:     "rsa-pss",
	sigECDSA:   "ecdsa",
	sigEd25519: "ed25519",
}

// sigSpec maps a signatureAlgorithm OID to its family. The hash named in
// the OID (sha256WithRSAEncryption...) is not used: RFC 5652 section 5.4
// digests with the signer's digestAlgorithm, and the PKCS #1 DigestInfo
// inside an RSA signature names the hash again, so a mismatch fails there.
var sigSpecs = []struct {
	oid  asn1.ObjectIdentifier
	kind sigKind
}{
	{oidRSAEncryption, sigRSA},
	{oidSigSHA256WithRSA, sigRSA},
	{oidSigSHA384WithRSA, sigRSA},
	{oidSigSHA512WithRSA, sigRSA},
	{oidSigSHA224WithRSA, sigRSA},
	{oidSigSHA1WithRSA, sigRSA},
	{oidSigMD5WithRSA, sigRSA},
	{oidSigRSAPSS, sigPSS},
	{oidSigECPublicKey, sigECDSA},
	{oidSigECDSAWithSHA256, sigECDSA},
	{oidSigECDSAWithSHA384, sigECDSA},
	{oidSigECDSAWithSHA512, sigECDSA},
	{oidSigECDSAWithSHA224, sigECDSA},
	{oidSigECDSAWithSHA1, sigECDSA},
	{oidSigEd25519, sigEd25519},
}

func sigKindByOID(oid asn1.ObjectIdentifier) (sigKind, bool) {
	for _, s := range sigSpecs {
		if s.oid.Equal(oid) {
			return s.kind, true
		}
	}
	return 0, false
}
