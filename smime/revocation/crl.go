package revocation

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"sync"
	"time"
)

// crlRecord is one CRL in memory, indexed for a map lookup per certificate.
type crlRecord struct {
	list    *x509.RevocationList
	url     string    // "" when imported
	base    string    // file name in the cache dir without extension; "" in memory only
	fetched time.Time // when fetched or imported
	revoked map[string]x509.RevocationListEntry

	mu        sync.Mutex
	verified  map[[32]byte]error // by issuer fingerprint
	issuer    *x509.Certificate  // the issuer it last verified against, for refresh
	refreshAt time.Time
}

func newCRLRecord(list *x509.RevocationList, url string, fetched time.Time) *crlRecord {
	r := &crlRecord{
		list:     list,
		url:      url,
		fetched:  fetched,
		revoked:  make(map[string]x509.RevocationListEntry, len(list.RevokedCertificateEntries)),
		verified: map[[32]byte]error{},
	}
	for _, e := range list.RevokedCertificateEntries {
		r.revoked[serialKey(e.SerialNumber)] = e
	}
	r.refreshAt = r.planRefresh()
	return r
}

// serialKey is a map key for a serial number; the sign matters (RFC 5280
// forbids negative serials, but some CAs issued them).
func serialKey(n *big.Int) string {
	if n.Sign() < 0 {
		return "-" + string(n.Bytes())
	}
	return string(n.Bytes())
}

// planRefresh picks when Run fetches the CRL again: before nextUpdate by a
// fifth of its validity (at most 12 hours), minus up to half that again at
// random, so that many proxies spread their requests.
func (r *crlRecord) planRefresh() time.Time {
	next := r.expiry()
	if next.IsZero() {
		return time.Time{}
	}
	lead := next.Sub(r.list.ThisUpdate) / 5
	lead = min(max(lead, time.Minute), 12*time.Hour)
	return next.Add(-lead - rand.N(lead/2+1))
}

// expiry is when the CRL stops counting; zero means never (imported without
// nextUpdate).
func (r *crlRecord) expiry() time.Time {
	switch {
	case !r.list.NextUpdate.IsZero():
		return r.list.NextUpdate
	case r.url == "":
		return time.Time{}
	}
	return r.fetched.Add(DefaultCRLTTL)
}

func (r *crlRecord) current(now time.Time) bool {
	exp := r.expiry()
	return exp.IsZero() || now.Before(exp)
}

// verify checks, once per issuer, that issuer signed the CRL (RFC 5280
// section 6.3.3 (f) and (g)).
func (r *crlRecord) verify(issuer *x509.Certificate) error {
	fp := sha256.Sum256(issuer.Raw)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err, ok := r.verified[fp]; ok {
		return err
	}
	err := verifyCRL(r.list, issuer)
	r.verified[fp] = err
	if err == nil {
		r.issuer = issuer
	}
	return err
}

func verifyCRL(list *x509.RevocationList, issuer *x509.Certificate) error {
	if !bytes.Equal(list.RawIssuer, issuer.RawSubject) {
		return fmt.Errorf("%w: issued by %q, not by %q", ErrBadCRL, list.Issuer.String(),
			issuer.Subject.String())
	}
	if aki := list.AuthorityKeyId; len(aki) > 0 && len(issuer.SubjectKeyId) > 0 &&
		!bytes.Equal(aki, issuer.SubjectKeyId) {
		return fmt.Errorf("%w: authority key id does not match %q", ErrBadCRL,
			issuer.Subject.String())
	}
	if err := list.CheckSignatureFrom(issuer); err != nil {
		return fmt.Errorf("%w: signature (%v) by %q: %w", ErrBadCRL, list.SignatureAlgorithm,
			issuer.Subject.String(), err)
	}
	return nil
}

func (r *crlRecord) status(cert *x509.Certificate) certResult {
	e, ok := r.revoked[serialKey(cert.SerialNumber)]
	if !ok {
		return certResult{status: Good, source: "crl"}
	}
	return certResult{status: Revoked, source: "crl", revokedAt: e.RevocationTime,
		reason: reasonName(e.ReasonCode)}
}

// checkCRL answers from a current, verified CRL in memory, else fetches.
// TODO(revocation-idp): partitioned and indirect CRLs (issuing distribution
// point, RFC 5280 section 5.2.5) and delta CRLs are not interpreted.
func (s *Service) checkCRL(ctx context.Context, cert, issuer *x509.Certificate) certResult {
	urls := httpURLs(cert.CRLDistributionPoints)
	if r := s.currentCRL(urls, issuer); r != nil {
		return r.status(cert)
	}
	if s.rescan() {
		if r := s.currentCRL(urls, issuer); r != nil {
			return r.status(cert)
		}
	}
	if len(urls) == 0 {
		return noSource()
	}
	var errs []error
	for _, u := range urls {
		r, err := s.fetchCRL(ctx, u, issuer)
		if err == nil {
			return r.status(cert)
		}
		errs = append(errs, err)
	}
	return unknown("crl", errors.Join(errs...))
}

// currentCRL finds a current CRL verified for issuer: one from the given
// URLs, else an imported one.
func (s *Service) currentCRL(urls []string, issuer *x509.Certificate) *crlRecord {
	now := s.opts.Now()
	s.mu.RLock()
	cands := make([]*crlRecord, 0, len(urls)+1)
	for _, u := range urls {
		if r := s.byURL[u]; r != nil {
			cands = append(cands, r)
		}
	}
	for _, r := range s.imported {
		if bytes.Equal(r.list.RawIssuer, issuer.RawSubject) {
			cands = append(cands, r)
		}
	}
	s.mu.RUnlock()
	for _, r := range cands {
		if r.current(now) && r.verify(issuer) == nil {
			return r
		}
	}
	return nil
}

// fetchCRL downloads, verifies and stores the CRL at u, one download per
// URL at a time.
func (s *Service) fetchCRL(ctx context.Context, u string, issuer *x509.Certificate) (
	*crlRecord, error) {
	v, err := s.flight.do(ctx, "crl "+u, func() (any, error) {
		return s.downloadCRL(ctx, u, issuer)
	})
	if err != nil {
		return nil, err
	}
	r := v.(*crlRecord)
	if err := r.verify(issuer); err != nil {
		return nil, err
	}
	return r, nil
}

func (s *Service) downloadCRL(ctx context.Context, u string, issuer *x509.Certificate) (
	*crlRecord, error) {
	der, err := s.fetch(ctx, u, nil, s.opts.MaxCRLBytes)
	if err != nil {
		return nil, err
	}
	list, err := parseCRL(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	now := s.opts.Now()
	r := newCRLRecord(list, u, now)
	if !r.refreshAt.IsZero() && !now.Before(r.refreshAt) {
		// The CA has not published a newer CRL yet: look again after a
		// quarter of the remaining time, not at every tick.
		r.refreshAt = now.Add(max(s.opts.RefreshInterval, r.expiry().Sub(now)/4))
	}
	if err := r.verify(issuer); err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	if !r.current(now) {
		return nil, fmt.Errorf("%w: %s: nextUpdate %s has passed", ErrStale, u,
			list.NextUpdate.UTC().Format(time.RFC3339))
	}
	if err := s.storeFetched(r, der); err != nil {
		return nil, err
	}
	return r, nil
}

// storeFetched replaces the CRL of the same URL unless the new one is older
// (a replayed old CRL must not undo a revocation).
func (s *Service) storeFetched(r *crlRecord, der []byte) error {
	s.mu.Lock()
	old := s.byURL[r.url]
	if old != nil && r.list.ThisUpdate.Before(old.list.ThisUpdate) {
		s.mu.Unlock()
		return fmt.Errorf("%w: %s: thisUpdate %s before %s", ErrOlder, r.url,
			r.list.ThisUpdate.UTC().Format(time.RFC3339),
			old.list.ThisUpdate.UTC().Format(time.RFC3339))
	}
	s.byURL[r.url] = r
	s.mu.Unlock()
	if err := s.saveCRL(r, der); err != nil {
		s.log.Warn("cannot write CRL cache", "url", r.url, "error", err)
	}
	return nil
}

// parseCRL accepts DER or PEM ("X509 CRL").
func parseCRL(data []byte) (*x509.RevocationList, error) {
	if block, _ := pem.Decode(data); block != nil && block.Type == "X509 CRL" {
		data = block.Bytes
	}
	list, err := x509.ParseRevocationList(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCRL, err)
	}
	return list, nil
}
