package main

import (
	"bytes"
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
	"strings"
	"testing"
	"time"

	"github.com/smimeproxy/smimeproxy/smime/trust"
)

// trustEnv is a temp dir with a config whose [trust] lists root.pem and
// manages dir trust/, and whose CRL cache is rev/.
type trustEnv struct {
	dir, config string
}

type cliCert struct {
	cert *x509.Certificate
	key  crypto.Signer
	file string
}

func newTrustEnv(t *testing.T) *trustEnv {
	t.Helper()
	dir := t.TempDir()
	e := &trustEnv{dir: dir, config: filepath.Join(dir, "smimeproxy.toml")}
	text := `[imap]
listen = "127.0.0.1:0"
upstream = "127.0.0.1:143"
upstream_tls = "none"
allow_insecure_auth = true

[keystore]
path = "vault"
master_key_file = "master.key"

[trust]
roots = ["root.pem"]
dir = "trust"

[revocation]
cache_dir = "rev"
`
	if err := os.WriteFile(e.config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *trustEnv) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args = append([]string{args[0], args[1], "-config", e.config}, args[2:]...)
	code := runMain(args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// cert makes a certificate signed by parent (self-signed when nil) and
// writes it as PEM to name in the env's dir.
func (e *trustEnv) cert(t *testing.T, name string, ca bool, parent *cliCert) *cliCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sn, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  ca,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign |
			x509.KeyUsageCRLSign,
	}
	signer, issuer := crypto.Signer(key), tmpl
	if parent != nil {
		signer, issuer = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	file := filepath.Join(e.dir, name+".pem")
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return &cliCert{cert: c, key: key, file: file}
}

func TestTrustCLI(t *testing.T) {
	e := newTrustEnv(t)
	root := e.cert(t, "root", true, nil)
	other := e.cert(t, "other", true, nil)
	inter := e.cert(t, "inter", true, root)
	leaf := e.cert(t, "leaf", false, inter)

	code, out, errOut := e.run(t, "trust", "list")
	if code != 0 || !strings.Contains(out, "root  CN=root") ||
		!strings.Contains(out, trust.Fingerprint(root.cert)) {
		t.Fatalf("list = %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = e.run(t, "trust", "add", other.file)
	if code != 0 || !strings.Contains(out, `added root "CN=other"`) {
		t.Fatalf("add = %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := e.run(t, "trust", "add", other.file); code != 0 ||
		!strings.Contains(out, "already trusted") {
		t.Fatalf("second add = %d %s", code, out)
	}
	if code, _, errOut := e.run(t, "trust", "add", "-intermediate", leaf.file); code != 1 ||
		!strings.Contains(errOut, "not a CA") {
		t.Fatalf("leaf as intermediate = %d %s", code, errOut)
	}
	if code, _, errOut := e.run(t, "trust", "add", "-intermediate", inter.file); code != 0 {
		t.Fatalf("add intermediate = %d %s", code, errOut)
	}
	_, out, _ = e.run(t, "trust", "list")
	if strings.Count(out, "\n") != 4 || !strings.Contains(out, "intermediate  CN=inter") {
		t.Fatalf("list after add:\n%s", out)
	}

	fp := trust.Fingerprint(root.cert)
	if code, _, errOut := e.run(t, "trust", "remove", fp[:16]); code != 1 ||
		!strings.Contains(errOut, "edit the config") {
		t.Fatalf("remove configured = %d %s", code, errOut)
	}
	code, out, errOut = e.run(t, "trust", "remove", trust.Fingerprint(other.cert))
	if code != 0 || !strings.Contains(out, `removed root "CN=other"`) {
		t.Fatalf("remove = %d %s%s", code, out, errOut)
	}
	config, _ := os.ReadFile(e.config)
	if strings.Contains(string(config), "other") {
		t.Error("the config file was edited")
	}
}

func TestCRLCLI(t *testing.T) {
	e := newTrustEnv(t)
	root := e.cert(t, "root", true, nil)
	inter := e.cert(t, "inter", true, root)
	fake := e.cert(t, "inter-fake", true, nil)
	if code, _, errOut := e.run(t, "trust", "add", "-intermediate", inter.file); code != 0 {
		t.Fatal(errOut)
	}
	writeCRL := func(name string, signer *cliCert, issuer *x509.Certificate) string {
		tmpl := &x509.RevocationList{
			Number:     big.NewInt(1),
			ThisUpdate: time.Now().Add(-time.Hour),
			NextUpdate: time.Now().Add(time.Hour),
			RevokedCertificateEntries: []x509.RevocationListEntry{
				{SerialNumber: big.NewInt(42), RevocationTime: time.Now().Add(-time.Hour)}},
		}
		fakeIssuer := *issuer
		fakeIssuer.PublicKey = signer.key.Public()
		der, err := x509.CreateRevocationList(rand.Reader, tmpl, &fakeIssuer, signer.key)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(e.dir, name)
		os.WriteFile(path, der, 0o644)
		return path
	}
	good := writeCRL("inter.crl", inter, inter.cert)
	forged := writeCRL("forged.crl", fake, inter.cert)

	code, out, errOut := e.run(t, "crl", "import", good)
	if code != 0 || !strings.Contains(out, `imported CRL of "CN=inter": 1 revoked`) {
		t.Fatalf("import = %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = e.run(t, "crl", "import", forged)
	if code != 1 || !strings.Contains(errOut, "not signed by a trusted CA") {
		t.Fatalf("forged import = %d %s", code, errOut)
	}
	code, out, errOut = e.run(t, "crl", "list")
	if code != 0 || !strings.Contains(out, "CN=inter") || !strings.Contains(out, "imported") ||
		strings.Count(out, "\n") != 2 {
		t.Fatalf("list = %d\n%s%s", code, out, errOut)
	}
}

func TestTrustCRLUsage(t *testing.T) {
	e := newTrustEnv(t)
	e.cert(t, "root", true, nil)
	for _, args := range [][]string{
		{"trust"}, {"trust", "frobnicate"}, {"crl"}, {"crl", "export"},
		{"trust", "add", "-config", e.config},
		{"trust", "list", "extra"},
		{"crl", "import"},
	} {
		var stdout, stderr bytes.Buffer
		if code := runMain(args, strings.NewReader(""), &stdout, &stderr); code != 2 {
			t.Errorf("%v = %d, want 2\n%s", args, code, stderr.String())
		}
	}
	code, _, errOut := e.run(t, "crl", "import", filepath.Join(e.dir, "none.crl"))
	if code != 1 || !strings.Contains(errOut, "none.crl") {
		t.Errorf("missing file = %d %s", code, errOut)
	}
}
