package revocation

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/smimeproxy/smimeproxy/smime/trust"
)

// CRLInfo describes one cached CRL, for `smimeproxy crl list`.
type CRLInfo struct {
	Issuer     string
	ThisUpdate time.Time
	NextUpdate time.Time // zero when the CRL has none
	Entries    int
	Source     string // the URL, or "imported"
	Number     string // the CRL number, "" when absent
}

func (r *crlRecord) info() CRLInfo {
	i := CRLInfo{
		Issuer:     r.list.Issuer.String(),
		ThisUpdate: r.list.ThisUpdate,
		NextUpdate: r.list.NextUpdate,
		Entries:    len(r.list.RevokedCertificateEntries),
		Source:     r.url,
	}
	if r.url == "" {
		i.Source = "imported"
	}
	if r.list.Number != nil {
		i.Number = r.list.Number.String()
	}
	return i
}

// CRLs lists the CRLs held, imported ones first, then by issuer.
func (s *Service) CRLs() []CRLInfo {
	s.rescan()
	s.mu.RLock()
	var out []CRLInfo
	for _, r := range s.imported {
		out = append(out, r.info())
	}
	for _, r := range s.byURL {
		out = append(out, r.info())
	}
	s.mu.RUnlock()
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.Source == "imported") != (b.Source == "imported") {
			return a.Source == "imported"
		}
		return a.Issuer+a.Source < b.Issuer+b.Source
	})
	return out
}

// Import adds a CRL obtained by hand (for CAs whose CRLs sit behind a
// firewall). It must be signed by a root or intermediate of store (an
// intermediate must chain to a root of store) and not be expired. It
// replaces an imported CRL of the same issuer unless that one is newer. The
// CRL is written to the cache directory, where a running serve finds it.
func (s *Service) Import(data []byte, store *trust.Store) (CRLInfo, error) {
	if s.opts.CacheDir == "" {
		return CRLInfo{}, ErrNoCache
	}
	list, err := parseCRL(data)
	if err != nil {
		return CRLInfo{}, err
	}
	now := s.opts.Now()
	issuer, err := findIssuer(list, store, now)
	if err != nil {
		return CRLInfo{}, err
	}
	r := newCRLRecord(list, "", now)
	if err := r.verify(issuer); err != nil {
		return CRLInfo{}, err
	}
	if !r.current(now) {
		return CRLInfo{}, fmt.Errorf("%w: nextUpdate %s has passed", ErrStale,
			list.NextUpdate.UTC().Format(time.RFC3339))
	}
	if err := s.replaceImported(r, list.Raw); err != nil {
		return CRLInfo{}, err
	}
	return r.info(), nil
}

// findIssuer finds the certificate of store that signed list.
func findIssuer(list *x509.RevocationList, store *trust.Store, now time.Time) (
	*x509.Certificate, error) {
	var errs []error
	for _, e := range store.Entries() {
		if !bytes.Equal(e.Cert.RawSubject, list.RawIssuer) {
			continue
		}
		if err := verifyCRL(list, e.Cert); err != nil {
			errs = append(errs, err)
			continue
		}
		if e.Kind == trust.KindIntermediate {
			if err := chainsToRoot(e.Cert, store, now); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		return e.Cert, nil
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("%w: no certificate in the trust store is named %q",
			ErrNoIssuer, list.Issuer.String())
	}
	return nil, fmt.Errorf("%w: %w", ErrNoIssuer, errors.Join(errs...))
}

func chainsToRoot(c *x509.Certificate, store *trust.Store, now time.Time) error {
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	for _, r := range store.Roots() {
		roots.AddCert(r)
	}
	for _, i := range store.Intermediates() {
		inters.AddCert(i)
	}
	_, err := c.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters,
		CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return fmt.Errorf("intermediate %q does not chain to a root: %w",
			c.Subject.String(), err)
	}
	return nil
}

func (s *Service) replaceImported(r *crlRecord, der []byte) error {
	s.rescan()
	s.mu.Lock()
	defer s.mu.Unlock()
	var keep, drop []*crlRecord
	for _, old := range s.imported {
		if !bytes.Equal(old.list.RawIssuer, r.list.RawIssuer) {
			keep = append(keep, old)
			continue
		}
		if r.list.ThisUpdate.Before(old.list.ThisUpdate) {
			return fmt.Errorf("%w: imported CRL of %q from %s is newer", ErrOlder,
				old.list.Issuer.String(), old.list.ThisUpdate.UTC().Format(time.RFC3339))
		}
		drop = append(drop, old)
	}
	if err := s.saveCRL(r, der); err != nil {
		return fmt.Errorf("revocation: cache: %w", err)
	}
	for _, old := range drop {
		if old.base != r.base {
			if err := s.removeCRLFiles(old.base); err != nil {
				return fmt.Errorf("revocation: cache: %w", err)
			}
		}
	}
	s.imported = append(keep, r)
	return nil
}
