package pipeline

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/smimeproxy/smimeproxy/smime"
)

// The test keys of package smime (throwaway, see its testdata/README.md).
var keyDir = filepath.Join("..", "..", "smime", "testdata")

func testKey(t testing.TB, name string) smime.Key {
	t.Helper()
	certPEM, err := os.ReadFile(filepath.Join(keyDir, name+".crt"))
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(keyDir, name+".key"))
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		t.Fatalf("%s: bad PEM", name)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return smime.Key{ID: name, Certificate: cert, Private: priv}
}

// countingKeys is a KeySource that counts how often it was asked.
type countingKeys struct {
	keys  []smime.Key
	err   error
	calls atomic.Int32
}

func (k *countingKeys) Keys(context.Context) ([]smime.Key, error) {
	k.calls.Add(1)
	return k.keys, k.err
}

func bobKeys(t testing.TB) *countingKeys {
	return &countingKeys{keys: []smime.Key{testKey(t, "bob"), testKey(t, "bob-old")}}
}

// opensslSMIME encrypts inner with `openssl cms -encrypt` and returns its
// S/MIME output: MIME-Version, Content-Disposition, Content-Type and
// Content-Transfer-Encoding fields, a blank line and the base64 body, with
// LF line endings as openssl writes them.
func opensslSMIME(t testing.TB, inner string, args []string, recips ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	if err := os.WriteFile(in, []byte(inner), 0o600); err != nil {
		t.Fatal(err)
	}
	argv := append([]string{"cms", "-encrypt", "-in", in}, args...)
	for _, r := range recips {
		abs, err := filepath.Abs(filepath.Join(keyDir, r+".crt"))
		if err != nil {
			t.Fatal(err)
		}
		argv = append(argv, "-recip", abs)
	}
	var stderr bytes.Buffer
	cmd := exec.Command("openssl", argv...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl %v: %v: %s", args, err, stderr.String())
	}
	return out
}

const outerFields = "Return-Path: <alice@example.org>\r\n" +
	"Received: from mx.example.org by imap.example.org;\r\n\tMon, 1 Dec 2026 10:00:00 +0000\r\n" +
	"From: Alice <alice@example.org>\r\n" +
	"To: Bob <bob@example.org>\r\n" +
	"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= secret\r\n" +
	"Date: Mon, 1 Dec 2026 10:00:00 +0000\r\n" +
	"Message-ID: <m1@example.org>\r\n"

const innerEntity = "Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: 8bit\r\n" +
	"\r\n" +
	"Hello Bob,\r\nthe code is 42.\r\n"

// encryptedMessage makes a whole CRLF message: outerFields, then openssl's
// S/MIME entity (its line endings turned to CRLF).
func encryptedMessage(t testing.TB, extraOuter, inner string, args []string,
	recips ...string) []byte {
	t.Helper()
	entity := string(opensslSMIME(t, inner, args, recips...))
	entity = strings.ReplaceAll(entity, "\r\n", "\n")
	entity = strings.ReplaceAll(entity, "\n", "\r\n")
	return []byte(outerFields + extraOuter + entity)
}

// headerOf returns the header block of msg (without the blank line) and
// its fields as "Name: value" strings, unfolded.
func headerFields(t testing.TB, msg []byte) []string {
	t.Helper()
	var out []string
	s := newFieldScanner(msg)
	for f, ok := s.next(); ok; f, ok = s.next() {
		out = append(out, fmt.Sprintf("%s: %s", f.name(msg), f.value(msg)))
	}
	return out
}

func bodyOf(msg []byte) []byte {
	s := newFieldScanner(msg)
	for _, ok := s.next(); ok; _, ok = s.next() {
	}
	return msg[s.body:]
}

func countField(t testing.TB, msg []byte, name string) int {
	n := 0
	for _, f := range headerFields(t, msg) {
		if strings.HasPrefix(strings.ToLower(f), strings.ToLower(name)+":") {
			n++
		}
	}
	return n
}

func fieldValue(t testing.TB, msg []byte, name string) string {
	for _, f := range headerFields(t, msg) {
		if strings.HasPrefix(strings.ToLower(f), strings.ToLower(name)+":") {
			return strings.TrimSpace(f[len(name)+1:])
		}
	}
	return ""
}

var errVaultDown = errors.New("vault down")

// thunderbirdSample returns the published NSS sample alice.env.eml and
// Bob's key from Bob.p12 (password "nss"), or skips without shared data.
func thunderbirdSample(t *testing.T) ([]byte, smime.Key) {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "testdata", "thunderbird")
	raw, err := os.ReadFile(filepath.Join(dir, "alice.env.eml"))
	if err != nil {
		t.Skipf("shared test data not available: %v", err)
	}
	p12, err := os.ReadFile(filepath.Join(dir, "Bob.p12"))
	if err != nil {
		t.Fatal(err)
	}
	priv, cert, _, err := pkcs12.DecodeChain(p12, "nss")
	if err != nil {
		// QUIRK(NSS): NSS writes PKCS#12 in BER, also inside the MAC'd
		// content, which go-pkcs12 (DER only) cannot read; re-export it.
		priv, cert, _, err = pkcs12.DecodeChain(reexportP12(t, p12, "nss"), "nss")
		if err != nil {
			t.Fatal(err)
		}
	}
	return raw, smime.Key{ID: "tb-bob", Certificate: cert, Private: priv}
}

func reexportP12(t *testing.T, p12 []byte, password string) []byte {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	pass := "pass:" + password
	export := exec.Command("openssl", "pkcs12", "-passin", pass, "-nodes")
	export.Stdin = bytes.NewReader(p12)
	pemData, err := export.Output()
	if err != nil {
		t.Fatalf("openssl pkcs12: %v", err)
	}
	reimport := exec.Command("openssl", "pkcs12", "-export", "-passout", pass)
	reimport.Stdin = bytes.NewReader(pemData)
	der, err := reimport.Output()
	if err != nil {
		t.Fatalf("openssl pkcs12 -export: %v", err)
	}
	return der
}
