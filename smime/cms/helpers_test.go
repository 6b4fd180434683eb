package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
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

// testIdentity is a key and certificate written to a temp dir, so that
// both this package and the openssl command can use them.
type testIdentity struct {
	cert     *x509.Certificate
	key      crypto.Signer
	certPath string
	keyPath  string
}

// requireOpenSSL skips when openssl is missing, except in CI, where a
// missing openssl is a broken test environment and must fail.
func requireOpenSSL(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("openssl is required in CI: %v", err)
		}
		t.Skip("openssl not installed")
	}
}

func newRSAIdentity(t testing.TB, dir, name string, bits int) *testIdentity {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return newIdentity(t, dir, name, key)
}

func newECIdentity(t testing.TB, dir, name string) *testIdentity {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return newIdentity(t, dir, name, key)
}

func newIdentity(t testing.TB, dir, name string, key crypto.Signer) *testIdentity {
	t.Helper()
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	ski := sha1.Sum(pubDER)
	tmpl := &x509.Certificate{
		SerialNumber:   serial,
		Subject:        pkix.Name{CommonName: name, Organization: []string{"smimeproxy test"}},
		NotBefore:      time.Now().Add(-time.Hour),
		NotAfter:       time.Now().Add(24 * time.Hour),
		KeyUsage:       x509.KeyUsageKeyEncipherment | x509.KeyUsageKeyAgreement,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		SubjectKeyId:   ski[:],
		EmailAddresses: []string{name + "@example.org"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	id := &testIdentity{cert: cert, key: key,
		certPath: filepath.Join(dir, name+".crt"), keyPath: filepath.Join(dir, name+".key")}
	writePEM(t, id.certPath, "CERTIFICATE", der)
	writePEM(t, id.keyPath, "PRIVATE KEY", keyDER)
	return id
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	data := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// runOpenSSL runs openssl with args and returns its stdout.
func runOpenSSL(t testing.TB, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("openssl", args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("openssl %v: %v\n%s", args, err, stderr.Bytes())
	}
	return stdout.Bytes()
}

// opensslEncrypt encrypts content with `openssl cms -encrypt -binary
// -outform DER` and the given options, which name the recipients with
// -recip (each -keyopt applies to the -recip before it).
func opensslEncrypt(t testing.TB, dir string, content []byte, opts ...string) []byte {
	t.Helper()
	in := filepath.Join(dir, "plain.bin")
	if err := os.WriteFile(in, content, 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"cms", "-encrypt", "-binary", "-in", in, "-outform", "DER"}, opts...)
	return runOpenSSL(t, nil, args...)
}

func opensslDecrypt(t testing.TB, dir string, der []byte, id *testIdentity,
	extra ...string) []byte {
	t.Helper()
	in := filepath.Join(dir, "msg.der")
	if err := os.WriteFile(in, der, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"cms", "-decrypt", "-binary", "-inform", "DER", "-in", in,
		"-recip", id.certPath, "-inkey", id.keyPath}
	return runOpenSSL(t, nil, append(args, extra...)...)
}

// opensslHasLegacy reports whether the legacy provider (DES, RC2) loads.
func opensslHasLegacy() bool {
	err := exec.Command("openssl", "list", "-provider", "legacy", "-cipher-algorithms").Run()
	return err == nil
}

// sampleContent returns n bytes of MIME-like text with some binary.
func sampleContent(n int) []byte {
	head := []byte("Content-Type: text/plain; charset=utf-8\r\n\r\n")
	out := make([]byte, 0, n)
	out = append(out, head...)
	for i := 0; len(out) < n; i++ {
		out = append(out, byte('a'+i%26))
		if i%70 == 69 {
			out = append(out, '\r', '\n', byte(i))
		}
	}
	return out[:n]
}
