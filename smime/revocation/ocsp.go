package revocation

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/crypto/ocsp"
)

// ocspRecord is one verified OCSP response in memory.
type ocspRecord struct {
	resp    *ocsp.Response
	expires time.Time
}

// ocspKey names a certificate: its issuer and its serial number.
func ocspKey(cert, issuer *x509.Certificate) string {
	sum := sha256.Sum256(append(append([]byte(nil), issuer.Raw...),
		[]byte(serialKey(cert.SerialNumber))...))
	return hex.EncodeToString(sum[:16])
}

func (r *ocspRecord) status() certResult {
	switch r.resp.Status {
	case ocsp.Good:
		return certResult{status: Good, source: "ocsp"}
	case ocsp.Revoked:
		return certResult{status: Revoked, source: "ocsp", revokedAt: r.resp.RevokedAt,
			reason: reasonName(r.resp.RevocationReason)}
	}
	return unknown("ocsp", ErrOCSPUnknown)
}

// checkOCSP answers from a cached response, else asks the responders named
// in the certificate's authority information access (RFC 5280 section
// 4.2.2.1).
func (s *Service) checkOCSP(ctx context.Context, cert, issuer *x509.Certificate) certResult {
	key := ocspKey(cert, issuer)
	if r := s.cachedOCSP(key, cert, issuer); r != nil {
		return r.status()
	}
	urls := httpURLs(cert.OCSPServer)
	if len(urls) == 0 {
		return noSource()
	}
	var errs []error
	for _, u := range urls {
		v, err := s.flight.do(ctx, "ocsp "+key+" "+u, func() (any, error) {
			return s.askOCSP(ctx, u, key, cert, issuer)
		})
		if err == nil {
			return v.(*ocspRecord).status()
		}
		errs = append(errs, err)
	}
	return unknown("ocsp", errors.Join(errs...))
}

// cachedOCSP returns a current response from memory, else from disk.
func (s *Service) cachedOCSP(key string, cert, issuer *x509.Certificate) *ocspRecord {
	now := s.opts.Now()
	s.mu.RLock()
	r := s.ocsp[key]
	s.mu.RUnlock()
	if r != nil && now.Before(r.expires) {
		return r
	}
	if s.opts.CacheDir == "" {
		return nil
	}
	der, err := os.ReadFile(filepath.Join(s.ocspDir(), key+".der"))
	if err != nil {
		return nil
	}
	r, err = s.acceptOCSP(der, cert, issuer)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	s.ocsp[key] = r
	s.mu.Unlock()
	return r
}

func (s *Service) askOCSP(ctx context.Context, u, key string, cert,
	issuer *x509.Certificate) (*ocspRecord, error) {
	// The CertID hashes with SHA-1 by default (RFC 6960 section 4.1.1); it
	// is an identifier, not a signature, and every responder accepts it.
	req, err := ocsp.CreateRequest(cert, issuer, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: request: %w", ErrBadOCSP, err)
	}
	der, err := s.fetch(ctx, u, req, maxOCSPBytes)
	if err != nil {
		return nil, err
	}
	r, err := s.acceptOCSP(der, cert, issuer)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	s.mu.Lock()
	s.ocsp[key] = r
	s.mu.Unlock()
	if s.opts.CacheDir != "" {
		if err := writeFileAtomic(s.ocspDir(), key+".der", der); err != nil {
			s.log.Warn("cannot write OCSP cache", "url", u, "error", err)
		}
	}
	return r, nil
}

// acceptOCSP parses and checks a response for cert: signed by issuer or by
// a responder certificate issuer delegated with id-kp-OCSPSigning (RFC 6960
// section 4.2.2.2), and current.
func (s *Service) acceptOCSP(der []byte, cert, issuer *x509.Certificate) (*ocspRecord, error) {
	resp, err := ocsp.ParseResponseForCert(der, cert, issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadOCSP, err)
	}
	if rc := resp.Certificate; rc != nil && !rc.Equal(issuer) &&
		!slices.Contains(rc.ExtKeyUsage, x509.ExtKeyUsageOCSPSigning) {
		return nil, fmt.Errorf("%w: responder %q is not delegated for OCSP signing",
			ErrBadOCSP, rc.Subject.String())
	}
	now := s.opts.Now()
	const skew = 5 * time.Minute
	if resp.ThisUpdate.After(now.Add(skew)) {
		return nil, fmt.Errorf("%w: thisUpdate %s is in the future", ErrBadOCSP,
			resp.ThisUpdate.UTC().Format(time.RFC3339))
	}
	expires := resp.NextUpdate
	if expires.IsZero() {
		expires = now.Add(ocspNoNextUpdateTTL)
	}
	if !now.Before(expires) {
		return nil, fmt.Errorf("%w: nextUpdate %s has passed", ErrBadOCSP,
			expires.UTC().Format(time.RFC3339))
	}
	return &ocspRecord{resp: resp, expires: expires}, nil
}
