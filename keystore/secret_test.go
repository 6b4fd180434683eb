package keystore

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"testing"

	"github.com/smimeproxy/smimeproxy/smime"
	"github.com/smimeproxy/smimeproxy/smime/cms"
)

const entity = "Content-Type: text/plain\r\n\r\nhello\r\n"

func TestSecrets(t *testing.T) {
	v, _ := newTestVault(t)
	kek := bytes.Repeat([]byte{9}, 32)
	if _, err := v.AddSecret("Alice@example.org", SecretKEK, []byte("kek-id"), kek); err != nil {
		t.Fatal(err)
	}
	if _, err := v.AddSecret("alice@example.org", SecretPassword, []byte("archive"),
		[]byte("pass phrase")); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		kind   string
		secret []byte
	}{{SecretKEK, make([]byte, 20)}, {"pin", []byte("1")}, {SecretPassword, nil}} {
		_, err := v.AddSecret("alice@example.org", bad.kind, []byte("x"), bad.secret)
		if !errors.Is(err, ErrUnsupportedKey) {
			t.Errorf("%s %d: %v", bad.kind, len(bad.secret), err)
		}
	}
	keys, err := v.Keys(context.Background(), "alice@example.org")
	if err != nil || len(keys) != 2 {
		t.Fatalf("%d keys: %v", len(keys), err)
	}
	infos, err := v.List(context.Background(), "")
	if err != nil || len(infos) != 2 {
		t.Fatalf("list: %v %+v", err, infos)
	}
	for _, tc := range []cms.EncryptRecipient{{KEKID: []byte("kek-id"), KEK: kek},
		{Password: []byte("pass phrase")}} {
		der, err := cms.EncryptFor([]byte(entity), []cms.EncryptRecipient{tc},
			cms.EncryptOptions{PBKDF2Iterations: 32})
		if err != nil {
			t.Fatal(err)
		}
		res := smime.DecryptEntity(der, "binary", keys, cms.Limits{})
		if res.Outcome != smime.OutcomeDecrypted || string(res.Inner) != entity {
			t.Fatalf("%v: %v", res, res.Err)
		}
	}
	other, _ := v.Keys(context.Background(), "bob@example.org")
	if len(other) != 0 {
		t.Fatalf("bob has %d keys", len(other))
	}
}

func TestSecretEntryTampered(t *testing.T) {
	v, dir := newTestVault(t)
	info, err := v.AddSecret("alice", SecretKEK, []byte("id"), make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "users", "alice", info.ID+".json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Pointing the entry at another KEK id breaks its name binding.
	data = bytes.Replace(data, []byte(`"aWQ="`), []byte(`"aWR4"`), 1)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Keys(context.Background(), "alice"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("got %v", err)
	}
}

// TestImportX25519 imports RFC 9216 Carlos (X25519 decryption key, whose
// certificate key crypto/x509 cannot read, and an Ed25519 signing key).
func TestImportX25519(t *testing.T) {
	p12, err := os.ReadFile("../../shared/testdata/rfc9216/carlos.p12")
	if err != nil {
		t.Skipf("shared test data: %v", err)
	}
	v, _ := newTestVault(t)
	infos, err := v.ImportPKCS12("carlos", p12, "carlos")
	if err != nil || len(infos) != 2 {
		t.Fatalf("import: %v %+v", err, infos)
	}
	algs := infos[0].Algorithm + " " + infos[1].Algorithm
	if algs != "x25519 ed25519" && algs != "ed25519 x25519" {
		t.Errorf("algorithms %q", algs)
	}
	keys, err := v.Keys(context.Background(), "carlos")
	if err != nil {
		t.Fatal(err)
	}
	var certs []*x509.Certificate
	for _, k := range keys {
		certs = append(certs, k.Certificate)
	}
	der, err := cms.Encrypt([]byte(entity), certs[:1], cms.EncryptOptions{})
	if err != nil {
		der, err = cms.Encrypt([]byte(entity), certs[1:], cms.EncryptOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
	res := smime.DecryptEntity(der, "binary", keys, cms.Limits{})
	if res.Outcome != smime.OutcomeDecrypted {
		t.Fatalf("%v: %v", res, res.Err)
	}
}

// TestImportECDHThunderbird imports Fran-ec.p12 (P-384, NSS) and opens
// OpenSSL's ECDH messages to it through DecryptEntity.
func TestImportECDHThunderbird(t *testing.T) {
	v, _ := newTestVault(t)
	p12 := readTestdata(t, "thunderbird/Fran-ec.p12")
	if _, err := v.ImportPKCS12("fran", p12, "nss"); err != nil {
		t.Fatal(err)
	}
	keys, err := v.Keys(context.Background(), "fran")
	if err != nil || len(keys) != 1 {
		t.Fatalf("%d keys: %v", len(keys), err)
	}
	for _, name := range []string{"aes128-sha256", "aes256-sha512"} {
		file := "thunderbird/interop/fran-ec_ossl-" + name + ".env"
		msg, err := mail.ReadMessage(bytes.NewReader(readTestdata(t, file)))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(msg.Body)
		cte := msg.Header.Get("Content-Transfer-Encoding")
		res := smime.DecryptEntity(body, cte, keys, cms.Limits{})
		if res.Outcome != smime.OutcomeDecrypted ||
			!bytes.Contains(res.Inner, []byte("This is a test message to Fran.")) {
			t.Fatalf("%s: %v %v", name, res, res.Err)
		}
	}
}
