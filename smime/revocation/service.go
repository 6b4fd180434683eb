package revocation

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Defaults for zero Options fields. The config documents the same values.
const (
	DefaultTimeout         = 5 * time.Second
	DefaultMaxCRLBytes     = 10 << 20
	DefaultRefreshInterval = time.Minute
	// DefaultCRLTTL is how long a fetched CRL without nextUpdate is used.
	DefaultCRLTTL = 24 * time.Hour
	// ocspNoNextUpdateTTL is how long an OCSP response without nextUpdate is
	// used (RFC 6960 section 2.4 says newer information is always available;
	// we still do not ask once per message).
	ocspNoNextUpdateTTL = time.Hour
	maxOCSPBytes        = 64 << 10
	maxRedirects        = 3
)

// Options configure a Service. The zero value checks CRLs, caches in memory
// only, and uses the defaults above.
type Options struct {
	Mode            Mode          // "" means ModeCRL
	Timeout         time.Duration // per HTTP request; 0 means DefaultTimeout
	CacheDir        string        // "" keeps everything in memory (no import)
	MaxCRLBytes     int64         // 0 means DefaultMaxCRLBytes
	RefreshInterval time.Duration // how often Run looks for due CRLs
	Now             func() time.Time
	HTTPClient      *http.Client // nil: our own, with Timeout and redirect rules
	Logger          hclog.Logger // nil: discard
}

// Service is the Checker: CRL and OCSP caches plus their fetchers. It is
// safe for concurrent use.
type Service struct {
	opts   Options
	client *http.Client
	log    hclog.Logger

	mu       sync.RWMutex
	byURL    map[string]*crlRecord
	imported []*crlRecord
	ocsp     map[string]*ocspRecord
	scanned  time.Time // mod time of the CRL cache dir at the last scan

	flight flightGroup
}

var _ Checker = (*Service)(nil)

// Close waits for fetches that callers stopped waiting for, so that
// nothing writes to the cache directory after it returns. Each fetch is
// bounded by the configured timeout.
func (s *Service) Close() {
	s.flight.running.Wait()
}

// New makes a Service and loads the disk cache. It starts no goroutine; call
// Run for the background refresh.
func New(opts Options) (*Service, error) {
	if opts.Mode == "" {
		opts.Mode = ModeCRL
	}
	switch opts.Mode {
	case ModeCRL, ModeOCSP, ModeBoth, ModeOff:
	default:
		return nil, fmt.Errorf("revocation: unknown mode %q", opts.Mode)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxCRLBytes <= 0 {
		opts.MaxCRLBytes = DefaultMaxCRLBytes
	}
	if opts.RefreshInterval <= 0 {
		opts.RefreshInterval = DefaultRefreshInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	s := &Service{
		opts:   opts,
		client: opts.HTTPClient,
		log:    opts.Logger,
		byURL:  map[string]*crlRecord{},
		ocsp:   map[string]*ocspRecord{},
	}
	if s.client == nil {
		s.client = newHTTPClient()
	}
	if err := s.openCache(); err != nil {
		return nil, err
	}
	return s, nil
}

// certResult is the answer for one certificate.
type certResult struct {
	status    Status
	revokedAt time.Time
	reason    string
	source    string
	err       error
}

// Check checks every certificate of chain except the last (the root). A
// revoked certificate anywhere wins over an unknown one.
func (s *Service) Check(ctx context.Context, chain []*x509.Certificate) Result {
	if s.opts.Mode == ModeOff {
		return Result{Status: Good, Source: string(ModeOff)}
	}
	first := s.firstSource()
	out := Result{Status: Good, Source: first}
	for i := 0; i+1 < len(chain); i++ {
		r := s.checkCert(ctx, chain[i], chain[i+1])
		if i == 0 {
			out.Source = r.source
		}
		switch {
		case r.status == Revoked:
			return Result{Status: Revoked, RevokedAt: r.revokedAt, Reason: r.reason,
				Source: r.source, Err: r.err}
		case r.status == Unknown && out.Status == Good:
			out = Result{Status: Unknown, Source: r.source,
				Err: fmt.Errorf("certificate %q: %w", chain[i].Subject.String(), r.err)}
		}
	}
	return out
}

func (s *Service) firstSource() string {
	if s.opts.Mode == ModeOCSP {
		return "ocsp"
	}
	return "crl"
}

// checkCert asks the configured sources about cert. In ModeBoth OCSP is
// asked only when the CRL gave no answer; the more useful answer wins.
func (s *Service) checkCert(ctx context.Context, cert, issuer *x509.Certificate) certResult {
	switch s.opts.Mode {
	case ModeOCSP:
		return s.checkOCSP(ctx, cert, issuer)
	case ModeBoth:
		r := s.checkCRL(ctx, cert, issuer)
		if r.status != Unknown && r.source != sourceNone {
			return r
		}
		o := s.checkOCSP(ctx, cert, issuer)
		switch {
		case o.source == sourceNone:
			return r
		case o.status == Unknown && r.status == Unknown:
			o.err = fmt.Errorf("crl: %w; ocsp: %w", r.err, o.err)
		}
		return o
	}
	return s.checkCRL(ctx, cert, issuer)
}

// sourceNone is the Source of a certificate that names no CRL or OCSP
// source (and, for CRLs, whose issuer has no imported CRL): nothing can
// revoke it, so it is Good. This is what NSS (Thunderbird) does; an operator
// who wants such a CA checked imports its CRLs.
const sourceNone = "none"

func noSource() certResult { return certResult{status: Good, source: sourceNone} }

func unknown(source string, err error) certResult {
	return certResult{status: Unknown, source: source, err: err}
}
