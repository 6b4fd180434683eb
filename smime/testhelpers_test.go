package smime

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// testKey loads testdata/NAME.key and NAME.crt as a Key with ID name.
func testKey(t testing.TB, name string) Key {
	t.Helper()
	certPEM, err := os.ReadFile(filepath.Join("testdata", name+".crt"))
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(filepath.Join("testdata", name+".key"))
	if err != nil {
		t.Fatal(err)
	}
	return Key{ID: name, Certificate: parseCertPEM(t, certPEM), Private: parseKeyPEM(t, keyPEM)}
}

func parseCertPEM(t testing.TB, data []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatal("no PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func parseKeyPEM(t testing.TB, data []byte) any {
	t.Helper()
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatal("no PEM key")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// opensslEncrypt runs `openssl cms -encrypt` on content with the given
// extra arguments and recipient names (testdata/NAME.crt), and returns
// its output. Tests that need it are skipped where openssl is missing.
func opensslEncrypt(t testing.TB, content []byte, args []string, recips ...string) []byte {
	t.Helper()
	data, err := tryOpensslEncrypt(t, content, args, recips...)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// tryOpensslEncrypt is opensslEncrypt for options openssl may lack.
func tryOpensslEncrypt(t testing.TB, content []byte, args []string, recips ...string) (
	[]byte, error) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	if err := os.WriteFile(in, content, 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	argv := append([]string{"cms", "-encrypt", "-in", in, "-out", out}, args...)
	for _, r := range recips {
		abs, err := filepath.Abs(filepath.Join("testdata", r+".crt"))
		if err != nil {
			t.Fatal(err)
		}
		argv = append(argv, "-recip", abs)
	}
	cmd := exec.Command("openssl", argv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("openssl %v: %w: %s", args, err, stderr.String())
	}
	return os.ReadFile(out)
}
