package cms

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
)

func TestEncryptRoundTrip(t *testing.T) {
	f := newFixture(t)
	ciphers := []string{"", "aes-128-cbc", "aes-192-cbc", "aes-256-cbc", "des-ede3-cbc",
		"aes-128-gcm", "aes-192-gcm", "aes-256-gcm", "chacha20-poly1305"}
	for _, c := range ciphers {
		for _, size := range []int{0, 1, 15, 16, 17, 4096} {
			content := make([]byte, size)
			rand.Read(content)
			env := parse(t, f.encrypt(t, content, EncryptOptions{Cipher: c, UseSKI: size%2 == 1}))
			want := c
			if want == "" {
				want = "aes-256-cbc"
			}
			if env.ContentCipher != want {
				t.Errorf("ContentCipher = %q, want %q", env.ContentCipher, want)
			}
			got, err := env.Decrypt(f.cert, f.key)
			if err != nil || !bytes.Equal(got, content) {
				t.Fatalf("%s/%d: %v", c, size, err)
			}
		}
	}
}

// TestGCMInEnvelopedData opens AES-GCM inside plain EnvelopedData, as the
// Go pkcs7 modules write it: the tag appended to encryptedContent and
// GCMParameters stating its length.
func TestGCMInEnvelopedData(t *testing.T) {
	f := newFixture(t)
	content := sampleContent(300)
	_, fields := envelopeFields(t, f.encrypt(t, content, EncryptOptions{Cipher: "aes-128-gcm"}))
	eci := elements(t, contents(t, fields[2]))
	ct := contents(t, eci[2])
	tag := contents(t, fields[3])
	sealed := append(append([]byte{}, ct...), tag...)
	fields[2] = wrap(0x30, eci[0], eci[1], wrap(0x80, sealed))
	oid := unhex(t, "06 09 2a 86 48 86 f7 0d 01 07 03")
	env := parse(t, rebuild(oid, fields[:3]))
	if env.Kind != KindEnveloped || env.ContentCipher != "aes-128-gcm" {
		t.Fatalf("parsed as %v %s", env.Kind, env.ContentCipher)
	}
	got, err := env.Decrypt(f.cert, f.key)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("Decrypt: %v", err)
	}
	sealed[len(sealed)-1] ^= 1
	fields[2] = wrap(0x30, eci[0], eci[1], wrap(0x80, sealed))
	env = parse(t, rebuild(oid, fields[:3]))
	_, err = env.Decrypt(f.cert, f.key)
	wantDecryptErr(t, err)
}

// TestConcurrentDecrypt: an Envelope is read-only once parsed.
func TestConcurrentDecrypt(t *testing.T) {
	f := newFixture(t)
	content := sampleContent(2000)
	env := parse(t, f.encrypt(t, content, EncryptOptions{Cipher: "aes-128-gcm"}))
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			got, err := env.Decrypt(f.cert, f.key)
			if err == nil && !bytes.Equal(got, content) {
				err = ErrDecrypt
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestDetachedContent(t *testing.T) {
	f := newFixture(t)
	oid, fields := envelopeFields(t, f.encrypt(t, []byte("x"), EncryptOptions{}))
	eci := elements(t, contents(t, fields[2]))
	fields[2] = wrap(0x30, eci[0], eci[1])
	env := parse(t, rebuild(oid, fields))
	var ue *UnsupportedError
	if _, err := env.Decrypt(f.cert, f.key); !errors.As(err, &ue) {
		t.Fatalf("got %v, want UnsupportedError", err)
	}
}
