package smime

import (
	"mime"
	"strings"
)

// Kind says what an entity is, as far as its Content-Type tells.
type Kind int

const (
	// KindPlain is anything that is not S/MIME, including a Content-Type
	// we cannot parse: such a message passes through unchanged.
	KindPlain Kind = iota
	// KindEnveloped is application/pkcs7-mime enveloped-data or
	// authEnveloped-data: encrypted, and ours to decrypt.
	KindEnveloped
	// KindSignedOpaque is application/pkcs7-mime signed-data, the content
	// wrapped inside the signature.
	KindSignedOpaque
	// KindSigned is multipart/signed with a CMS signature part.
	KindSigned
	// KindCertsOnly is a degenerate signed-data carrying certificates.
	KindCertsOnly
	// KindCompressed is compressed-data (RFC 3274).
	KindCompressed
)

var kindNames = [...]string{
	KindPlain:        "plain",
	KindEnveloped:    "enveloped",
	KindSignedOpaque: "signed-opaque",
	KindSigned:       "signed",
	KindCertsOnly:    "certs-only",
	KindCompressed:   "compressed",
}

// String gives a short stable name, suitable for logs.
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "unknown"
	}
	return kindNames[k]
}

// ClassifyContentType tells the Kind of an entity from the value of its
// Content-Type header field (without the field name).
//
// Both the registered application/pkcs7-mime and the older
// application/x-pkcs7-mime are recognised (RFC 8551 section 3.2.1 asks
// receivers to accept both), and the smime-type parameter is compared
// without regard to case (RFC 8551 section 3.2.2). Some senders omit
// smime-type; a name or filename ending in .p7m then marks an envelope.
func ClassifyContentType(value string) Kind {
	mediaType, params, err := mime.ParseMediaType(value)
	if err != nil {
		return KindPlain
	}
	switch mediaType {
	case "application/pkcs7-mime", "application/x-pkcs7-mime":
		return classifyPKCS7MIME(params)
	case "multipart/signed":
		return classifyMultipartSigned(params)
	}
	return KindPlain
}

// classifyPKCS7MIME maps smime-type (RFC 8551 section 3.2.2) to a Kind.
func classifyPKCS7MIME(params map[string]string) Kind {
	smimeType, ok := params["smime-type"]
	if !ok {
		return classifyByFileName(params)
	}
	switch strings.ToLower(strings.TrimSpace(smimeType)) {
	case "enveloped-data", "authenveloped-data":
		return KindEnveloped
	case "signed-data":
		return KindSignedOpaque
	case "certs-only":
		return KindCertsOnly
	case "compressed-data":
		return KindCompressed
	}
	return KindPlain
}

// classifyByFileName handles pkcs7-mime without smime-type. Only .p7m is
// taken as an envelope: it is what RFC 8551 section 3.2.1 names for
// enveloped and signed-data alike, and the CMS parser tells the two apart
// (a signed-data object gives ErrUnsupported or ErrMalformed, not plaintext).
func classifyByFileName(params map[string]string) Kind {
	for _, key := range []string{"name", "filename"} {
		name := strings.ToLower(strings.TrimSpace(params[key]))
		if strings.HasSuffix(name, ".p7m") {
			return KindEnveloped
		}
	}
	return KindPlain
}

// classifyMultipartSigned accepts the CMS signature protocols of RFC 8551
// section 3.5.3; PGP/MIME (application/pgp-signature) is not ours.
func classifyMultipartSigned(params map[string]string) Kind {
	switch strings.ToLower(strings.TrimSpace(params["protocol"])) {
	case "application/pkcs7-signature", "application/x-pkcs7-signature":
		return KindSigned
	}
	return KindPlain
}
