package smime

import (
	"errors"
	"fmt"
	"strings"
)

// StatusHeader is the name of the header field the proxy adds to every
// S/MIME message it hands out. Any field of that name already in the
// message was put there by someone else and is removed first.
//
// The field value has this grammar (ABNF, RFC 5234; token and
// quoted-string as in RFC 2045 section 5.1):
//
//	status  = outcome *(";" SP element)
//	outcome = token            ; "decrypted" / "not-decrypted" / "signed"
//	element = param / token    ; bare tokens: "signed", "valid", "invalid"...
//	param   = token "=" (token / quoted-string)
//
// The values written for envelopes:
//
//	decrypted; cipher=aes-256-cbc; key=<key id>
//	not-decrypted; reason=no-key
//	not-decrypted; reason=unsupported-algorithm; detail=rc2-cbc
//	not-decrypted; reason=could-not-decrypt
//	not-decrypted; reason=corrupt
//	not-decrypted; reason=too-large
//	not-decrypted; reason=temporary-error
//
// A compressed-data layer (RFC 3274) adds "decompressed", or
// "not-decompressed; reason=corrupt" (or too-large, unsupported-algorithm)
// when it does not open.
//
// Signatures add, per signer of every signed layer (outermost first), a
// "signed" element followed by "valid", or by "invalid" and a reason, and
// the signer (see Report.Status):
//
//	signed; valid; signer="Alice Example <alice@example.org>"
//	signed; invalid; reason=content-altered; signer="<alice@example.org>"
//	decrypted; cipher=aes-256-cbc; key=k1; signed; valid; signer="..."
//
// The reasons are the Reason constants: content-altered, bad-signature,
// corrupt, unsupported-algorithm, no-certificate, issuer-not-trusted,
// certificate-expired, certificate-not-yet-valid, certificate-revoked,
// revocation-unknown, weak-algorithm, certificate-not-for-signing,
// sender-mismatch, too-large. Then, where they apply: "unauthenticated-encryption"
// (decrypted with a CBC cipher and no valid signature: the ciphertext
// could have been altered, as in EFAIL) and "hp=protected" (the header
// fields shown are the RFC 9788 protected ones).
//
// A multipart message whose message/rfc822 parts hold envelopes keeps its
// own body, each such part being replaced by the embedded message as
// transformed (with its own status field). The outer status names the
// parts, each by its IMAP part number followed by its own outcome:
//
//	attachment-decrypted; part=2; decrypted
//	attachment-not-decrypted; part=2; not-decrypted; reason=no-key
//	attachment-decrypted; part=2; decrypted; part=3.1; not-decrypted; reason=no-key
//
// Readers must ignore elements and parameters they do not know.
// reason=could-not-decrypt covers every cryptographic failure alike (bad
// padding, bad MAC, wrong key), so that the header is no padding oracle.
const StatusHeader = "X-SMIME-Status"

// Outcomes written as the first element of the status value.
const (
	StatusDecrypted    = "decrypted"
	StatusNotDecrypted = "not-decrypted"
	// A compressed-data layer (RFC 3274) was opened, or could not be.
	StatusDecompressed    = "decompressed"
	StatusNotDecompressed = "not-decompressed"
	// A multipart message with envelopes in message/rfc822 parts: at least
	// one of them was decrypted, or none was.
	StatusAttachmentDecrypted    = "attachment-decrypted"
	StatusAttachmentNotDecrypted = "attachment-not-decrypted"
)

// ErrStatusSyntax reports a status value that does not follow the grammar.
var ErrStatusSyntax = errors.New("smime: malformed status value")

// StatusParam is one element after the outcome. Value is empty for a bare
// token element.
type StatusParam struct {
	Name  string
	Value string
}

// Status is a parsed or to-be-written X-SMIME-Status value.
type Status struct {
	Outcome string
	Params  []StatusParam
}

// Get returns the value of the first parameter called name (compared
// without regard to case) and whether it is present.
func (s Status) Get(name string) (string, bool) {
	for _, p := range s.Params {
		if strings.EqualFold(p.Name, name) {
			return p.Value, true
		}
	}
	return "", false
}

// String formats the value for the header field. Names and values are
// cleaned so that nothing from a key ID or an algorithm name can end the
// header line or inject another field.
func (s Status) String() string {
	var b strings.Builder
	b.WriteString(cleanToken(s.Outcome))
	for _, p := range s.Params {
		b.WriteString("; ")
		b.WriteString(cleanToken(p.Name))
		if p.Value != "" {
			b.WriteByte('=')
			writeValue(&b, p.Value)
		}
	}
	return b.String()
}

// Status describes the result in the X-SMIME-Status grammar. Only the
// class of a failure appears; DecryptResult.Err never does.
func (r DecryptResult) Status() Status {
	if r.Outcome == OutcomeDecrypted {
		s := Status{Outcome: StatusDecrypted}
		if r.Cipher != "" {
			s.Params = append(s.Params, StatusParam{"cipher", r.Cipher})
		}
		if r.KeyID != "" {
			s.Params = append(s.Params, StatusParam{"key", r.KeyID})
		}
		return s
	}
	outcome := r.Outcome
	if outcome == "" {
		outcome = OutcomeCorrupt
	}
	s := Status{Outcome: StatusNotDecrypted}
	s.Params = append(s.Params, StatusParam{"reason", string(outcome)})
	if outcome == OutcomeUnsupported && r.Detail != "" {
		s.Params = append(s.Params, StatusParam{"detail", r.Detail})
	}
	return s
}

// ParseStatus reads a status value written by Status.String or by a later
// version of it. Unknown elements are kept in Params, for the caller to
// ignore.
func ParseStatus(value string) (Status, error) {
	p := statusParser{s: value}
	p.skipSpace()
	outcome := p.token()
	if outcome == "" {
		return Status{}, fmt.Errorf("%w: no outcome", ErrStatusSyntax)
	}
	st := Status{Outcome: outcome}
	for {
		p.skipSpace()
		if p.done() {
			return st, nil
		}
		if !p.consume(';') {
			return Status{}, fmt.Errorf("%w: expected ';' at %d", ErrStatusSyntax, p.i)
		}
		p.skipSpace()
		if p.done() {
			return st, nil // a trailing ";" is harmless
		}
		param, err := p.element()
		if err != nil {
			return Status{}, err
		}
		st.Params = append(st.Params, param)
	}
}

type statusParser struct {
	s string
	i int
}

func (p *statusParser) done() bool { return p.i >= len(p.s) }

func (p *statusParser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' ||
		p.s[p.i] == '\r' || p.s[p.i] == '\n') {
		p.i++
	}
}

func (p *statusParser) consume(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *statusParser) token() string {
	start := p.i
	for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

func (p *statusParser) element() (StatusParam, error) {
	name := p.token()
	if name == "" {
		return StatusParam{}, fmt.Errorf("%w: expected a name at %d", ErrStatusSyntax, p.i)
	}
	p.skipSpace()
	if !p.consume('=') {
		return StatusParam{Name: name}, nil
	}
	p.skipSpace()
	if p.consume('"') {
		v, err := p.quoted()
		return StatusParam{Name: name, Value: v}, err
	}
	v := p.token()
	if v == "" {
		return StatusParam{}, fmt.Errorf("%w: empty value for %q", ErrStatusSyntax, name)
	}
	return StatusParam{Name: name, Value: v}, nil
}

// quoted reads the rest of a quoted-string (RFC 5322 section 3.2.4), the
// opening quote already consumed.
func (p *statusParser) quoted() (string, error) {
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch c {
		case '"':
			return b.String(), nil
		case '\\':
			if p.i < len(p.s) {
				b.WriteByte(p.s[p.i])
				p.i++
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", fmt.Errorf("%w: unterminated quoted-string", ErrStatusSyntax)
}

// isTokenChar is RFC 2045 section 5.1: printable US-ASCII except SPACE and
// tspecials.
func isTokenChar(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	return !strings.ContainsRune(`()<>@,;:\"/[]?=`, rune(c))
}

// cleanToken drops every byte that may not appear in a token, so that a
// name can never break the grammar.
func cleanToken(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			clean = false
			break
		}
	}
	if clean && s != "" {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if isTokenChar(s[i]) {
			b.WriteByte(s[i])
		}
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return b.String()
}

// writeValue writes v as a token when it is one, else as a quoted-string
// with control and 8-bit bytes replaced by '?': a header line must not be
// ended or made non-ASCII by a value that came from a certificate.
func writeValue(b *strings.Builder, v string) {
	isToken := v != ""
	for i := 0; i < len(v); i++ {
		if !isTokenChar(v[i]) {
			isToken = false
			break
		}
	}
	if isToken {
		b.WriteString(v)
		return
	}
	b.WriteString(quoted(v))
}
