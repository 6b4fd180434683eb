package integration

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// verifyPKI is the signature test PKI, made at test time: a root and an
// issuing CA (openssl), signers under them, a signer under a CA nobody
// trusts, an expired signer (Go: openssl 3.0 cannot backdate), and a CRL
// for the issuing CA (Go) served over HTTP on loopback.
type verifyPKI struct {
	dir        string
	root       string // PEM path of the trusted root
	issuing    string // PEM path of the issuing CA, carried in the messages
	crlPath    string // DER CRL of the issuing CA
	revokedAt  time.Time
	crlServer  *httptest.Server
	crlFetches atomic.Int32
	signers    map[string]*signerIdentity
}

// signerIdentity is a signing certificate and key with its address.
type signerIdentity struct {
	email  string
	cert   string
	key    string
	serial int
}

// The signers. Each names the CRL distribution point it uses.
const (
	sigDave      = "dave"      // RSA, good
	sigErin      = "erin"      // EC P-256, good
	sigRob       = "rob"       // RSA, revoked on the CRL
	sigOld       = "old"       // expired
	sigMallory   = "mallory"   // under the untrusted CA
	sigFrank     = "frank"     // certificate names frank@, used as From dave@
	sigDown      = "down"      // CRL distribution point answers 503
	sigOffline   = "offline"   // CRL only imported by hand
	sigOfflineRv = "offline-r" // revoked on the imported CRL
)

func newVerifyPKI(tb testing.TB) *verifyPKI {
	tb.Helper()
	p := &verifyPKI{dir: testDir(tb), signers: map[string]*signerIdentity{}}
	p.crlServer = httptest.NewServer(http.HandlerFunc(p.serveCRL))
	tb.Cleanup(p.crlServer.Close)
	p.makeCAs(tb)
	url := p.crlServer.URL
	for i, s := range []struct{ name, email, cdp, key string }{
		{sigDave, "dave@example.org", url + "/issuing.crl", "rsa:2048"},
		{sigErin, "erin@example.org", url + "/issuing.crl", "ec"},
		{sigRob, "rob@example.org", url + "/issuing.crl", "rsa:2048"},
		{sigFrank, "frank@example.org", url + "/issuing.crl", "rsa:2048"},
		{sigDown, "down@example.org", url + "/down.crl", "rsa:2048"},
		{sigOffline, "offline@example.org", url + "/offline.crl", "rsa:2048"},
		{sigOfflineRv, "offline-r@example.org", url + "/offline.crl", "rsa:2048"},
	} {
		p.signers[s.name] = p.issue(tb, s.name, s.email, s.cdp, s.key, "issuing", 0x7000+i)
	}
	p.signers[sigMallory] = p.issue(tb, sigMallory, "dave@example.org", url+"/other.crl",
		"rsa:2048", "other", 0x7100)
	p.signers[sigOld] = p.expired(tb, sigOld, "old@example.org", 0x7200)
	p.revokedAt = time.Now().Add(-48 * time.Hour).UTC().Truncate(24 * time.Hour)
	p.crlPath = filepath.Join(p.dir, "issuing.crl")
	p.writeCRL(tb, p.crlPath, p.signers[sigRob].serial, p.signers[sigOfflineRv].serial)
	return p
}

// serveCRL serves the issuing CA's CRL at /issuing.crl and fails every
// other distribution point, counting what it is asked.
func (p *verifyPKI) serveCRL(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/issuing.crl" {
		http.Error(w, "down for the test", http.StatusServiceUnavailable)
		return
	}
	p.crlFetches.Add(1)
	data, err := os.ReadFile(p.crlPath)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/pkix-crl")
	_, _ = w.Write(data)
}

func (p *verifyPKI) openssl(tb testing.TB, args ...string) {
	tb.Helper()
	if _, err := run(p.dir, nil, "openssl", args...); err != nil {
		tb.Fatal(err)
	}
}

func (p *verifyPKI) writeFile(tb testing.TB, name, content string) string {
	tb.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

const caExt = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n" +
	"subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"

// makeCAs makes the trusted root, its issuing CA, and an untrusted root.
func (p *verifyPKI) makeCAs(tb testing.TB) {
	tb.Helper()
	for _, ca := range []struct{ name, cn string }{{"root", "Verify Root"},
		{"other", "Untrusted Root"}} {
		p.openssl(tb, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca.name+".key",
			"-out", ca.name+".crt", "-days", "3", "-subj", "/O=smimeproxy tests/CN="+ca.cn,
			"-addext", "basicConstraints=critical,CA:TRUE",
			"-addext", "keyUsage=critical,keyCertSign,cRLSign")
	}
	ext := p.writeFile(tb, "issuing.ext", caExt)
	p.openssl(tb, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "issuing.key",
		"-out", "issuing.csr", "-subj", "/O=smimeproxy tests/CN=Verify Issuing CA")
	p.openssl(tb, "x509", "-req", "-in", "issuing.csr", "-CA", "root.crt", "-CAkey", "root.key",
		"-set_serial", "4660", "-days", "3", "-extfile", ext, "-out", "issuing.crt")
	p.root = filepath.Join(p.dir, "root.crt")
	p.issuing = filepath.Join(p.dir, "issuing.crt")
}

// issue makes NAME.key and NAME.crt under the CA called ca.
func (p *verifyPKI) issue(tb testing.TB, name, email, cdp, keySpec, ca string,
	serial int) *signerIdentity {
	tb.Helper()
	ext := p.writeFile(tb, name+".ext", "basicConstraints=CA:FALSE\n"+
		"keyUsage=digitalSignature,nonRepudiation,keyEncipherment\n"+
		"extendedKeyUsage=emailProtection\nsubjectAltName=email:"+email+"\n"+
		"crlDistributionPoints=URI:"+cdp+"\n"+
		"subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
	newKey := []string{"-newkey", keySpec}
	if keySpec == "ec" {
		newKey = []string{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"}
	}
	p.openssl(tb, append(append([]string{"req"}, newKey...), "-nodes", "-keyout", name+".key",
		"-out", name+".csr", "-subj", "/CN="+name)...)
	p.openssl(tb, "x509", "-req", "-in", name+".csr", "-CA", ca+".crt", "-CAkey", ca+".key",
		"-set_serial", fmt.Sprint(serial), "-days", "3", "-extfile", ext, "-out", name+".crt")
	return &signerIdentity{email: email, cert: filepath.Join(p.dir, name+".crt"),
		key: filepath.Join(p.dir, name+".key"), serial: serial}
}

// expired makes a signer whose certificate ended yesterday, with Go.
func (p *verifyPKI) expired(tb testing.TB, name, email string, serial int) *signerIdentity {
	tb.Helper()
	p.openssl(tb, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
		"-out", name+".key")
	key := readPEMKey(tb, filepath.Join(p.dir, name+".key"))
	caCert := readPEMCert(tb, p.issuing)
	caKey := readPEMKey(tb, filepath.Join(p.dir, "issuing.key"))
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(int64(serial)), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-72 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour),
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		EmailAddresses: []string{email},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, key.Public(), caKey)
	if err != nil {
		tb.Fatal(err)
	}
	path := p.writeFile(tb, name+".crt",
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	return &signerIdentity{email: email, cert: path, key: filepath.Join(p.dir, name+".key"),
		serial: serial}
}

// writeCRL writes a current CRL of the issuing CA revoking serials.
func (p *verifyPKI) writeCRL(tb testing.TB, path string, serials ...int) {
	tb.Helper()
	caCert := readPEMCert(tb, p.issuing)
	caKey := readPEMKey(tb, filepath.Join(p.dir, "issuing.key"))
	var entries []x509.RevocationListEntry
	for _, s := range serials {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: big.NewInt(int64(s)),
			RevocationTime: p.revokedAt})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: time.Now().Add(-time.Hour),
		NextUpdate: time.Now().Add(24 * time.Hour), RevokedCertificateEntries: entries,
	}, caCert, caKey)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, der, 0o644); err != nil {
		tb.Fatal(err)
	}
}

func readPEMCert(tb testing.TB, path string) *x509.Certificate {
	tb.Helper()
	block := readPEMBlock(tb, path)
	cert, err := x509.ParseCertificate(block)
	if err != nil {
		tb.Fatal(err)
	}
	return cert
}

func readPEMKey(tb testing.TB, path string) crypto.Signer {
	tb.Helper()
	key, err := x509.ParsePKCS8PrivateKey(readPEMBlock(tb, path))
	if err != nil {
		tb.Fatal(err)
	}
	return key.(crypto.Signer)
}

func readPEMBlock(tb testing.TB, path string) []byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		tb.Fatalf("%s: no PEM", path)
	}
	return b.Bytes
}

// config is the [trust] and [revocation] sections for the proxy. The
// issuing CA is configured as an intermediate (so that `crl import` can
// check the CRL's signature) only when withIssuing is set; otherwise it
// comes with each message.
func (p *verifyPKI) config(cacheDir string, failOpen, withIssuing bool) string {
	inter := ""
	if withIssuing {
		inter = fmt.Sprintf("%q", p.issuing)
	}
	return fmt.Sprintf("\n[trust]\nroots = [%q]\nintermediates = [%s]\ndir = \"\"\n"+
		"\n[revocation]\nmode = \"crl\"\nfail_open = %t\ntimeout = \"3s\"\ncache_dir = %q\n",
		p.root, inter, failOpen, cacheDir)
}

// hexSerial is how body.smime-serial writes a serial.
func hexSerial(n int) string { return strings.ToUpper(fmt.Sprintf("%x", n)) }
