package cms

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Envelope is a parsed EnvelopedData or AuthEnvelopedData, not yet
// decrypted. It refers to the memory of the input given to ParseEnvelope
// when that input was DER; do not change that input while using it.
type Envelope struct {
	Kind Kind
	// Recipients lists every recipient entry that parsed.
	Recipients []Recipient
	// UnparsedRecipients counts entries that did not parse or are of an
	// unknown choice; they are skipped.
	UnparsedRecipients int
	// ContentType names the encrypted content: "data" for S/MIME, else
	// another name from this package or "oid:...".
	ContentType string
	// ContentCipher is the stable name of the content cipher:
	// "aes-256-cbc", "aes-128-gcm", "des-ede3-cbc", "rc2-cbc-40",
	// "chacha20-poly1305", or "oid:..." when unknown.
	ContentCipher string

	cipher    *contentCipher
	cipherErr error    // why the content cipher cannot be used, if it cannot
	chunks    [][]byte // encryptedContent, as stored (BER may cut it)
	detached  bool     // encryptedContent absent (RFC 5652 section 6.1)
	mac       []byte   // AuthEnvelopedData mac (RFC 5083 section 2.1)
	aad       []byte   // DER of authAttrs as a SET OF (RFC 5083 section 2.2)
	// maxInflate is Limits.MaxDecompressedBytes, for compressed content;
	// maxIter is Limits.MaxPBKDF2Iterations, for password recipients.
	maxInflate, maxIter int
}

// ParseEnvelope parses a ContentInfo holding EnvelopedData or
// AuthEnvelopedData, in DER or BER, within limits (zero fields take
// DefaultLimits). An unknown content cipher is not an error here: the
// Envelope names it and Decrypt reports ErrUnsupported.
func ParseEnvelope(der []byte, limits Limits) (env *Envelope, err error) {
	defer guard(&err)
	return parseEnvelope(der, limits.withDefaults())
}

// parseEnvelope is ParseEnvelope without the guard, for the fuzz tests.
func parseEnvelope(der []byte, limits Limits) (*Envelope, error) {
	in, err := normalize(der, limits)
	if err != nil {
		return nil, err
	}
	// RFC 5652 section 3: ContentInfo.
	s := cryptobyte.String(in)
	var ci, content cryptobyte.String
	var ctype asn1.ObjectIdentifier
	if !s.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.ReadASN1ObjectIdentifier(&ctype) ||
		!ci.ReadASN1(&content, cbasn1.Tag(0).ContextSpecific().Constructed()) || !ci.Empty() {
		return nil, malformed("content info")
	}
	env := &Envelope{maxInflate: limits.MaxDecompressedBytes, maxIter: limits.MaxPBKDF2Iterations}
	switch {
	case ctype.Equal(oidEnvelopedData):
		env.Kind = KindEnveloped
	case ctype.Equal(oidAuthEnvelopedData):
		env.Kind = KindAuthEnveloped
	default:
		return nil, unsupported("content type", oidName(ctype))
	}
	if err := env.parse(content, limits); err != nil {
		return nil, err
	}
	return env, nil
}

// parse reads EnvelopedData (RFC 5652 section 6.1) or AuthEnvelopedData
// (RFC 5083 section 2.1); they share everything up to the content.
func (e *Envelope) parse(content cryptobyte.String, limits Limits) error {
	var ed, ris cryptobyte.String
	var version int64
	if !content.ReadASN1(&ed, cbasn1.SEQUENCE) || !content.Empty() ||
		!ed.ReadASN1Integer(&version) ||
		!ed.SkipOptionalASN1(cbasn1.Tag(0).ContextSpecific().Constructed()) ||
		!ed.ReadASN1(&ris, cbasn1.SET) {
		return malformed(e.Kind.String())
	}
	var err error
	e.Recipients, e.UnparsedRecipients, err = parseRecipientInfos(ris, limits.MaxRecipients)
	if err != nil {
		return err
	}
	if err := e.parseContentInfo(&ed); err != nil {
		return err
	}
	if e.Kind == KindEnveloped {
		// unprotectedAttrs [1] are not needed to decrypt.
		if !ed.SkipOptionalASN1(cbasn1.Tag(1).ContextSpecific().Constructed()) || !ed.Empty() {
			return malformed("enveloped-data trailer")
		}
		return nil
	}
	return e.parseAuthTrailer(&ed)
}

// parseAuthTrailer reads authAttrs, mac and unauthAttrs (RFC 5083 section
// 2.1). The additional data is authAttrs re-tagged as a SET OF (section
// 2.2); the input is DER by now, so the bytes are the DER encoding.
func (e *Envelope) parseAuthTrailer(ed *cryptobyte.String) error {
	var attrs cryptobyte.String
	var present bool
	tag := cbasn1.Tag(1).ContextSpecific().Constructed()
	if ed.PeekASN1Tag(tag) {
		if !ed.ReadASN1Element(&attrs, tag) {
			return malformed("auth attributes")
		}
		present = true
	}
	if present {
		e.aad = append([]byte{byte(cbasn1.SET)}, attrs[1:]...)
	}
	if !ed.ReadASN1Bytes(&e.mac, cbasn1.OCTET_STRING) ||
		!ed.SkipOptionalASN1(cbasn1.Tag(2).ContextSpecific().Constructed()) || !ed.Empty() {
		return malformed("auth-enveloped-data mac")
	}
	return nil
}

// parseContentInfo reads EncryptedContentInfo (RFC 5652 section 6.1).
func (e *Envelope) parseContentInfo(ed *cryptobyte.String) error {
	var eci cryptobyte.String
	var ctype asn1.ObjectIdentifier
	if !ed.ReadASN1(&eci, cbasn1.SEQUENCE) || !eci.ReadASN1ObjectIdentifier(&ctype) {
		return malformed("encrypted content info")
	}
	alg, ok := readAlgorithm(&eci)
	if !ok {
		return malformed("content encryption algorithm")
	}
	e.ContentType = oidName(ctype)
	e.cipher, e.cipherErr = parseContentCipher(alg)
	e.ContentCipher = e.cipher.name
	if e.cipherErr != nil && !isUnsupported(e.cipherErr) {
		return e.cipherErr
	}
	// RFC 5083 section 2.1: AuthEnvelopedData needs an authenticated cipher.
	if e.cipherErr == nil && e.Kind == KindAuthEnveloped && e.cipher.spec.mode == modeCBC {
		e.cipherErr = unsupported("content cipher", e.cipher.name+" in auth-enveloped-data")
	}
	return e.readEncryptedContent(&eci)
}

// readEncryptedContent reads encryptedContent [0] IMPLICIT OCTET STRING.
// BER writers send it constructed, as a run of OCTET STRING chunks; the
// chunks are kept as they are, so DER input is never copied here.
func (e *Envelope) readEncryptedContent(eci *cryptobyte.String) error {
	prim := cbasn1.Tag(0).ContextSpecific()
	var body cryptobyte.String
	switch {
	case eci.PeekASN1Tag(prim):
		if !eci.ReadASN1(&body, prim) {
			return malformed("encrypted content")
		}
		e.chunks = [][]byte{body}
	case eci.PeekASN1Tag(prim.Constructed()):
		if !eci.ReadASN1(&body, prim.Constructed()) {
			return malformed("encrypted content")
		}
		for !body.Empty() {
			var chunk cryptobyte.String
			if !body.ReadASN1(&chunk, cbasn1.OCTET_STRING) {
				return malformed("encrypted content chunk")
			}
			e.chunks = append(e.chunks, chunk)
		}
	default:
		e.detached = true
	}
	if !eci.Empty() {
		return malformed("encrypted content info")
	}
	return nil
}

func isUnsupported(err error) bool {
	_, ok := err.(*UnsupportedError)
	return ok
}

// MatchingRecipients returns the recipient entries that name cert.
func (e *Envelope) MatchingRecipients(cert *x509.Certificate) []Recipient {
	var out []Recipient
	for _, r := range e.Recipients {
		if r.ID.Matches(cert) {
			out = append(out, r)
		}
	}
	return out
}

// Decrypt opens the envelope with the private key of cert, trying each
// recipient entry that names cert. It returns the content octets: for
// S/MIME, a MIME entity. Errors: ErrNoRecipient when no entry names cert,
// ErrUnsupported (an *UnsupportedError) for an algorithm or recipient type
// not implemented, ErrDecrypt for any cryptographic failure.
func (e *Envelope) Decrypt(cert *x509.Certificate, key crypto.PrivateKey) (
	content []byte, err error) {
	defer guard(&err)
	return e.decrypt(cert, key)
}

// decrypt is Decrypt without the guard, for the fuzz tests.
func (e *Envelope) decrypt(cert *x509.Certificate, key crypto.PrivateKey) ([]byte, error) {
	return e.decryptMatches(e.MatchingRecipients(cert), key)
}

// decryptMatches tries each of the recipient entries with key, which is
// a private key or the SecretKey or Password of a symmetric recipient.
func (e *Envelope) decryptMatches(matches []Recipient, key crypto.PrivateKey) ([]byte, error) {
	if len(matches) == 0 {
		return nil, ErrNoRecipient
	}
	if e.cipherErr != nil {
		return nil, e.cipherErr
	}
	if e.detached {
		return nil, unsupported("content", "detached encrypted content")
	}
	var err error
	for i := range matches {
		content, e2 := e.decryptFor(&matches[i], key)
		if e2 == nil {
			return content, nil
		}
		err = e2
	}
	return nil, err
}

func (e *Envelope) decryptFor(r *Recipient, key crypto.PrivateKey) ([]byte, error) {
	unwrap := unwrappers[r.Type]
	if unwrap == nil {
		return nil, unsupported("recipient type", r.Type.String())
	}
	cek, err := unwrap(r, key, e.cipher.keyLen)
	if err != nil {
		return nil, err
	}
	defer clear(cek)
	if e.Kind == KindAuthEnveloped && len(e.mac) != e.cipher.tagLen {
		return nil, ErrDecrypt
	}
	content, err := e.decryptContent(cek)
	if err != nil || !e.compressed() {
		return content, err
	}
	// RFC 3274 section 1.1: encrypted CompressedData; the content octets
	// are its DER encoding (or BER, so normalise first).
	der, err := normalize(content, Limits{MaxInputBytes: len(content),
		MaxNestingDepth: DefaultLimits().MaxNestingDepth})
	if err != nil {
		return nil, err
	}
	return decompressData(der, e.maxInflate)
}

func (e *Envelope) compressed() bool { return e.ContentType == "compressed-data" }

// decryptContent decrypts the content with the content key. DER input
// with CBC is decrypted straight from the message into the one buffer the
// size of the content; otherwise the ciphertext (and tag) is gathered
// first, as an AEAD needs it in one piece.
func (e *Envelope) decryptContent(cek []byte) ([]byte, error) {
	if e.cipher.spec.mode == modeCBC && len(e.chunks) == 1 {
		src := e.chunks[0]
		return e.cipher.decrypt(cek, make([]byte, len(src)), src, nil)
	}
	buf := e.sealed()
	return e.cipher.decrypt(cek, buf, buf, e.aad)
}

// sealed returns a fresh buffer with the ciphertext and, for
// AuthEnvelopedData, the mac after it, ready to be decrypted in place:
// this one buffer is the only allocation the size of the content.
func (e *Envelope) sealed() []byte {
	// bytes.Join allocates without zeroing what it is about to overwrite,
	// which matters at 20 MB.
	parts := make([][]byte, 0, len(e.chunks)+1)
	parts = append(append(parts, e.chunks...), e.mac)
	return bytes.Join(parts, nil)
}
