package smime

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// testCA is a throw-away certificate authority made at test time.
type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// signerID is a signing certificate and key, written as PEM for openssl.
type signerID struct {
	cert     *x509.Certificate
	certPath string
	keyPath  string
}

func nextSerial() *big.Int {
	n, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		panic(err)
	}
	return n.Add(n, big.NewInt(1))
}

func newTestCA(t testing.TB, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(48 * time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key}
}

// certOptions vary a user certificate.
type certOptions struct {
	email     string
	expired   bool
	ec        bool
	keyUsage  x509.KeyUsage
	extUsages []x509.ExtKeyUsage
}

func (ca *testCA) issue(t testing.TB, dir, name string, o certOptions) *signerID {
	t.Helper()
	var key crypto.Signer
	var err error
	if o.ec {
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	} else {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		t.Fatal(err)
	}
	notAfter := time.Now().Add(24 * time.Hour)
	if o.expired {
		notAfter = time.Now().Add(-2 * time.Hour)
	}
	usage := o.keyUsage
	if usage == 0 {
		usage = x509.KeyUsageDigitalSignature
	}
	ext := o.extUsages
	if ext == nil {
		ext = []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}
	}
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-24 * time.Hour), NotAfter: notAfter,
		KeyUsage: usage, ExtKeyUsage: ext, EmailAddresses: []string{o.email},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	id := &signerID{cert: cert, certPath: filepath.Join(dir, name+".crt"),
		keyPath: filepath.Join(dir, name+".key")}
	writeTestPEM(t, id.certPath, "CERTIFICATE", der)
	writeTestPEM(t, id.keyPath, "PRIVATE KEY", keyDER)
	return id
}

func writeTestPEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}),
		0o600); err != nil {
		t.Fatal(err)
	}
}

// poolTrust is a test double of smime/trust.Store.
type poolTrust struct{ roots *x509.CertPool }

func trustOnly(cas ...*testCA) poolTrust {
	pool := x509.NewCertPool()
	for _, ca := range cas {
		pool.AddCert(ca.cert)
	}
	return poolTrust{roots: pool}
}

func (p poolTrust) Verify(leaf *x509.Certificate, extra []*x509.Certificate, at time.Time) (
	[][]*x509.Certificate, error) {
	inter := x509.NewCertPool()
	for _, c := range extra {
		inter.AddCert(c)
	}
	return leaf.Verify(x509.VerifyOptions{Roots: p.roots, Intermediates: inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}})
}

// opensslSignMIME signs a MIME entity with `openssl cms -sign` and returns
// its S/MIME output (multipart/signed, or signed-data with -nodetach)
// with CRLF line endings, as a message From from.
func opensslSignMIME(t testing.TB, id *signerID, entity, from string, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	if err := os.WriteFile(in, []byte(entity), 0o600); err != nil {
		t.Fatal(err)
	}
	argv := append([]string{"cms", "-sign", "-in", in, "-signer", id.certPath,
		"-inkey", id.keyPath, "-from", from, "-to", "bob@example.org",
		"-subject", "signed test"}, args...)
	cmd := exec.Command("openssl", argv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("openssl %v: %v\n%s", argv, err, stderr.Bytes())
	}
	out := bytes.ReplaceAll(stdout.Bytes(), []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(out, []byte("\n"), []byte("\r\n"))
}

// splitMessage returns the Content-Type, Content-Transfer-Encoding and
// body of a message.
func splitMessage(t testing.TB, msg []byte) (ct, cte string, body []byte) {
	t.Helper()
	hdr, body := splitEntity(msg)
	return headerValue(hdr, "Content-Type"), headerValue(hdr, "Content-Transfer-Encoding"), body
}
