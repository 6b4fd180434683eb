package config

import (
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

// testDir makes a temp dir with the files a valid config refers to:
// cert.pem + key.pem (self-signed, also usable as ca.pem), master.key, and
// two bad master keys: loose.key (mode 0644) and raw.key (not base64).
func testDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	certPEM, keyPEM := selfSigned(t, time.Now().Add(365*24*time.Hour))
	writeFile(t, filepath.Join(dir, "cert.pem"), certPEM, 0o644)
	writeFile(t, filepath.Join(dir, "ca.pem"), certPEM, 0o644)
	writeFile(t, filepath.Join(dir, "key.pem"), keyPEM, 0o600)
	writeFile(t, filepath.Join(dir, "master.key"), []byte(testMasterKey+"\n"), 0o600)
	writeFile(t, filepath.Join(dir, "loose.key"), []byte(testMasterKey), 0o644)
	writeFile(t, filepath.Join(dir, "raw.key"), make([]byte, 32), 0o600)
	return dir
}

func writeFile(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // umask
		t.Fatal(err)
	}
}

func selfSigned(t *testing.T, notAfter time.Time) (certPEM, keyPEM []byte) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "localhost"},
		DNSNames:              []string{"localhost"},
		NotBefore:             notAfter.Add(-2 * 365 * 24 * time.Hour),
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM
}

// testMasterKey is the base64 of 32 zero bytes, the keystore's format.
const testMasterKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

// Valid building blocks; relative paths resolve against the config's dir.
const (
	okIMAP     = "[imap]\nupstream = \"127.0.0.1:143\"\n"
	okTLS      = "[tls]\ncert_file = \"cert.pem\"\nkey_file = \"key.pem\"\n"
	okKeystore = "[keystore]\npath = \"vault\"\nmaster_key_file = \"master.key\"\n"
	okAll      = okIMAP + okTLS + okKeystore
)

// load writes text as config.toml into dir and loads it.
func load(t *testing.T, dir, text string, opts Options) (*Config, error) {
	t.Helper()
	path := filepath.Join(dir, "config.toml")
	writeFile(t, path, []byte(text), 0o644)
	if opts.Getenv == nil {
		opts.Getenv = func(string) string { return "" }
	}
	return LoadWith(path, opts)
}

// problems returns the problems of err, failing the test if err is not *Error.
func problems(t *testing.T, err error) []Problem {
	t.Helper()
	cerr, ok := err.(*Error)
	if !ok {
		t.Fatalf("error %v (%T), want *config.Error", err, err)
	}
	return cerr.Problems
}
