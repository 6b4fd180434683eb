package smime

import (
	"crypto/x509"
	"errors"
	"fmt"
	"runtime"

	"github.com/smimeproxy/smimeproxy/smime/cms"
)

// DecryptOutcome is the class of a decryption result: the only part of it
// that the client ever sees (as the reason in the status header).
type DecryptOutcome string

// The outcomes. Their text is part of the X-SMIME-Status grammar.
const (
	OutcomeDecrypted       DecryptOutcome = "decrypted"
	OutcomeNoKey           DecryptOutcome = "no-key"
	OutcomeUnsupported     DecryptOutcome = "unsupported-algorithm"
	OutcomeCouldNotDecrypt DecryptOutcome = "could-not-decrypt"
	OutcomeCorrupt         DecryptOutcome = "corrupt"
	OutcomeTooLarge        DecryptOutcome = "too-large"
	// OutcomeTemporaryError means we could not try (the key vault did not
	// answer, the request was cancelled); it is not a fact about the
	// message, so callers must not cache it. DecryptEntity never returns
	// it; the pipeline does.
	OutcomeTemporaryError DecryptOutcome = "temporary-error"
)

// Recipient identifier kinds, as RFC 5652 section 6.2 names them.
const (
	RecipientIssuerSerial = "issuer-serial"
	RecipientSKI          = "ski"
	RecipientKEK          = "kek-id"   // KEKRecipientInfo, by key identifier
	RecipientPassword     = "password" // PasswordRecipientInfo (RFC 3211)
)

// Errors of this package, found in DecryptResult.Err with errors.Is next
// to the cms package's sentinels.
var (
	ErrTransferEncoding = errors.New("smime: bad content transfer encoding")
	ErrTooLarge         = errors.New("smime: entity larger than the limit")
	ErrNoKey            = errors.New("smime: no key of the user is a recipient")
	ErrPanic            = errors.New("smime: internal error while decrypting")
)

// DecryptResult tells how decrypting one entity went. Err holds the
// detailed reason for the log; it must never reach the client.
type DecryptResult struct {
	Outcome DecryptOutcome
	Err     error
	// KeyID names the Key that opened the envelope (or, on a failed
	// decryption, the last one tried).
	KeyID string
	// Cipher is the content cipher as cms names it, e.g. "aes-256-cbc".
	Cipher string
	// Recipient says how the envelope listed us: RecipientIssuerSerial or
	// RecipientSKI.
	Recipient string
	// Detail names the unsupported algorithm when Outcome is
	// OutcomeUnsupported; it is shown in the status header.
	Detail string
	// Inner is the decrypted MIME entity (header fields, blank line,
	// body) with CRLF line endings; set only when Outcome is decrypted.
	Inner []byte
}

// String summarises the result without the plaintext, so that logging a
// result by accident cannot leak content.
func (r DecryptResult) String() string {
	return fmt.Sprintf("%s (cipher=%s key=%s)", r.Outcome, r.Cipher, r.KeyID)
}

// GoString keeps %#v from printing Inner.
func (r DecryptResult) GoString() string { return r.String() }

// Format applies String to every verb.
func (r DecryptResult) Format(f fmt.State, _ rune) { fmt.Fprint(f, r.String()) }

// DecryptEntity decrypts the body of an application/pkcs7-mime entity.
//
// body is the entity's body as it appears in the message, and cte the
// value of its Content-Transfer-Encoding field
// (RFC 2045 section 6; base64 is what RFC 8551 section 3.1.3 asks for,
// binary and 8bit occur). PEM armour and bare DER or BER are accepted too.
// Every key is tried against every recipient of the envelope, so mail to
// an older certificate of the user opens as well as mail to the current
// one, and the user may be any recipient of several.
func DecryptEntity(body []byte, cte string, keys []Key, limits cms.Limits) (res DecryptResult) {
	defer func() {
		if v := recover(); v != nil {
			res = DecryptResult{Outcome: OutcomeCorrupt, Err: panicError(v)}
		}
	}()
	maxInput := limits.MaxInputBytes
	if maxInput <= 0 {
		maxInput = cms.DefaultLimits().MaxInputBytes // as cms treats a zero limit
	}
	der, err := extractCMS(body, cte, maxInput)
	if err != nil {
		return DecryptResult{Outcome: parseOutcome(err), Err: err}
	}
	env, err := cms.ParseEnvelope(der, limits)
	if err != nil {
		return failedParse(env, err)
	}
	res = decryptEnvelope(env, keys)
	if res.Outcome == OutcomeDecrypted {
		res = decompressInner(res, limits)
	}
	return res
}

// panicError describes a recovered panic. Only a runtime error's text is
// kept: it names an operation, while another panic value might quote
// message bytes.
func panicError(v any) error {
	if rerr, ok := v.(runtime.Error); ok {
		return fmt.Errorf("%w: %s", ErrPanic, rerr.Error())
	}
	return fmt.Errorf("%w: panic of type %T", ErrPanic, v)
}

func failedParse(env *cms.Envelope, err error) DecryptResult {
	res := DecryptResult{Outcome: parseOutcome(err), Err: fmt.Errorf("parse envelope: %w", err)}
	if env != nil {
		res.Cipher = env.ContentCipher
	}
	if res.Outcome == OutcomeUnsupported {
		res.Detail = unsupportedDetail(err, env)
	}
	return res
}

// decryptEnvelope tries each usable key that the envelope lists as a
// recipient, in the order given (the vault puts the current key first):
// keys with a certificate, KEK secrets (cms.SecretKey) and passwords
// (cms.PasswordKey).
func decryptEnvelope(env *cms.Envelope, keys []Key) DecryptResult {
	var failed *DecryptResult
	for _, key := range keys {
		res, tried := tryKey(env, key)
		if !tried {
			continue
		}
		if res.Outcome == OutcomeDecrypted {
			return res
		}
		if failed == nil {
			failed = &res
		}
	}
	if failed != nil {
		return *failed
	}
	return DecryptResult{
		Outcome: OutcomeNoKey,
		Cipher:  env.ContentCipher,
		Err: fmt.Errorf("%w: %d recipients (%d unparsed), %d keys", ErrNoKey,
			len(env.Recipients), env.UnparsedRecipients, len(keys)),
	}
}

// tryKey decrypts with key if the envelope has a recipient entry for it.
func tryKey(env *cms.Envelope, key Key) (DecryptResult, bool) {
	switch k := key.Private.(type) {
	case nil:
		return DecryptResult{}, false
	case cms.SecretKey:
		if !hasRecipient(env, cms.KEK, k.ID) {
			return DecryptResult{}, false
		}
		return finishDecrypt(env, key, RecipientKEK, func() ([]byte, error) {
			return env.DecryptWithSecret(k.ID, k.Key)
		}), true
	case cms.PasswordKey:
		if !hasRecipient(env, cms.Password, nil) {
			return DecryptResult{}, false
		}
		return finishDecrypt(env, key, RecipientPassword, func() ([]byte, error) {
			return env.DecryptWithPassword(k)
		}), true
	}
	if key.Certificate == nil {
		return DecryptResult{}, false
	}
	rcpt, ok := findRecipient(env, key.Certificate)
	if !ok {
		return DecryptResult{}, false
	}
	return decryptWithKey(env, key, rcpt), true
}

// hasRecipient reports whether env lists a recipient of type typ (with
// key identifier id, for KEK recipients).
func hasRecipient(env *cms.Envelope, typ cms.RecipientType, id []byte) bool {
	for _, r := range env.Recipients {
		if r.Type == typ && (typ != cms.KEK || string(r.ID.KEKID) == string(id)) {
			return true
		}
	}
	return false
}

func findRecipient(env *cms.Envelope, cert *x509.Certificate) (cms.Recipient, bool) {
	for _, r := range env.Recipients {
		if r.ID.Matches(cert) {
			return r, true
		}
	}
	return cms.Recipient{}, false
}

func decryptWithKey(env *cms.Envelope, key Key, rcpt cms.Recipient) DecryptResult {
	// Form names the identifier kinds as RecipientIssuerSerial and
	// RecipientSKI do.
	return finishDecrypt(env, key, rcpt.ID.Form(), func() ([]byte, error) {
		return env.Decrypt(key.Certificate, key.Private)
	})
}

// finishDecrypt runs open and describes its outcome.
func finishDecrypt(env *cms.Envelope, key Key, form string,
	open func() ([]byte, error)) DecryptResult {
	res := DecryptResult{KeyID: key.ID, Cipher: env.ContentCipher, Recipient: form}
	content, err := open()
	if err != nil {
		res.Outcome = decryptOutcome(err)
		res.Err = fmt.Errorf("decrypt with key %s: %w", key.ID, err)
		if res.Outcome == OutcomeUnsupported {
			res.Detail = unsupportedDetail(err, env)
		}
		return res
	}
	res.Outcome = OutcomeDecrypted
	res.Inner = NormalizeCRLF(content)
	return res
}

// unsupportedDetail names the algorithm cms refused, from its
// UnsupportedError; failing that, the content cipher.
func unsupportedDetail(err error, env *cms.Envelope) string {
	var ue *cms.UnsupportedError
	if errors.As(err, &ue) && ue.Name != "" {
		return ue.Name
	}
	if env != nil {
		return env.ContentCipher
	}
	return ""
}

// parseOutcome classifies an error from extracting or parsing the CMS
// object. Anything not recognised counts as corrupt data.
func parseOutcome(err error) DecryptOutcome {
	switch {
	case errors.Is(err, cms.ErrLimit), errors.Is(err, ErrTooLarge):
		return OutcomeTooLarge
	case errors.Is(err, cms.ErrUnsupported):
		return OutcomeUnsupported
	case errors.Is(err, cms.ErrDecrypt):
		return OutcomeCouldNotDecrypt
	case errors.Is(err, cms.ErrNoRecipient):
		return OutcomeNoKey
	}
	return OutcomeCorrupt
}

// decryptOutcome classifies an error from Envelope.Decrypt. A failure the
// cms package did not classify is taken as a decryption failure: it
// happened after the key was chosen.
func decryptOutcome(err error) DecryptOutcome {
	switch {
	case errors.Is(err, cms.ErrLimit):
		return OutcomeTooLarge
	case errors.Is(err, cms.ErrUnsupported):
		return OutcomeUnsupported
	case errors.Is(err, cms.ErrMalformed):
		return OutcomeCorrupt
	case errors.Is(err, cms.ErrNoRecipient):
		return OutcomeNoKey
	}
	return OutcomeCouldNotDecrypt
}
