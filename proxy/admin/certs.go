package admin

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/smimeproxy/smimeproxy/keystore"
)

type certificatesView struct {
	WindowDays int             `json:"window_days"`
	Vault      vaultView       `json:"vault"`
	Trust      trustView       `json:"trust"`
	Revocation revocationsView `json:"revocation"`
}

type vaultView struct {
	Configured bool          `json:"configured"`
	Total      int           `json:"total"`    // keys in the vault
	Expiring   []expiringKey `json:"expiring"` // within the window or expired, soonest first
	Error      string        `json:"error,omitempty"`
}

// expiringKey is a vault entry's certificate, never its key.
type expiringKey struct {
	User     string    `json:"user"`
	ID       string    `json:"id"`
	Subject  string    `json:"subject"`
	Issuer   string    `json:"issuer"`
	Serial   string    `json:"serial"`
	NotAfter time.Time `json:"not_after"`
	DaysLeft int       `json:"days_left"` // negative once expired
}

type trustView struct {
	Configured bool     `json:"configured"`
	Anchors    []Anchor `json:"anchors"`
	Error      string   `json:"error,omitempty"`
}

type revocationsView struct {
	Configured bool   `json:"configured"`
	CRLs       []CRL  `json:"crls"`
	Error      string `json:"error,omitempty"`
}

// The error texts shown are fixed: a source's own error may name files
// or hosts, which belong in the log.
const sourceFailed = "could not be read; see the log"

func (s *Server) certificates(ctx context.Context) certificatesView {
	view := certificatesView{WindowDays: int(s.opts.ExpiryWindow / (24 * time.Hour))}
	view.Vault = s.vaultView(ctx)
	view.Trust = trustView{Configured: s.opts.Trust != nil, Anchors: []Anchor{}}
	if s.opts.Trust != nil {
		anchors, err := s.opts.Trust.TrustAnchors(ctx)
		if err != nil {
			s.log.Error("admin: trust anchors", "error", err)
			view.Trust.Error = sourceFailed
		}
		view.Trust.Anchors = append(view.Trust.Anchors, anchors...)
	}
	view.Revocation = revocationsView{Configured: s.opts.Revocation != nil, CRLs: []CRL{}}
	if s.opts.Revocation != nil {
		crls, err := s.opts.Revocation.CRLs(ctx)
		if err != nil {
			s.log.Error("admin: CRLs", "error", err)
			view.Revocation.Error = sourceFailed
		}
		view.Revocation.CRLs = append(view.Revocation.CRLs, crls...)
	}
	return view
}

func (s *Server) vaultView(ctx context.Context) vaultView {
	view := vaultView{Configured: s.opts.Vault != nil, Expiring: []expiringKey{}}
	if s.opts.Vault == nil {
		return view
	}
	keys, err := s.certs.list(ctx)
	if err != nil {
		s.log.Error("admin: vault list", "error", err)
		view.Error = sourceFailed
		return view
	}
	now := s.opts.Now()
	view.Total = len(keys)
	for _, k := range keys {
		if k.NotAfter.After(now.Add(s.opts.ExpiryWindow)) {
			continue
		}
		view.Expiring = append(view.Expiring, expiringKey{
			User: k.User, ID: k.ID, Subject: k.Subject, Issuer: k.Issuer, Serial: k.Serial,
			NotAfter: k.NotAfter, DaysLeft: daysLeft(now, k.NotAfter),
		})
	}
	sort.Slice(view.Expiring, func(i, j int) bool {
		return view.Expiring[i].NotAfter.Before(view.Expiring[j].NotAfter)
	})
	return view
}

// daysLeft rounds down: a certificate that expires in 36 hours has 1 day.
func daysLeft(now, notAfter time.Time) int {
	d := notAfter.Sub(now)
	days := int(d / (24 * time.Hour))
	if d < 0 && d%(24*time.Hour) != 0 {
		days--
	}
	return days
}

// certCache keeps the vault listing for a while: a vault of many users is
// read from disk, and the dashboard asks every minute per open browser.
type certCache struct {
	vault keystore.Vault
	now   func() time.Time

	mu   sync.Mutex
	at   time.Time
	keys []keystore.KeyInfo
}

const certCacheTTL = 30 * time.Second

func (c *certCache) list(ctx context.Context) ([]keystore.KeyInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys != nil && c.now().Sub(c.at) < certCacheTTL {
		return c.keys, nil
	}
	keys, err := c.vault.List(ctx, "")
	if err != nil {
		return nil, err
	}
	if keys == nil {
		keys = []keystore.KeyInfo{}
	}
	c.keys, c.at = keys, c.now()
	return keys, nil
}
