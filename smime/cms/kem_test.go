package cms

import (
	"bytes"
	"crypto"
	"crypto/mlkem"
	"errors"
	"testing"
)

func TestKEMRoundTrip(t *testing.T) {
	id := newFixture(t) // its certificate only names the recipient
	k768, _ := mlkem.GenerateKey768()
	k1024, _ := mlkem.GenerateKey1024()
	content := sampleContent(3000)
	for _, k := range []crypto.Decapsulator{k768, k1024} {
		for _, opts := range []EncryptOptions{{}, {UseSKI: true, UKM: []byte("ukm"),
			Cipher: "aes-256-gcm"}} {
			der, err := EncryptFor(content, []EncryptRecipient{
				{Certificate: id.cert, PublicKey: k.Encapsulator()}}, opts)
			if err != nil {
				t.Fatal(err)
			}
			env := parse(t, der)
			r := env.Recipients[0]
			if r.Type != KEM || len(env.MatchingRecipients(id.cert)) != 1 {
				t.Fatalf("recipient %+v", r)
			}
			got, err := env.Decrypt(id.cert, k)
			if err != nil || !bytes.Equal(got, content) {
				t.Fatalf("%s: %v", r.KeyAlgorithm, err)
			}
		}
	}
}

func TestKEMHostile(t *testing.T) {
	id := newFixture(t)
	k, _ := mlkem.GenerateKey768()
	der, err := EncryptFor([]byte("x"), []EncryptRecipient{
		{Certificate: id.cert, PublicKey: k.EncapsulationKey()}}, EncryptOptions{})
	if err != nil {
		t.Fatal(err)
	}
	detail := func(env *Envelope) *kemDetail {
		d := *env.Recipients[0].detail.(*kemDetail)
		env.Recipients[0].detail = &d
		return &d
	}
	t.Run("other key", func(t *testing.T) {
		other, _ := mlkem.GenerateKey768()
		_, err := parse(t, der).Decrypt(id.cert, other)
		wantDecryptErr(t, err)
		big, _ := mlkem.GenerateKey1024()
		_, err = parse(t, der).Decrypt(id.cert, big)
		wantDecryptErr(t, err)
	})
	t.Run("tampered ciphertext", func(t *testing.T) {
		env := parse(t, der)
		d := detail(env)
		d.kemct = append([]byte{}, d.kemct...)
		d.kemct[0] ^= 1
		_, err := env.Decrypt(id.cert, k)
		wantDecryptErr(t, err)
		d.kemct = d.kemct[:100]
		_, err = env.Decrypt(id.cert, k)
		wantDecryptErr(t, err)
	})
	t.Run("kekLength", func(t *testing.T) {
		env := parse(t, der)
		detail(env).kekLength = 16
		if _, err := env.Decrypt(id.cert, k); !errors.Is(err, ErrMalformed) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("kdf", func(t *testing.T) {
		env := parse(t, der)
		detail(env).kdf.oid = []int{1, 2, 3}
		if _, err := env.Decrypt(id.cert, k); !errors.Is(err, ErrUnsupported) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("ml-kem-512", func(t *testing.T) {
		env := parse(t, der)
		env.Recipients[0].keyAlg.oid = oidMLKEM512
		if _, err := env.Decrypt(id.cert, k); !errors.Is(err, ErrUnsupported) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("rsa key", func(t *testing.T) {
		if _, err := parse(t, der).Decrypt(id.cert, id.key); !errors.Is(err, ErrUnsupported) {
			t.Fatalf("got %v", err)
		}
	})
}
