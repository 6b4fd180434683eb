package cms

import (
	"bytes"
	"errors"
	"testing"
)

func TestDecompress(t *testing.T) {
	content := sampleContent(50_000)
	got, err := Decompress(Compress(content), Limits{})
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("Decompress: %v", err)
	}
	_, err = Decompress(Compress(content), Limits{MaxDecompressedBytes: 49_999})
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("limit: %v", err)
	}
	// A bomb: 64 MiB of zeros, a few KB compressed, under a 1 MiB limit.
	bomb := Compress(make([]byte, 64<<20))
	if len(bomb) > 100_000 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	_, err = Decompress(bomb, Limits{MaxDecompressedBytes: 1 << 20})
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("bomb: %v", err)
	}
	corrupt := Compress(content)
	corrupt[len(corrupt)-10] ^= 0xff
	if _, err := Decompress(corrupt, Limits{}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("corrupt: %v", err)
	}
	zlibOID := unhex(t, "06 0b 2a 86 48 86 f7 0d 01 09 10 03 08")
	otherOID := unhex(t, "06 0b 2a 86 48 86 f7 0d 01 09 10 03 63")
	other := bytes.Replace(Compress(content), zlibOID, otherOID, 1)
	if _, err := Decompress(other, Limits{}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("other algorithm: %v", err)
	}
	enveloped := newFixture(t).encrypt(t, content, EncryptOptions{})
	if _, err := Decompress(enveloped, Limits{}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("enveloped: %v", err)
	}
}

func TestCompressedInEnvelope(t *testing.T) {
	f := newFixture(t)
	content := sampleContent(20_000)
	der := f.encrypt(t, content, EncryptOptions{Compress: true, Cipher: "aes-128-gcm"})
	env := parse(t, der)
	if env.ContentType != "compressed-data" {
		t.Fatalf("ContentType %q", env.ContentType)
	}
	got, err := env.Decrypt(f.cert, f.key)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("Decrypt: %v", err)
	}
	env, err = ParseEnvelope(der, Limits{MaxDecompressedBytes: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Decrypt(f.cert, f.key); !errors.Is(err, ErrLimit) {
		t.Fatalf("limit: %v", err)
	}
}
