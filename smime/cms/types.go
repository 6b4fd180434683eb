package cms

import (
	"bytes"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"math/big"
)

// Kind is the CMS content type of an Envelope.
type Kind int

// The envelope kinds this package opens.
const (
	KindEnveloped     Kind = iota + 1 // RFC 5652 section 6, id-envelopedData
	KindAuthEnveloped                 // RFC 5083, id-ct-authEnvelopedData
)

func (k Kind) String() string {
	switch k {
	case KindEnveloped:
		return "enveloped-data"
	case KindAuthEnveloped:
		return "auth-enveloped-data"
	}
	return "unknown"
}

// RecipientType is the RecipientInfo choice of RFC 5652 section 6.2.
type RecipientType int

// Recipient types. KEM is the RFC 9629 KEMRecipientInfo carried in
// OtherRecipientInfo; OtherRecipient is any other ori type.
const (
	KeyTrans RecipientType = iota + 1
	KeyAgree
	KEK
	Password
	KEM
	OtherRecipient
)

func (t RecipientType) String() string {
	switch t {
	case KeyTrans:
		return "key-trans"
	case KeyAgree:
		return "key-agree"
	case KEK:
		return "kek"
	case Password:
		return "password"
	case KEM:
		return "kem"
	case OtherRecipient:
		return "other"
	}
	return "unknown"
}

// RecipientID says whom a recipient entry is for. At most one form is set:
// IssuerDER with Serial, SubjectKeyID, or KEKID.
type RecipientID struct {
	IssuerDER    []byte   // issuer Name, DER, as written in the message
	Serial       *big.Int // certificate serial number
	SubjectKeyID []byte   // subjectKeyIdentifier of the certificate
	KEKID        []byte   // keyIdentifier of a KEK recipient (section 6.2.3)
}

// Form names how the recipient is identified: "issuer-serial", "ski",
// "kek-id", or "" when it carries no identifier (password recipients).
func (id RecipientID) Form() string {
	switch {
	case id.SubjectKeyID != nil:
		return "ski"
	case id.IssuerDER != nil && id.Serial != nil:
		return "issuer-serial"
	case id.KEKID != nil:
		return "kek-id"
	}
	return ""
}

// Matches reports whether cert is the certificate this entry names.
// Issuer names are compared as DER bytes (RFC 5652 section 10.2.4 defines
// IssuerAndSerialNumber by the certificate's own encoding).
func (id RecipientID) Matches(cert *x509.Certificate) bool {
	if cert == nil {
		return false
	}
	switch id.Form() {
	case "ski":
		return bytes.Equal(id.SubjectKeyID, subjectKeyID(cert))
	case "issuer-serial":
		return cert.SerialNumber != nil && cert.SerialNumber.Cmp(id.Serial) == 0 &&
			bytes.Equal(cert.RawIssuer, id.IssuerDER)
	}
	return false
}

// subjectKeyID returns the certificate's subjectKeyIdentifier, or for a
// certificate without one the SHA-1 of its subjectPublicKey (RFC 5280
// section 4.2.1.2, method 1), which is what senders compute then.
func subjectKeyID(cert *x509.Certificate) []byte {
	if len(cert.SubjectKeyId) > 0 {
		return cert.SubjectKeyId
	}
	var spki struct {
		Algorithm asn1.RawValue
		Key       asn1.BitString
	}
	if _, err := asn1.Unmarshal(cert.RawSubjectPublicKeyInfo, &spki); err != nil {
		return nil
	}
	sum := sha1.Sum(spki.Key.Bytes)
	return sum[:]
}

// Recipient is one entry of recipientInfos. A KeyAgreeRecipientInfo with
// several recipientEncryptedKeys gives one Recipient per key.
type Recipient struct {
	Type RecipientType
	ID   RecipientID
	// KeyAlgorithm is the stable name of the key transport, agreement or
	// wrap algorithm: "rsa-pkcs1v15", "rsa-oaep-sha256",
	// "rsa-oaep-sha256-mgf1-sha1", "ecdh-stddh-sha256kdf-aes128-wrap",
	// "ecdh-cofactordh-sha1kdf-aes256-wrap",
	// "ecdh-stddh-hkdf-sha256-aes256-wrap" (X25519), "aes256-wrap" (KEK),
	// "pwri-kek" (password), "ml-kem-768", or "oid:..." when unknown.
	KeyAlgorithm string

	keyAlg       algorithm
	encryptedKey []byte
	// detail keeps what a later unwrapper needs beyond the common fields
	// (originator key and ukm for key agreement, the KEM ciphertext...).
	detail any
}

// algorithm is an AlgorithmIdentifier (RFC 5280 section 4.1.1.2).
type algorithm struct {
	oid    asn1.ObjectIdentifier
	params []byte // DER of the parameters element; nil when absent
}
