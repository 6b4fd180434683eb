package revocation

import (
	"context"
	"crypto/x509"
	"errors"
	"strconv"
	"time"
)

// Status is the revocation state of a chain.
type Status int

// The revocation states. Good means no certificate of the chain is known to
// be revoked by a current, verified source; with Source "off" checking is
// off, with Source "none" the leaf names no source and its issuer has no
// imported CRL, so nothing could revoke it.
const (
	Good Status = iota
	Revoked
	Unknown
)

func (s Status) String() string {
	switch s {
	case Good:
		return "good"
	case Revoked:
		return "revoked"
	case Unknown:
		return "unknown"
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// Result is the answer for one chain.
type Result struct {
	Status    Status
	RevokedAt time.Time // when Revoked
	Reason    string    // when Revoked: RFC 5280 section 5.3.1 name, e.g. "keyCompromise"
	Source    string    // "crl", "ocsp", "off", or "none" (see below)
	Err       error     // why Unknown
}

// Checker checks every non-root certificate of a verified chain (leaf first,
// root last).
type Checker interface {
	Check(ctx context.Context, chain []*x509.Certificate) Result
}

// Mode selects the sources.
type Mode string

// The accepted modes. ModeBoth asks OCSP when the CRL gives no answer.
const (
	ModeCRL  Mode = "crl"
	ModeOCSP Mode = "ocsp"
	ModeBoth Mode = "both"
	ModeOff  Mode = "off"
)

// Sentinel errors, matched with errors.Is.
var (
	ErrUnreachable = errors.New("revocation: source unreachable")
	ErrTooLarge    = errors.New("revocation: response too large")
	ErrBadCRL      = errors.New("revocation: CRL not acceptable")
	ErrStale       = errors.New("revocation: no current CRL")
	ErrBadOCSP     = errors.New("revocation: OCSP response not acceptable")
	ErrOCSPUnknown = errors.New("revocation: OCSP responder does not know the certificate")
	ErrNoIssuer    = errors.New("revocation: CRL not signed by a trusted CA")
	ErrOlder       = errors.New("revocation: CRL older than the one we have")
	ErrNoCache     = errors.New("revocation: no cache_dir configured")
)

// reasonNames are the CRLReason values of RFC 5280 section 5.3.1 (also used
// by OCSP, RFC 6960 section 4.2.1).
var reasonNames = map[int]string{
	0: "unspecified", 1: "keyCompromise", 2: "cACompromise", 3: "affiliationChanged",
	4: "superseded", 5: "cessationOfOperation", 6: "certificateHold",
	8: "removeFromCRL", 9: "privilegeWithdrawn", 10: "aACompromise",
}

func reasonName(code int) string {
	if n, ok := reasonNames[code]; ok {
		return n
	}
	return "reason-" + strconv.Itoa(code)
}
