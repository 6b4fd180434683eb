package revocation

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

type testCert struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// pki is root -> inter -> {good, bad} plus the HTTP server that publishes
// the CRLs (/root.crl, /inter.crl) and answers OCSP (/ocsp). Every request
// is counted.
type pki struct {
	srv                    *httptest.Server
	root, inter, good, bad *testCert
	hits                   atomic.Int64

	mu      sync.Mutex
	files   map[string][]byte        // path -> body
	ocspSt  map[string]ocsp.Response // serial -> template
	delay   time.Duration
	revoked time.Time
	// responder signs OCSP responses; nil means the issuing CA itself.
	responder *testCert
}

func newPKI(t testing.TB) *pki {
	t.Helper()
	p := &pki{files: map[string][]byte{}, ocspSt: map[string]ocsp.Response{}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	p.root = p.makeCert(t, "Test Root", true, nil, "")
	p.inter = p.makeCert(t, "Test Issuing CA", true, p.root, "/root.crl")
	p.good = p.makeCert(t, "alice", false, p.inter, "/inter.crl")
	p.bad = p.makeCert(t, "mallory", false, p.inter, "/inter.crl")
	p.revoked = testNow.Add(-48 * time.Hour)
	p.publish(t, "/root.crl", p.root, testNow.Add(-time.Hour), testNow.Add(24*time.Hour))
	p.publish(t, "/inter.crl", p.inter, testNow.Add(-time.Hour), testNow.Add(24*time.Hour),
		p.bad.cert)
	p.setOCSP(p.inter.cert, ocsp.Good)
	p.setOCSP(p.good.cert, ocsp.Good)
	p.setOCSP(p.bad.cert, ocsp.Revoked)
	return p
}

func (p *pki) chain(leaf *testCert) []*x509.Certificate {
	return []*x509.Certificate{leaf.cert, p.inter.cert, p.root.cert}
}

func (p *pki) serve(w http.ResponseWriter, r *http.Request) {
	p.hits.Add(1)
	p.mu.Lock()
	delay := p.delay
	p.mu.Unlock()
	time.Sleep(delay)
	if r.URL.Path == "/ocsp" {
		p.serveOCSP(w, r)
		return
	}
	p.mu.Lock()
	body, ok := p.files[r.URL.Path]
	p.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Write(body)
}

func (p *pki) serveOCSP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req, err := ocsp.ParseRequest(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	tmpl, ok := p.ocspSt[req.SerialNumber.String()]
	p.mu.Unlock()
	if !ok {
		tmpl = ocsp.Response{Status: ocsp.Unknown}
	}
	tmpl.SerialNumber = req.SerialNumber
	tmpl.ThisUpdate = testNow.Add(-time.Hour)
	tmpl.NextUpdate = testNow.Add(6 * time.Hour)
	p.mu.Lock()
	signer := p.responder
	p.mu.Unlock()
	issuer := p.inter
	if req.SerialNumber.Cmp(p.inter.cert.SerialNumber) == 0 {
		issuer = p.root
	}
	if signer == nil {
		signer = issuer
	}
	resp, err := ocsp.CreateResponse(issuer.cert, signer.cert, tmpl, signer.key)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Write(resp)
}

func (p *pki) setOCSP(c *x509.Certificate, status int) {
	tmpl := ocsp.Response{Status: status}
	if status == ocsp.Revoked {
		tmpl.RevokedAt = p.revoked
		tmpl.RevocationReason = ocsp.KeyCompromise
	}
	p.mu.Lock()
	p.ocspSt[c.SerialNumber.String()] = tmpl
	p.mu.Unlock()
}

func (p *pki) makeCert(t testing.TB, cn string, ca bool, parent *testCert,
	crlPath string) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sn, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             testNow.AddDate(-1, 0, 0),
		NotAfter:              testNow.AddDate(1, 0, 0),
		BasicConstraintsValid: true,
		IsCA:                  ca,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		OCSPServer:            []string{p.srv.URL + "/ocsp"},
	}
	if crlPath != "" {
		tmpl.CRLDistributionPoints = []string{p.srv.URL + crlPath}
	}
	if ca {
		tmpl.KeyUsage |= x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	}
	signer, issuer := crypto.Signer(key), tmpl
	if parent != nil {
		signer, issuer = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCert{cert: c, key: key}
}

// makeCRL signs a CRL revoking the given certificates (keyCompromise at
// p.revoked).
func (p *pki) makeCRL(t testing.TB, ca *testCert, this, next time.Time,
	revoked ...*x509.Certificate) []byte {
	t.Helper()
	tmpl := &x509.RevocationList{
		Number:     big.NewInt(this.Unix()),
		ThisUpdate: this,
		NextUpdate: next,
	}
	for _, c := range revoked {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries,
			x509.RevocationListEntry{SerialNumber: c.SerialNumber, RevocationTime: p.revoked,
				ReasonCode: 1})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func (p *pki) publish(t testing.TB, path string, ca *testCert, this, next time.Time,
	revoked ...*x509.Certificate) []byte {
	der := p.makeCRL(t, ca, this, next, revoked...)
	p.setFile(path, der)
	return der
}

func (p *pki) setFile(path string, body []byte) {
	p.mu.Lock()
	p.files[path] = body
	p.mu.Unlock()
}

func newService(t testing.TB, opts Options, clk *clock) *Service {
	t.Helper()
	if opts.Now == nil {
		opts.Now = clk.Now
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	// Registered after the test's TempDir calls, so it runs before their
	// removal: a detached fetch must not write into a vanishing folder.
	t.Cleanup(s.Close)
	return s
}
