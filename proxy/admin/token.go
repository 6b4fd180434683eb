package admin

import (
	"crypto/sha256"
	"crypto/subtle"
)

// Token is the admin access token. Only its SHA-256 digest is kept, so a
// memory dump or a stray %v shows no token, and comparing digests in
// constant time hides both the content and the length of the token.
type Token struct {
	digest [sha256.Size]byte
	set    bool
}

// NewToken makes a Token from the secret; the caller may clear secret
// afterwards.
func NewToken(secret []byte) Token {
	return Token{digest: sha256.Sum256(secret), set: len(secret) > 0}
}

// Matches reports whether candidate is the token, in time that does not
// depend on where they differ.
func (t Token) Matches(candidate string) bool {
	got := sha256.Sum256([]byte(candidate))
	return t.set && subtle.ConstantTimeCompare(got[:], t.digest[:]) == 1
}

// String redacts the token.
func (t Token) String() string { return "[admin token]" }

// GoString redacts the token under %#v.
func (t Token) GoString() string { return "admin.Token{[redacted]}" }
