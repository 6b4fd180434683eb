package smime

import "strings"

// Status elements for signatures and the layers around them. Their text
// is part of the X-SMIME-Status grammar (see StatusHeader).
const (
	StatusSigned          = "signed"
	StatusValid           = "valid"
	StatusInvalid         = "invalid"
	StatusUnauthenticated = "unauthenticated-encryption"
	StatusHPProtected     = "protected"
)

// Report is everything the proxy learnt about one message: the
// decryption of its envelope, if it had one, and every signed layer,
// outermost first.
type Report struct {
	Decrypt *DecryptResult
	// Decompressed is "" when no compressed-data layer (RFC 3274) was
	// met, "ok" when one was opened, or the reason it was not: "corrupt",
	// "too-large", "unsupported-algorithm".
	Decompressed string
	Signed       []SignedEntity
	// HeaderProtection is set when the client is shown header fields
	// protected by RFC 9788 instead of the outer ones.
	HeaderProtection bool
}

// Valid reports whether some signed layer has a signer that passed.
func (r Report) Valid() bool {
	for i := range r.Signed {
		if r.Signed[i].Valid() {
			return true
		}
	}
	return false
}

func (r Report) allValid() bool {
	for i := range r.Signed {
		if !r.Signed[i].Valid() {
			return false
		}
	}
	return len(r.Signed) > 0
}

// Unauthenticated reports a decrypted message whose integrity nothing
// vouches for: a CBC (non-AEAD) cipher and no valid signature, so that
// the ciphertext could have been changed in transit (EFAIL's malleability
// gadgets, see RFC 8551 section 3.1 and its Security Considerations).
func (r Report) Unauthenticated() bool {
	if r.Decrypt == nil || r.Decrypt.Outcome != OutcomeDecrypted {
		return false
	}
	c := r.Decrypt.Cipher
	aead := strings.HasSuffix(c, "-gcm") || strings.HasPrefix(c, "chacha20")
	return !aead && !r.Valid()
}

// Status describes the message in the X-SMIME-Status grammar:
//
//	decrypted; cipher=aes-256-cbc; key=k1; signed; valid; signer="A <a@x>"
//	signed; invalid; reason=content-altered; signer="A <a@x>"
//	decrypted; cipher=aes-128-cbc; key=k1; unauthenticated-encryption
//
// The decryption comes first, as before signatures were checked; then one
// "signed" element per signer of every layer, outermost first, each
// followed by "valid" or "invalid", a reason when invalid, and the
// signer; then "unauthenticated-encryption" and "hp=protected" when they
// apply. A message that is only signed starts with "signed".
func (r Report) Status() Status {
	var st Status
	if r.Decrypt != nil {
		st = r.Decrypt.Status()
	}
	st = appendDecompressed(st, r.Decompressed)
	for i := range r.Signed {
		for _, s := range r.Signed[i].Signers {
			st = appendSigner(st, s)
		}
	}
	if r.Unauthenticated() {
		st.Params = append(st.Params, StatusParam{Name: StatusUnauthenticated})
	}
	if r.HeaderProtection {
		st.Params = append(st.Params, StatusParam{"hp", StatusHPProtected})
	}
	return st
}

// appendDecompressed adds "decompressed", or "not-decompressed;
// reason=..." when the compressed layer would not open.
func appendDecompressed(st Status, outcome string) Status {
	switch outcome {
	case "":
		return st
	case "ok":
		if st.Outcome == "" {
			st.Outcome = StatusDecompressed
		} else {
			st.Params = append(st.Params, StatusParam{Name: StatusDecompressed})
		}
		return st
	}
	if st.Outcome == "" {
		st.Outcome = StatusNotDecompressed
	} else {
		st.Params = append(st.Params, StatusParam{Name: StatusNotDecompressed})
	}
	st.Params = append(st.Params, StatusParam{"reason", outcome})
	return st
}

func appendSigner(st Status, s SignerResult) Status {
	if st.Outcome == "" {
		st.Outcome = StatusSigned
	} else {
		st.Params = append(st.Params, StatusParam{Name: StatusSigned})
	}
	if s.Result == SigPass {
		st.Params = append(st.Params, StatusParam{Name: StatusValid})
	} else {
		st.Params = append(st.Params, StatusParam{Name: StatusInvalid},
			StatusParam{"reason", s.Reason})
	}
	if signer := s.Display(); signer != "" {
		st.Params = append(st.Params, StatusParam{"signer", signer})
	}
	return st
}

// Display names the signer as "Name <address>", or what of it is known.
func (r SignerResult) Display() string {
	switch {
	case r.Name != "" && r.Identifier != "" && r.Name != r.Identifier:
		return r.Name + " <" + r.Identifier + ">"
	case r.Identifier != "":
		return "<" + r.Identifier + ">"
	}
	return r.Name
}

// SubjectTag returns the Subject prefix for clients that show no header
// fields ([status] subject_tag): "[signed]", "[signed: INVALID]",
// "[decrypted]", or both a decryption and a signature tag; "" when the
// message was neither. "[signed]" needs a passing signer in every signed
// layer: a tag has no room to say which layer failed.
func (r Report) SubjectTag() string {
	var tags []string
	if r.Decrypt != nil && r.Decrypt.Outcome == OutcomeDecrypted {
		tags = append(tags, "[decrypted]")
	}
	if len(r.Signed) > 0 {
		if r.allValid() {
			tags = append(tags, "[signed]")
		} else {
			tags = append(tags, "[signed: INVALID]")
		}
	}
	return strings.Join(tags, " ")
}
