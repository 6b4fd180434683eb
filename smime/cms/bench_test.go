package cms

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"testing"
)

const size20MB = 20 << 20

func benchDecrypt(b *testing.B, f *fixture, der []byte) {
	b.ReportAllocs()
	for b.Loop() {
		env, err := ParseEnvelope(der, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := env.Decrypt(f.cert, f.key); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecrypt10KB is a whole message open: parse, RSA-2048 PKCS #1
// v1.5 unwrap, AES-256-CBC. Compare with BenchmarkRSA2048Decrypt.
func BenchmarkDecrypt10KB(b *testing.B) {
	f := newFixture(b)
	der := f.encrypt(b, sampleContent(10<<10), EncryptOptions{Cipher: "aes-256-cbc"})
	benchDecrypt(b, f, der)
}

// BenchmarkRSA2048Decrypt is the bare private-key operation on a 32-byte
// key, the floor for BenchmarkDecrypt10KB.
func BenchmarkRSA2048Decrypt(b *testing.B) {
	f := newFixture(b)
	//lint:ignore SA1019 measuring the v1.5 operation CMS uses.
	ek, err := rsa.EncryptPKCS1v15(rand.Reader, &f.key.PublicKey, make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		//lint:ignore SA1019 measuring the v1.5 operation CMS uses.
		if _, err := rsa.DecryptPKCS1v15(nil, f.key, ek); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecrypt20MB opens a 20 MiB message; compare the throughput with
// BenchmarkAESCBC20MB and BenchmarkAESGCM20MB, and B/op with 20 MiB.
func BenchmarkDecrypt20MB(b *testing.B) {
	f := newFixture(b)
	content := make([]byte, size20MB)
	for _, c := range []string{"aes-256-cbc", "aes-256-gcm"} {
		der := f.encrypt(b, content, EncryptOptions{Cipher: c})
		b.Run(c, func(b *testing.B) {
			b.SetBytes(size20MB)
			benchDecrypt(b, f, der)
		})
	}
	b.Run("aes-256-cbc-ber", func(b *testing.B) {
		requireOpenSSL(b)
		dir := b.TempDir()
		id := newRSAIdentity(b, dir, "ber", 2048)
		der := opensslEncrypt(b, dir, content, "-aes256", "-stream", "-recip", id.certPath)
		bf := &fixture{cert: id.cert, key: id.key.(*rsa.PrivateKey)}
		b.SetBytes(size20MB)
		benchDecrypt(b, bf, der)
	})
}

func BenchmarkAESCBC20MB(b *testing.B) {
	block, _ := aes.NewCipher(make([]byte, 32))
	buf := make([]byte, size20MB)
	iv := make([]byte, aes.BlockSize)
	b.SetBytes(size20MB)
	b.ReportAllocs()
	for b.Loop() {
		cipher.NewCBCDecrypter(block, iv).CryptBlocks(buf, buf)
	}
}

func BenchmarkAESGCM20MB(b *testing.B) {
	block, _ := aes.NewCipher(make([]byte, 32))
	gcm, _ := cipher.NewGCM(block)
	nonce := make([]byte, gcm.NonceSize())
	sealed := gcm.Seal(nil, nonce, make([]byte, size20MB), nil)
	out := make([]byte, size20MB)
	b.SetBytes(size20MB)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := gcm.Open(out[:0], nonce, sealed, nil); err != nil {
			b.Fatal(err)
		}
	}
}
