package smime

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/smimeproxy/smimeproxy/smime/cms"
)

const innerEntity = "Content-Type: text/plain\r\n\r\nsecret text\r\n"

func ecKey(t *testing.T) Key {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "ec"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return Key{ID: "ec", Certificate: cert, Private: priv}
}

func b64std(der []byte) []byte {
	return []byte(base64.StdEncoding.EncodeToString(der))
}

// TestDecryptEntityRecipientKinds opens envelopes for EC keys, KEK
// secrets and passwords through DecryptEntity.
func TestDecryptEntityRecipientKinds(t *testing.T) {
	ec := ecKey(t)
	kekBytes := bytes.Repeat([]byte{1}, 16)
	kek := Key{ID: "kek", Private: cms.SecretKey{ID: []byte("k1"), Key: kekBytes}}
	pw := Key{ID: "pw", Private: cms.PasswordKey("password")}
	other := Key{ID: "other-kek", Private: cms.SecretKey{ID: []byte("k2"), Key: make([]byte, 16)}}
	for _, tc := range []struct {
		rcpt cms.EncryptRecipient
		keys []Key
		id   string
		form string
	}{
		{cms.EncryptRecipient{Certificate: ec.Certificate}, []Key{kek, ec}, "ec",
			RecipientIssuerSerial},
		{cms.EncryptRecipient{KEKID: []byte("k1"), KEK: bytes.Repeat([]byte{1}, 16)},
			[]Key{pw, other, ec, kek}, "kek", RecipientKEK},
		{cms.EncryptRecipient{Password: []byte("password")}, []Key{ec, kek, pw}, "pw",
			RecipientPassword},
	} {
		der, err := cms.EncryptFor([]byte(innerEntity), []cms.EncryptRecipient{tc.rcpt},
			cms.EncryptOptions{PBKDF2Iterations: 64})
		if err != nil {
			t.Fatal(err)
		}
		res := DecryptEntity(b64std(der), "base64", tc.keys, cms.Limits{})
		if res.Outcome != OutcomeDecrypted || string(res.Inner) != innerEntity ||
			res.KeyID != tc.id || res.Recipient != tc.form {
			t.Fatalf("%s: %v %v %s", tc.id, res, res.Err, res.Recipient)
		}
	}
	der, _ := cms.EncryptFor([]byte(innerEntity), []cms.EncryptRecipient{{Password: []byte("x")}},
		cms.EncryptOptions{PBKDF2Iterations: 64})
	res := DecryptEntity(der, "binary", []Key{pw}, cms.Limits{})
	if res.Outcome != OutcomeCouldNotDecrypt {
		t.Fatalf("wrong password: %v", res)
	}
	if res := DecryptEntity(der, "binary", []Key{kek}, cms.Limits{}); res.Outcome != OutcomeNoKey {
		t.Fatalf("no password key: %v", res)
	}
}

// TestDecompressLayers: compressed-data as the message (DecompressEntity)
// and inside an envelope at the MIME level.
func TestDecompressLayers(t *testing.T) {
	compressed := cms.Compress([]byte(innerEntity))
	got, err := DecompressEntity(b64std(compressed), "base64", cms.Limits{})
	if err != nil || string(got) != innerEntity {
		t.Fatalf("DecompressEntity: %q %v", got, err)
	}
	if _, err := DecompressEntity(b64std(compressed), "base64",
		cms.Limits{MaxDecompressedBytes: 10}); !errors.Is(err, cms.ErrLimit) {
		t.Fatalf("limit: %v", err)
	}
	middle := "Content-Type: application/pkcs7-mime; smime-type=compressed-data;\r\n" +
		" name=smime.p7z\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		string(b64std(compressed)) + "\r\n"
	ec := ecKey(t)
	der, err := cms.Encrypt([]byte(middle), []*x509.Certificate{ec.Certificate},
		cms.EncryptOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res := DecryptEntity(der, "binary", []Key{ec}, cms.Limits{})
	if res.Outcome != OutcomeDecrypted || string(res.Inner) != innerEntity {
		t.Fatalf("compressed inside envelope: %v %v %q", res, res.Err, res.Inner)
	}
	res = DecryptEntity(der, "binary", []Key{ec}, cms.Limits{MaxDecompressedBytes: 10})
	if res.Outcome != OutcomeTooLarge || res.Inner != nil {
		t.Fatalf("limit inside envelope: %v", res)
	}
}
