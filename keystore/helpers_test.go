package keystore

import (
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

// sharedTestdata is the team's read-only test data, seen from this package.
const sharedTestdata = "../../shared/testdata"

func newTestVault(t *testing.T) (*FileVault, string) {
	t.Helper()
	dir := t.TempDir()
	key := make([]byte, MasterKeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	v, err := OpenFileVault(dir, key)
	if err != nil {
		t.Fatal(err)
	}
	return v, dir
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(sharedTestdata, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// needOpenSSL returns the openssl path. Under CI=true a missing openssl is a
// failure, since CI must run every test.
func needOpenSSL(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("openssl is required under CI: %v", err)
		}
		t.Skipf("openssl not installed: %v", err)
	}
	return path
}

// selfSigned makes a certificate for a fresh key: RSA-2048 or EC P-256.
func selfSigned(t *testing.T, cn string, ec bool,
	notBefore time.Time) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	var priv crypto.Signer
	var err error
	if ec {
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    notBefore,
		NotAfter:     notBefore.Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, priv
}

// writePEMPair writes cert and key as PEM files in dir.
func writePEMPair(t *testing.T, dir string, cert *x509.Certificate, priv any) (string, string) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	certPath := filepath.Join(dir, "cert.pem")
	keyPath := filepath.Join(dir, "key.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := os.WriteFile(certPath, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}

// opensslP12 exports cert and key with openssl pkcs12 and extra flags.
func opensslP12(t *testing.T, cert *x509.Certificate, priv any, pw string,
	flags ...string) []byte {
	t.Helper()
	openssl := needOpenSSL(t)
	dir := t.TempDir()
	certPath, keyPath := writePEMPair(t, dir, cert, priv)
	out := filepath.Join(dir, "out.p12")
	args := append([]string{"pkcs12", "-export", "-in", certPath, "-inkey", keyPath,
		"-out", out, "-passout", "pass:" + pw}, flags...)
	if msg, err := exec.Command(openssl, args...).CombinedOutput(); err != nil {
		t.Fatalf("openssl %v: %v\n%s", flags, err, msg)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// opensslInfo returns `openssl pkcs12 -info` output, to check that a
// generated file really uses the encryption a test claims.
func opensslInfo(t *testing.T, p12 []byte, pw string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.p12")
	if err := os.WriteFile(path, p12, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(needOpenSSL(t), "pkcs12", "-info", "-noout", "-legacy",
		"-in", path, "-passin", "pass:"+pw)
	msg, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("openssl pkcs12 -info: %v\n%s", err, msg)
	}
	return string(msg)
}

func parsePEMCert(t *testing.T, data []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatal("no PEM block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func marshalPKCS8(key any) ([]byte, error) { return x509.MarshalPKCS8PrivateKey(key) }
