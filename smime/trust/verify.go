package trust

import (
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// maxChainLen bounds the diagnosis walk; real S/MIME chains have 2 to 4 links.
const maxChainLen = 8

var emailUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}

// Verify builds the chains from leaf to a configured root, using the store's
// intermediates and extra (certificates from the message: intermediates
// only), valid at `at`, for e-mail protection (RFC 8550 section 4.4.4).
// Self-signed certificates in extra are ignored: a message cannot bring its
// own anchor. Errors wrap ErrUntrusted, ErrExpired, ErrNotYetValid or
// ErrBadUsage; a chain that fails only because of a SHA-1 or MD5 signature
// wraps ErrUntrusted and ErrWeakAlgorithm.
func (s *Store) Verify(leaf *x509.Certificate, extra []*x509.Certificate,
	at time.Time) ([][]*x509.Certificate, error) {
	inter := s.interPool
	extra = usableExtra(leaf, extra)
	if len(extra) > 0 {
		inter = inter.Clone()
		for _, c := range extra {
			inter.AddCert(c)
		}
	}
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots:         s.roots,
		Intermediates: inter,
		CurrentTime:   at,
		KeyUsages:     emailUsage,
	})
	if err == nil {
		return chains, nil
	}
	return nil, s.classify(leaf, extra, at, err)
}

// usableExtra drops the leaf and self-signed certificates from the message's
// certificates.
func usableExtra(leaf *x509.Certificate, extra []*x509.Certificate) []*x509.Certificate {
	out := make([]*x509.Certificate, 0, len(extra))
	for _, c := range extra {
		if c == nil || c.Equal(leaf) || isSelfSigned(c) {
			continue
		}
		out = append(out, c)
	}
	return out
}

func isSelfSigned(c *x509.Certificate) bool {
	return string(c.RawSubject) == string(c.RawIssuer) && c.CheckSignatureFrom(c) == nil
}

// classify turns a crypto/x509 error into one of our sentinels with a reason
// a person can read. crypto/x509 reports an expired intermediate or a SHA-1
// link only as "unknown authority", so for that case we walk the candidate
// issuers ourselves to say what actually went wrong.
func (s *Store) classify(leaf *x509.Certificate, extra []*x509.Certificate,
	at time.Time, err error) error {
	var inv x509.CertificateInvalidError
	if errors.As(err, &inv) {
		switch inv.Reason {
		case x509.Expired:
			return validityError(inv.Cert, at)
		case x509.IncompatibleUsage:
			return fmt.Errorf("%w: %s (extended key usage lacks emailProtection)",
				ErrBadUsage, name(inv.Cert))
		}
		return fmt.Errorf("%w: %w", ErrUntrusted, err)
	}
	var ua x509.UnknownAuthorityError
	if !errors.As(err, &ua) {
		return fmt.Errorf("%w: %w", ErrUntrusted, err)
	}
	w := &walker{s: s, extra: extra}
	path := w.walk([]*x509.Certificate{leaf})
	if path == nil && w.weak != nil {
		return fmt.Errorf("%w: %w", ErrUntrusted, w.weak)
	}
	for _, c := range path {
		if verr := validityError(c, at); verr != nil {
			return verr
		}
	}
	return fmt.Errorf("%w: issuer %q of %s is not trusted: %w", ErrUntrusted,
		leaf.Issuer.String(), name(leaf), err)
}

// validityError reports why c is not valid at `at`, or nil if it is.
func validityError(c *x509.Certificate, at time.Time) error {
	switch {
	case c == nil:
		return fmt.Errorf("%w: (certificate unknown)", ErrExpired)
	case at.Before(c.NotBefore):
		return fmt.Errorf("%w: %s is valid from %s", ErrNotYetValid, name(c),
			c.NotBefore.UTC().Format(time.RFC3339))
	case at.After(c.NotAfter):
		return fmt.Errorf("%w: %s expired %s", ErrExpired, name(c),
			c.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

func name(c *x509.Certificate) string {
	if c == nil {
		return "certificate"
	}
	return fmt.Sprintf("certificate %q (serial %s)", c.Subject.String(), c.SerialNumber)
}

// walker searches a path to a root by signatures alone, ignoring time and
// usage, remembering the first SHA-1/MD5 link it had to refuse.
type walker struct {
	s     *Store
	extra []*x509.Certificate
	weak  error
}

func (w *walker) candidates(c *x509.Certificate) []*x509.Certificate {
	out := append([]*x509.Certificate(nil), w.s.bySubject[string(c.RawIssuer)]...)
	for _, e := range w.extra {
		if string(e.RawSubject) == string(c.RawIssuer) {
			out = append(out, e)
		}
	}
	return out
}

func (w *walker) walk(path []*x509.Certificate) []*x509.Certificate {
	c := path[len(path)-1]
	if w.s.isRoot(c) {
		return path
	}
	if len(path) >= maxChainLen {
		return nil
	}
	for _, p := range w.candidates(c) {
		if contains(path, p) && !p.Equal(c) {
			continue
		}
		err := c.CheckSignatureFrom(p)
		var ia x509.InsecureAlgorithmError
		if errors.As(err, &ia) && w.weak == nil {
			w.weak = fmt.Errorf("%w: %s is signed with %v by %q", ErrWeakAlgorithm, name(c),
				x509.SignatureAlgorithm(ia), p.Subject.String())
		}
		if err != nil || p.Equal(c) {
			continue
		}
		if found := w.walk(append(path[:len(path):len(path)], p)); found != nil {
			return found
		}
	}
	return nil
}

func contains(path []*x509.Certificate, c *x509.Certificate) bool {
	for _, p := range path {
		if p.Equal(c) {
			return true
		}
	}
	return false
}

func (s *Store) isRoot(c *x509.Certificate) bool { return s.rootFP[sha256.Sum256(c.Raw)] }
