package cms

import (
	"bytes"
	"crypto/ecdh"
	"crypto/elliptic"
	"crypto/mlkem"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestMixedRecipients writes one message for every recipient kind at
// once; each opens it, and OpenSSL opens the kinds it knows, skipping the
// KEM entry it does not.
func TestMixedRecipients(t *testing.T) {
	dir := t.TempDir()
	rsaID := newRSAIdentity(t, dir, "rsa", 2048)
	ecID := ecIdentity(t, elliptic.P521())
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	k, _ := mlkem.GenerateKey1024()
	kek, kekID, pw := bytes.Repeat([]byte{3}, 24), []byte{0xca, 0xfe}, []byte("pw")
	content := sampleContent(5000)
	der, err := EncryptFor(content, []EncryptRecipient{
		{Certificate: rsaID.cert}, {Certificate: ecID.cert},
		{Certificate: rsaID.cert, PublicKey: x.PublicKey()},
		{Certificate: ecID.cert, PublicKey: k.EncapsulationKey()},
		{KEKID: kekID, KEK: kek}, {Password: pw},
	}, EncryptOptions{Cipher: "aes-192-cbc", UseSKI: true})
	if err != nil {
		t.Fatal(err)
	}
	env := parse(t, der)
	if len(env.Recipients) != 6 || env.UnparsedRecipients != 0 {
		t.Fatalf("%d recipients, %d unparsed", len(env.Recipients), env.UnparsedRecipients)
	}
	opens := []func() ([]byte, error){
		func() ([]byte, error) { return env.Decrypt(rsaID.cert, rsaID.key) },
		func() ([]byte, error) { return env.Decrypt(ecID.cert, ecID.key) },
		func() ([]byte, error) { return env.Decrypt(rsaID.cert, x) },
		func() ([]byte, error) { return env.Decrypt(ecID.cert, k) },
		func() ([]byte, error) { return env.DecryptWithSecret(kekID, kek) },
		func() ([]byte, error) { return env.DecryptWithPassword(pw) },
	}
	for i, open := range opens {
		got, err := open()
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("recipient %d: %v", i, err)
		}
	}
	if _, err := env.DecryptWithPassword([]byte("wrong")); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("wrong password: %v", err)
	}
	requireOpenSSL(t)
	in := filepath.Join(dir, "mixed.der")
	if err := os.WriteFile(in, der, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, extra := range [][]string{
		{"-recip", rsaID.certPath, "-inkey", rsaID.keyPath},
		{"-recip", ecID.certPath, "-inkey", ecID.keyPath},
		{"-secretkey", hex.EncodeToString(kek), "-secretkeyid", hex.EncodeToString(kekID)},
		{"-pwri_password", string(pw)},
	} {
		args := []string{"cms", "-decrypt", "-binary", "-inform", "DER", "-in", in}
		if got := runOpenSSL(t, nil, append(args, extra...)...); !bytes.Equal(got, content) {
			t.Fatalf("openssl %v: %d bytes", extra, len(got))
		}
	}
}

// TestKEKOtherWraps: RFC 4134 5.2.bin's KEK recipient uses RC2 key wrap,
// which is reported as unsupported, not as a decryption failure.
func TestKEKOtherWraps(t *testing.T) {
	env, err := ParseEnvelope(readShared(t, "rfc4134", "5.2.bin"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = env.DecryptWithSecret([]byte("MailListRC2"), make([]byte, 16))
	var ue *UnsupportedError
	if !errors.As(err, &ue) || ue.Name != "rc2-wrap" {
		t.Fatalf("got %v", err)
	}
}
