package integration

import (
	"fmt"
	"os"
	"path/filepath"
)

// testPKI is a throw-away CA, a TLS server certificate for 127.0.0.1 (used
// by Dovecot and by the proxy's client side) and S/MIME identities, all
// made by openssl at test time so that no key is ever checked in.
type testPKI struct {
	dir        string
	caCert     string
	serverCert string
	serverKey  string
	// p12Password is the file holding the password of every .p12 below.
	p12Password string
	ids         map[string]*identity
}

// identity is an S/MIME certificate and key for one mailbox.
type identity struct {
	email string
	cert  string // PEM path
	key   string // PEM path
	p12   string // PKCS#12 (OpenSSL 3 default: PBES2, AES-256-CBC)
}

// The identities: alice and bob have their keys in the vault, alice also an
// older one; carol's key is never imported.
const (
	idAlice    = "alice"
	idAliceOld = "alice-old"
	idBob      = "bob"
	idCarol    = "carol"
)

var identityEmails = map[string]string{
	idAlice:    "alice@example.org",
	idAliceOld: "alice@example.org",
	idBob:      "bob@example.org",
	idCarol:    "carol@example.org",
}

func newTestPKI(dir string) (*testPKI, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	p := &testPKI{dir: dir, ids: map[string]*identity{}}
	if err := p.makeCA(); err != nil {
		return nil, err
	}
	if err := p.makeServer(); err != nil {
		return nil, err
	}
	p.p12Password = filepath.Join(dir, "p12.password")
	// No trailing newline: the password is exactly the file's content.
	if err := os.WriteFile(p.p12Password, []byte("test-p12-secret"), 0o600); err != nil {
		return nil, err
	}
	// CMS RecipientInfos is a DER SET OF, sorted by encoding: bob's lower
	// serial puts him first in messages to bob and alice.
	for serial, name := range []string{idBob, idAlice, idAliceOld, idCarol} {
		id, err := p.makeIdentity(name, 4097+serial)
		if err != nil {
			return nil, fmt.Errorf("identity %s: %w", name, err)
		}
		p.ids[name] = id
	}
	return p, nil
}

func (p *testPKI) makeCA() error {
	p.caCert = filepath.Join(p.dir, "ca.crt")
	_, err := run(p.dir, nil, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
		"-keyout", "ca.key", "-out", "ca.crt", "-days", "3",
		"-subj", "/O=smimeproxy tests/CN=Test CA")
	return err
}

func (p *testPKI) makeServer() error {
	p.serverCert = filepath.Join(p.dir, "server.crt")
	p.serverKey = filepath.Join(p.dir, "server.key")
	ext := "basicConstraints=CA:FALSE\n" +
		"keyUsage=digitalSignature,keyEncipherment\n" +
		"extendedKeyUsage=serverAuth\n" +
		"subjectAltName=DNS:localhost,IP:127.0.0.1\n"
	return p.signed("server", "/CN=localhost", ext, 0x500)
}

func (p *testPKI) makeIdentity(name string, serial int) (*identity, error) {
	email := identityEmails[name]
	ext := "basicConstraints=CA:FALSE\n" +
		"keyUsage=digitalSignature,keyEncipherment\n" +
		"extendedKeyUsage=emailProtection\n" +
		"subjectAltName=email:" + email + "\n" +
		"subjectKeyIdentifier=hash\n" +
		"authorityKeyIdentifier=keyid\n"
	subj := fmt.Sprintf("/CN=%s/emailAddress=%s", name, email)
	if err := p.signed(name, subj, ext, serial); err != nil {
		return nil, err
	}
	id := &identity{
		email: email,
		cert:  filepath.Join(p.dir, name+".crt"),
		key:   filepath.Join(p.dir, name+".key"),
		p12:   filepath.Join(p.dir, name+".p12"),
	}
	_, err := run(p.dir, nil, "openssl", "pkcs12", "-export",
		"-inkey", id.key, "-in", id.cert, "-certfile", p.caCert,
		"-name", name, "-passout", "file:"+p.p12Password, "-out", id.p12)
	return id, err
}

// signed makes NAME.key and NAME.crt signed by the CA with the given
// extensions.
func (p *testPKI) signed(name, subj, ext string, serial int) error {
	extFile := filepath.Join(p.dir, name+".ext")
	if err := os.WriteFile(extFile, []byte(ext), 0o644); err != nil {
		return err
	}
	_, err := run(p.dir, nil, "openssl", "req", "-newkey", "rsa:2048", "-nodes",
		"-keyout", name+".key", "-out", name+".csr", "-subj", subj)
	if err != nil {
		return err
	}
	_, err = run(p.dir, nil, "openssl", "x509", "-req", "-in", name+".csr",
		"-CA", "ca.crt", "-CAkey", "ca.key", "-set_serial", fmt.Sprint(serial),
		"-days", "3", "-extfile", extFile, "-out", name+".crt")
	return err
}
