package smime

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"testing"

	"github.com/smimeproxy/smimeproxy/smime/cms"
)

// BenchmarkDecryptEntity10KB opens a 10 KB base64 AES-256-CBC envelope;
// compare with BenchmarkRSADecrypt2048, the private-key operation alone,
// which dominates it.
func BenchmarkDecryptEntity10KB(b *testing.B) {
	bob := testKey(b, "bob")
	content := append([]byte("Content-Type: text/plain\r\n\r\n"),
		bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n"),
			160)...)
	der, err := cms.Encrypt(content, []*x509.Certificate{bob.Certificate}, cms.EncryptOptions{})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(wrap76(encodeBase64(der), "\r\n"))
	keys := []Key{bob}
	b.SetBytes(int64(len(content)))
	b.ReportAllocs()
	for b.Loop() {
		if res := DecryptEntity(body, "base64", keys, cms.Limits{}); res.Outcome !=
			OutcomeDecrypted {
			b.Fatal(res.Err)
		}
	}
}

// BenchmarkRSADecrypt2048 is the bare RSA-2048 PKCS #1 v1.5 decryption of a
// 32-byte content key, as crypto/rsa does it.
func BenchmarkRSADecrypt2048(b *testing.B) {
	bob := testKey(b, "bob")
	pub := bob.Certificate.PublicKey.(*rsa.PublicKey)
	//lint:ignore SA1019 most S/MIME mail uses PKCS #1 v1.5 key transport; this times it.
	wrapped, err := rsa.EncryptPKCS1v15(rand.Reader, pub, make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	priv := bob.Private.(crypto.Decrypter)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := priv.Decrypt(rand.Reader, wrapped, nil); err != nil {
			b.Fatal(err)
		}
	}
}
