package trust

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testNow is the fixed clock of these tests.
var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

type testCert struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// certSpec describes a certificate to make; zero fields get sensible values.
type certSpec struct {
	cn        string
	ca        bool
	notBefore time.Time
	notAfter  time.Time
	eku       []x509.ExtKeyUsage
}

func makeCert(t testing.TB, spec certSpec, parent *testCert) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if spec.notBefore.IsZero() {
		spec.notBefore = testNow.AddDate(-1, 0, 0)
	}
	if spec.notAfter.IsZero() {
		spec.notAfter = testNow.AddDate(1, 0, 0)
	}
	sn, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: spec.cn},
		NotBefore:             spec.notBefore,
		NotAfter:              spec.notAfter,
		ExtKeyUsage:           spec.eku,
		BasicConstraintsValid: true,
		IsCA:                  spec.ca,
		KeyUsage:              x509.KeyUsageDigitalSignature,
	}
	if spec.ca {
		tmpl.KeyUsage |= x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	} else {
		tmpl.EmailAddresses = []string{spec.cn + "@example.org"}
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

var emailEKU = []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}

// testPKI is root -> inter -> leaf, all for e-mail.
type testPKI struct {
	root, inter, leaf *testCert
}

func newPKI(t testing.TB) *testPKI {
	root := makeCert(t, certSpec{cn: "Test Root", ca: true}, nil)
	inter := makeCert(t, certSpec{cn: "Test Issuing CA", ca: true}, root)
	leaf := makeCert(t, certSpec{cn: "alice", eku: emailEKU}, inter)
	return &testPKI{root: root, inter: inter, leaf: leaf}
}

func writePEM(t testing.TB, path string, certs ...*x509.Certificate) string {
	t.Helper()
	var data []byte
	for _, c := range certs {
		data = append(data, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	writeBytes(t, path, data)
	return path
}

func writeBytes(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
