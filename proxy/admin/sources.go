package admin

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"time"

	"github.com/smimeproxy/smimeproxy/smime"
)

// TrustSource lists the trust anchors that signatures are verified
// against, for the dashboard. The trust store implements it; without one
// the dashboard says "not configured".
type TrustSource interface {
	TrustAnchors(ctx context.Context) ([]Anchor, error)
}

// RevocationSource lists the CRLs the proxy holds, for the dashboard. The
// revocation checker implements it; without one the dashboard says "not
// configured".
type RevocationSource interface {
	CRLs(ctx context.Context) ([]CRL, error)
}

// Anchor describes one trusted certificate. No key material.
type Anchor struct {
	Subject  string    `json:"subject"`
	Issuer   string    `json:"issuer,omitempty"`
	Serial   string    `json:"serial,omitempty"` // lower-case hex
	SHA256   string    `json:"sha256,omitempty"` // certificate fingerprint, hex
	NotAfter time.Time `json:"not_after"`
	Kind     string    `json:"kind,omitempty"`   // "root" or "intermediate"
	Source   string    `json:"source,omitempty"` // file or folder it came from
}

// AnchorOf describes cert; a trust store can build its list with it.
func AnchorOf(cert *x509.Certificate, kind, source string) Anchor {
	sum := sha256.Sum256(cert.Raw)
	return Anchor{
		Subject:  smime.DistinguishedName(cert.Subject),
		Issuer:   smime.DistinguishedName(cert.Issuer),
		Serial:   cert.SerialNumber.Text(16),
		SHA256:   hex.EncodeToString(sum[:]),
		NotAfter: cert.NotAfter,
		Kind:     kind,
		Source:   source,
	}
}

// CRL describes one certificate revocation list (RFC 5280 section 5).
type CRL struct {
	Issuer     string    `json:"issuer"`
	URL        string    `json:"url,omitempty"` // distribution point; "" if imported by hand
	ThisUpdate time.Time `json:"this_update"`
	NextUpdate time.Time `json:"next_update"`
	Entries    int       `json:"entries"`              // revoked certificates listed
	LastError  string    `json:"last_error,omitempty"` // why the last refresh failed
}

// Check is one readiness condition for /readyz: Run returns nil when
// ready. It should honour ctx's deadline.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}
