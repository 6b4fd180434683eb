package cms

import (
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Bounds on a SignedData that are not in Limits: real mail has one or two
// signers and a handful of certificates.
const (
	maxSigners      = 64
	maxCertificates = 256
)

// SignedData is a parsed SignedData (RFC 5652 section 5.1), not yet
// verified. It refers to the memory of the input given to ParseSignedData
// when that input was DER; do not change that input while using it.
type SignedData struct {
	// ContentType names eContentType: "data" for S/MIME, else another
	// name of this package or "oid:...".
	ContentType string
	// Content is the eContent octets; nil when the content is detached
	// (multipart/signed) and must be supplied to Verify.
	Content []byte
	// Certificates are the certificates the message carries, in order,
	// as far as they parse; UnparsedCertificates counts the others
	// (attribute certificates, unparseable ones).
	Certificates         []*x509.Certificate
	UnparsedCertificates int
	// CRLs are the DER revocation lists the message carries (RFC 5652
	// section 10.2.1), not parsed here.
	CRLs [][]byte
	// Signers are the signer infos that parsed; UnparsedSigners counts the
	// others. A certs-only message (RFC 8551 section 3.6) has none.
	Signers         []*Signer
	UnparsedSigners int

	contentType asn1.ObjectIdentifier
	parseCert   CertificateParser
}

// SignerID says which certificate made a signature: the same
// IssuerAndSerialNumber / SubjectKeyIdentifier choice as a recipient
// (RFC 5652 section 5.3).
type SignerID = RecipientID

// Signer is one SignerInfo (RFC 5652 section 5.3).
type Signer struct {
	ID SignerID
	// DigestAlgorithm is "sha256", "sha384", "sha512", "sha224", "sha1",
	// "md5" or "oid:..." when unknown.
	DigestAlgorithm string
	// SignatureAlgorithm is "rsa-pkcs1v15", "rsa-pss", "ecdsa", "ed25519"
	// or "oid:..." when unknown.
	SignatureAlgorithm string
	// SignedAttributes tells whether signedAttrs are present; the
	// signature then covers them and they carry the content's digest.
	SignedAttributes bool
	// SigningTime is the signing-time attribute (RFC 5652 section 11.3),
	// zero when absent. It is the signer's claim, not a proven time.
	SigningTime time.Time

	digest    digestSpec
	digestErr error // why the digest algorithm cannot be used
	sigKind   sigKind
	sigErr    error // why the signature algorithm cannot be used
	sigParams []byte
	signature []byte
	// attrsDER is signedAttrs re-tagged as a SET OF (section 5.4): the
	// bytes that were signed.
	attrsDER []byte
	// attrErr is set when signedAttrs break section 5.3/11 rules (missing
	// or repeated content-type or message-digest); verification fails.
	attrErr       error
	attrType      asn1.ObjectIdentifier
	messageDigest []byte
}

// ParseSignedData parses a ContentInfo holding SignedData, in DER or BER,
// within limits (zero fields take DefaultLimits). BER eContent chunked
// into OCTET STRINGs of any size is joined. Unknown algorithms are not an
// error here: the Signer names them and Verify reports ErrUnsupported.
func ParseSignedData(der []byte, limits Limits) (sd *SignedData, err error) {
	return ParseSignedDataFunc(der, limits, nil)
}

// CertificateParser parses one DER certificate; x509.ParseCertificate is
// one. Callers pass their own to reuse certificates they parsed before.
type CertificateParser func(der []byte) (*x509.Certificate, error)

// ParseSignedDataFunc is ParseSignedData with the certificates of the
// message parsed by parse (nil: x509.ParseCertificate). A correspondent's
// certificate arrives with every message, and parsing it costs about a
// third of an RSA signature check.
func ParseSignedDataFunc(der []byte, limits Limits, parse CertificateParser) (
	sd *SignedData, err error) {
	defer guard(&err)
	if parse == nil {
		parse = x509.ParseCertificate
	}
	return parseSignedData(der, limits.withDefaults(), parse)
}

// parseSignedData is ParseSignedData without the guard, for fuzzing.
//
// Most signed mail is DER, and the BER walk costs a tenth of a whole
// verification, so DER is tried first: cryptobyte accepts only definite,
// minimal lengths and primitive strings. Anything it rejects, or that
// leaves a signer's attributes or a certificate unread, is normalised from
// BER and parsed again.
func parseSignedData(der []byte, limits Limits, parse CertificateParser) (*SignedData, error) {
	if len(der) > limits.MaxInputBytes {
		return nil, overLimit("input of %d bytes, limit %d", len(der), limits.MaxInputBytes)
	}
	if sd, err := parseSignedContentInfo(der, parse); err == nil && sd.complete() {
		return sd, nil
	}
	in, err := normalize(der, limits)
	if err != nil {
		return nil, err
	}
	return parseSignedContentInfo(in, parse)
}

// complete reports whether nothing was skipped that BER normalisation
// could have made readable.
func (sd *SignedData) complete() bool {
	if sd.UnparsedCertificates > 0 || sd.UnparsedSigners > 0 {
		return false
	}
	for _, si := range sd.Signers {
		if si.attrErr != nil {
			return false
		}
	}
	return true
}

// parseSignedContentInfo reads a DER ContentInfo holding SignedData.
func parseSignedContentInfo(in []byte, parse CertificateParser) (*SignedData, error) {
	// RFC 5652 section 3: ContentInfo.
	s := cryptobyte.String(in)
	var ci, content cryptobyte.String
	var ctype asn1.ObjectIdentifier
	if !s.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.ReadASN1ObjectIdentifier(&ctype) ||
		!ci.ReadASN1(&content, cbasn1.Tag(0).ContextSpecific().Constructed()) || !ci.Empty() ||
		!s.Empty() {
		return nil, malformed("content info")
	}
	if !ctype.Equal(oidSignedData) {
		return nil, unsupported("content type", oidName(ctype))
	}
	sd := &SignedData{parseCert: parse}
	if err := sd.parse(content); err != nil {
		return nil, err
	}
	return sd, nil
}

// parse reads SignedData (RFC 5652 section 5.1).
func (sd *SignedData) parse(content cryptobyte.String) error {
	var body, digestAlgs cryptobyte.String
	var version int64
	if !content.ReadASN1(&body, cbasn1.SEQUENCE) || !content.Empty() ||
		!body.ReadASN1Integer(&version) || !body.ReadASN1(&digestAlgs, cbasn1.SET) {
		return malformed("signed-data")
	}
	if err := sd.parseEncapContent(&body); err != nil {
		return err
	}
	if err := sd.parseCertificates(&body); err != nil {
		return err
	}
	if err := sd.parseCRLs(&body); err != nil {
		return err
	}
	var infos cryptobyte.String
	if !body.ReadASN1(&infos, cbasn1.SET) || !body.Empty() {
		return malformed("signer infos")
	}
	return sd.parseSignerInfos(infos)
}

// parseEncapContent reads EncapsulatedContentInfo (section 5.2). By now the
// input is DER, so a chunked BER eContent is one OCTET STRING.
func (sd *SignedData) parseEncapContent(body *cryptobyte.String) error {
	var eci, explicit cryptobyte.String
	if !body.ReadASN1(&eci, cbasn1.SEQUENCE) || !eci.ReadASN1ObjectIdentifier(&sd.contentType) {
		return malformed("encapsulated content info")
	}
	sd.ContentType = oidName(sd.contentType)
	tag := cbasn1.Tag(0).ContextSpecific().Constructed()
	if !eci.PeekASN1Tag(tag) {
		if !eci.Empty() {
			return malformed("encapsulated content info")
		}
		return nil
	}
	var octets []byte
	if !eci.ReadASN1(&explicit, tag) || !explicit.ReadASN1Bytes(&octets, cbasn1.OCTET_STRING) ||
		!explicit.Empty() || !eci.Empty() {
		return malformed("encapsulated content")
	}
	sd.Content = nonNil(octets)
	return nil
}

// parseCertificates reads certificates [0] IMPLICIT CertificateSet.
// Certificates that Go cannot parse are counted, not fatal: the signer's
// own certificate may be fine, or be in the trust store.
func (sd *SignedData) parseCertificates(body *cryptobyte.String) error {
	tag := cbasn1.Tag(0).ContextSpecific().Constructed()
	if !body.PeekASN1Tag(tag) {
		return nil
	}
	var set cryptobyte.String
	if !body.ReadASN1(&set, tag) {
		return malformed("certificates")
	}
	for n := 0; !set.Empty(); n++ {
		if n >= maxCertificates {
			return overLimit("more than %d certificates", maxCertificates)
		}
		var el cryptobyte.String
		var elTag cbasn1.Tag
		if !set.ReadAnyASN1Element(&el, &elTag) {
			return malformed("certificate")
		}
		if elTag != cbasn1.SEQUENCE {
			sd.UnparsedCertificates++ // attribute or other certificate choices
			continue
		}
		cert, err := sd.parseCert(el)
		if err != nil {
			sd.UnparsedCertificates++
			continue
		}
		sd.Certificates = append(sd.Certificates, cert)
	}
	return nil
}

// parseCRLs reads crls [1] IMPLICIT RevocationInfoChoices, keeping the
// CertificateList elements as DER.
func (sd *SignedData) parseCRLs(body *cryptobyte.String) error {
	tag := cbasn1.Tag(1).ContextSpecific().Constructed()
	if !body.PeekASN1Tag(tag) {
		return nil
	}
	var set cryptobyte.String
	if !body.ReadASN1(&set, tag) {
		return malformed("crls")
	}
	for !set.Empty() {
		var el cryptobyte.String
		var elTag cbasn1.Tag
		if !set.ReadAnyASN1Element(&el, &elTag) {
			return malformed("crl")
		}
		if elTag == cbasn1.SEQUENCE && len(sd.CRLs) < maxCertificates {
			sd.CRLs = append(sd.CRLs, el)
		}
	}
	return nil
}

func (sd *SignedData) parseSignerInfos(infos cryptobyte.String) error {
	for n := 0; !infos.Empty(); n++ {
		if n >= maxSigners {
			return overLimit("more than %d signers", maxSigners)
		}
		var el cryptobyte.String
		if !infos.ReadASN1(&el, cbasn1.SEQUENCE) {
			return malformed("signer info")
		}
		si, ok := parseSignerInfo(el)
		if !ok {
			sd.UnparsedSigners++
			continue
		}
		sd.Signers = append(sd.Signers, si)
	}
	return nil
}

// parseSignerInfo reads one SignerInfo (section 5.3). unsignedAttrs
// (countersignatures and the like) are skipped.
func parseSignerInfo(el cryptobyte.String) (*Signer, bool) {
	si := &Signer{}
	var version int64
	var ok bool
	if !el.ReadASN1Integer(&version) {
		return nil, false
	}
	if si.ID, ok = readRecipientID(&el); !ok {
		return nil, false
	}
	digestAlg, ok := readAlgorithm(&el)
	if !ok {
		return nil, false
	}
	si.setDigest(digestAlg)
	attrTag := cbasn1.Tag(0).ContextSpecific().Constructed()
	if el.PeekASN1Tag(attrTag) {
		var attrs cryptobyte.String
		if !el.ReadASN1Element(&attrs, attrTag) {
			return nil, false
		}
		si.SignedAttributes = true
		// Section 5.4: the DER of the SET OF, not of the [0] IMPLICIT tag.
		si.attrsDER = append([]byte{byte(cbasn1.SET)}, attrs[1:]...)
		si.parseAttributes(attrs)
	}
	sigAlg, ok := readAlgorithm(&el)
	if !ok || !el.ReadASN1Bytes(&si.signature, cbasn1.OCTET_STRING) ||
		!el.SkipOptionalASN1(cbasn1.Tag(1).ContextSpecific().Constructed()) || !el.Empty() {
		return nil, false
	}
	si.setSignatureAlgorithm(sigAlg)
	return si, true
}

func (si *Signer) setDigest(alg algorithm) {
	d, ok := digestByOID(alg.oid)
	if !ok {
		si.DigestAlgorithm = "oid:" + alg.oid.String()
		si.digestErr = unsupported("digest", si.DigestAlgorithm)
		return
	}
	si.digest, si.DigestAlgorithm = d, d.name
}

func (si *Signer) setSignatureAlgorithm(alg algorithm) {
	kind, ok := sigKindByOID(alg.oid)
	if !ok {
		si.SignatureAlgorithm = "oid:" + alg.oid.String()
		si.sigErr = unsupported("signature algorithm", si.SignatureAlgorithm)
		return
	}
	si.sigKind, si.SignatureAlgorithm, si.sigParams = kind, sigKindNames[kind], alg.params
}

// parseAttributes reads the signed attributes this package checks
// (section 11). RFC 5652 section 5.3 requires content-type and
// message-digest whenever signedAttrs are present, each exactly once with
// exactly one value; breaking that makes the signature fail.
func (si *Signer) parseAttributes(attrs cryptobyte.String) {
	var set cryptobyte.String
	if !attrs.ReadASN1(&set, cbasn1.Tag(0).ContextSpecific().Constructed()) {
		si.attrErr = malformed("signed attributes")
		return
	}
	var haveType, haveDigest bool
	for !set.Empty() {
		var attr, values, value cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !set.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1ObjectIdentifier(&oid) ||
			!attr.ReadASN1(&values, cbasn1.SET) || !attr.Empty() {
			si.attrErr = malformed("signed attribute")
			return
		}
		single := values.ReadAnyASN1Element(&value, nil) && values.Empty()
		switch {
		case oid.Equal(oidAttrContentType):
			if haveType || !single || !value.ReadASN1ObjectIdentifier(&si.attrType) {
				si.attrErr = verifyError("bad content-type attribute")
			}
			haveType = true
		case oid.Equal(oidAttrMessageDigest):
			if haveDigest || !single ||
				!value.ReadASN1Bytes(&si.messageDigest, cbasn1.OCTET_STRING) {
				si.attrErr = verifyError("bad message-digest attribute")
			}
			haveDigest = true
		case oid.Equal(oidAttrSigningTime) && single:
			si.SigningTime = readTime(value)
		}
	}
	if si.attrErr == nil && (!haveType || !haveDigest) {
		si.attrErr = verifyError("content-type or message-digest attribute missing")
	}
}

// readTime reads a Time (UTCTime or GeneralizedTime, RFC 5652 section
// 11.3); a bad one gives the zero time.
func readTime(value cryptobyte.String) time.Time {
	var t time.Time
	switch {
	case value.PeekASN1Tag(cbasn1.UTCTime):
		if value.ReadASN1UTCTime(&t) {
			return t
		}
	case value.PeekASN1Tag(cbasn1.GeneralizedTime):
		if value.ReadASN1GeneralizedTime(&t) {
			return t
		}
	}
	return time.Time{}
}

// FindCertificate returns the certificate among certs that the signer
// names, or nil.
func (si *Signer) FindCertificate(certs []*x509.Certificate) *x509.Certificate {
	for _, c := range certs {
		if si.ID.Matches(c) {
			return c
		}
	}
	return nil
}

// Hash is the digest algorithm as a crypto.Hash; 0 when unsupported.
func (si *Signer) Hash() crypto.Hash { return si.digest.hash }
