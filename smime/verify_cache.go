package smime

import (
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"sync"
	"time"
)

// Chain cache bounds: entries live at most chainCacheTTL (so a change of
// the trust store shows within minutes) and never past the NotAfter of a
// certificate in the chain; at most chainCacheMax are kept.
const (
	chainCacheTTL = 5 * time.Minute
	chainCacheMax = 4096
)

// chainCache remembers trusted chains by the certificates a message
// carried, so that mail from a regular correspondent costs one signature
// check instead of two or three. Only successes are kept: a failure is
// cheap to find again and may be temporary.
type chainCache struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]chainEntry
}

type chainEntry struct {
	chain []*x509.Certificate
	until time.Time
}

func chainKey(leaf *x509.Certificate, extra []*x509.Certificate) [sha256.Size]byte {
	h := sha256.New()
	h.Write(leaf.Raw)
	for _, c := range extra {
		h.Write(c.Raw)
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

func (c *chainCache) get(key [sha256.Size]byte, now time.Time) ([]*x509.Certificate, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || !now.Before(e.until) {
		return nil, false
	}
	return e.chain, true
}

func (c *chainCache) put(key [sha256.Size]byte, chain []*x509.Certificate, now time.Time) {
	until := now.Add(chainCacheTTL)
	for _, cert := range chain {
		if cert.NotAfter.Before(until) {
			until = cert.NotAfter
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= chainCacheMax {
		c.m = make(map[[sha256.Size]byte]chainEntry)
	}
	c.m[key] = chainEntry{chain: chain, until: until}
}

// certCache keeps parsed certificates by the SHA-256 of their DER. A
// parsed certificate is a pure function of its bytes, so entries never go
// stale; the map is emptied when full.
type certCache struct {
	mu    sync.Mutex
	m     map[[sha256.Size]byte]*x509.Certificate
	names map[*x509.Certificate]certNames // for certificates in m
}

// certNames are the strings a result shows of a certificate; formatting
// an issuer name costs more than hashing the certificate.
type certNames struct{ serial, issuer string }

// describe returns the serial (hex) and issuer (RFC 4514) of cert,
// remembered for certificates that came through parse.
func (c *certCache) describe(cert *x509.Certificate) (serial, issuer string) {
	c.mu.Lock()
	n, ok := c.names[cert]
	c.mu.Unlock()
	if ok {
		return n.serial, n.issuer
	}
	n = certNames{serial: fmt.Sprintf("%X", cert.SerialNumber), issuer: cert.Issuer.String()}
	c.mu.Lock()
	// Only certificates held in m are remembered, so that names stays as
	// small as m.
	inCache := c.names != nil && c.m[sha256.Sum256(cert.Raw)] == cert
	if _, cached := c.names[cert]; !cached && inCache {
		c.names[cert] = n
	}
	c.mu.Unlock()
	return n.serial, n.issuer
}

const certCacheMax = 4096

func (c *certCache) parse(der []byte) (*x509.Certificate, error) {
	key := sha256.Sum256(der)
	c.mu.Lock()
	cert, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return cert, nil
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= certCacheMax {
		c.m = make(map[[sha256.Size]byte]*x509.Certificate)
		c.names = make(map[*x509.Certificate]certNames)
	}
	c.m[key] = cert
	return cert, nil
}
