package smime

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smimeproxy/smimeproxy/smime/revocation"
)

// benchPKI is an RSA root, a signer with a CRL distribution point on a
// loopback server, and that server's fetch count.
type benchPKI struct {
	root    *testCA
	signer  *signerID
	fetches *atomic.Int32
	url     string
}

func newBenchPKI(b *testing.B) *benchPKI {
	b.Helper()
	rootKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	rootTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Bench Root"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, SubjectKeyId: []byte{1, 2, 3, 4},
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	if err != nil {
		b.Fatal(err)
	}
	rootCert, _ := x509.ParseCertificate(der)
	root := &testCA{cert: rootCert, key: rootKey}
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1),
		ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour)},
		rootCert, rootKey)
	if err != nil {
		b.Fatal(err)
	}
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fetches.Add(1)
		_, _ = w.Write(crl)
	}))
	b.Cleanup(srv.Close)
	p := &benchPKI{root: root, fetches: &fetches, url: srv.URL + "/root.crl"}
	p.signer = p.issueWithCDP(b)
	return p
}

func (p *benchPKI) issueWithCDP(b *testing.B) *signerID {
	b.Helper()
	dir := b.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Alice"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		EmailAddresses:        []string{"alice@example.org"},
		CRLDistributionPoints: []string{p.url},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.root.cert, key.Public(), p.root.key)
	if err != nil {
		b.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	id := &signerID{cert: cert, certPath: filepath.Join(dir, "alice.crt"),
		keyPath: filepath.Join(dir, "alice.key")}
	writeTestPEM(b, id.certPath, "CERTIFICATE", der)
	writeTestPEM(b, id.keyPath, "PRIVATE KEY", keyDER)
	return id
}

func revocationAdapter(c revocation.Checker) RevocationChecker {
	return RevocationFunc(func(ctx context.Context, chain []*x509.Certificate) Revocation {
		r := c.Check(ctx, chain)
		out := Revocation{Status: RevocationUnknown, Source: r.Source, Err: r.Err,
			RevokedAt: r.RevokedAt}
		switch r.Status {
		case revocation.Good:
			out.Status = RevocationGood
		case revocation.Revoked:
			out.Status = RevocationRevoked
		}
		return out
	})
}

// BenchmarkVerify10KB verifies a 10 KB multipart/signed message end to
// end (MIME split, base64, CMS parse, RSA-2048 signature, chain to the
// root, revocation from a warm CRL cache, policy) and reports the ratio
// to BenchmarkBareRSAVerify in the same run. The CRL server counts
// fetches: after the first message there must be none.
func BenchmarkVerify10KB(b *testing.B) {
	p := newBenchPKI(b)
	rev, err := revocation.New(revocation.Options{Mode: revocation.ModeCRL})
	if err != nil {
		b.Fatal(err)
	}
	v := &Verifier{Trust: trustOnly(p.root), Revocation: revocationAdapter(rev)}
	text := "Content-Type: text/plain\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 560)
	msg := opensslSignMIME(b, p.signer, text, "alice@example.org")
	ct, _, body := splitMessage(b, msg)
	senders := []string{"alice@example.org"}
	ctx := context.Background()
	if r := v.VerifyMultipartSigned(ctx, ct, body, senders).Best(); r.Result != SigPass {
		b.Fatalf("warm-up: %s %s %v", r.Result, r.Reason, r.Err)
	}
	warm := p.fetches.Load()
	bare := newBareRSA(b, p.signer)
	// The machine is shared: each iteration times one verification, one
	// bare RSA check and one digest of the signed text, back to back, so
	// that all see the same load. Digest plus RSA check is what any
	// verifier of this message must do at the least.
	signedText := []byte(text)
	var tVerify, tBare, tDigest time.Duration
	for b.Loop() {
		t0 := time.Now()
		if r := v.VerifyMultipartSigned(ctx, ct, body, senders).Best(); r.Result != SigPass {
			b.Fatalf("%s %s", r.Result, r.Reason)
		}
		t1 := time.Now()
		bare.check(b)
		t2 := time.Now()
		sha256.Sum256(signedText)
		tVerify, tBare, tDigest = tVerify+t1.Sub(t0), tBare+t2.Sub(t1), tDigest+time.Since(t2)
	}
	if n := p.fetches.Load(); n != warm || n != 1 {
		b.Errorf("CRL fetched %d times (after warm-up %d), want 1", n, warm)
	}
	b.ReportMetric(float64(tVerify.Nanoseconds())/float64(b.N), "verify-ns/op")
	b.ReportMetric(float64(tBare.Nanoseconds())/float64(b.N), "bare-rsa-ns/op")
	b.ReportMetric(float64(tVerify)/float64(tBare), "x-bare-rsa")
	b.ReportMetric(float64(tVerify)/float64(tBare+tDigest), "x-digest+rsa")
}

// BenchmarkBareRSAVerify is the floor: one RSA-2048 PKCS #1 v1.5 check of
// a SHA-256 digest, nothing else.
func BenchmarkBareRSAVerify(b *testing.B) {
	p := newBenchPKI(b)
	bare := newBareRSA(b, p.signer)
	for b.Loop() {
		bare.check(b)
	}
}

// bareRSA is a signature over a digest and the key to check it with.
type bareRSA struct {
	pub    *rsa.PublicKey
	digest []byte
	sig    []byte
}

func newBareRSA(b *testing.B, id *signerID) *bareRSA {
	b.Helper()
	key := readRSAKey(b, id.keyPath)
	digest := sha256.Sum256([]byte("bench"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	return &bareRSA{pub: id.cert.PublicKey.(*rsa.PublicKey), digest: digest[:], sig: sig}
}

func (r *bareRSA) check(b *testing.B) {
	if err := rsa.VerifyPKCS1v15(r.pub, crypto.SHA256, r.digest, r.sig); err != nil {
		b.Fatal(err)
	}
}

func readRSAKey(b *testing.B, path string) *rsa.PrivateKey {
	b.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	block, _ := pem.Decode(data)
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		b.Fatal(err)
	}
	return key.(*rsa.PrivateKey)
}
