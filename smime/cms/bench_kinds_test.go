package cms

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/mlkem"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"testing"
)

// Per-message cost of each recipient kind for a 10 KB message
// (BenchmarkDecrypt10KBKinds) against the bare key operation it cannot
// avoid (BenchmarkKeyOp); the target is at most 1.3 times.

const size10KB = 10 << 10

// benchKind is one recipient kind: a message and how to open it.
type benchKind struct {
	name string
	der  []byte
	open func(env *Envelope) ([]byte, error)
}

func benchKinds(b *testing.B) []benchKind {
	content := sampleContent(size10KB)
	f := newFixture(b)
	enc := func(r EncryptRecipient, opts EncryptOptions) []byte {
		der, err := EncryptFor(content, []EncryptRecipient{r}, opts)
		if err != nil {
			b.Fatal(err)
		}
		return der
	}
	type opener = func(*Envelope) ([]byte, error)
	withKey := func(cert *x509.Certificate, key crypto.PrivateKey) opener {
		return func(env *Envelope) ([]byte, error) { return env.Decrypt(cert, key) }
	}
	rsaR := EncryptRecipient{Certificate: f.cert}
	kinds := []benchKind{
		{"rsa-pkcs1v15", enc(rsaR, EncryptOptions{}), withKey(f.cert, f.key)},
		{"rsa-oaep", enc(rsaR, EncryptOptions{OAEP: true}), withKey(f.cert, f.key)},
	}
	for _, c := range []struct {
		name  string
		curve elliptic.Curve
	}{{"ecdh-p256", elliptic.P256()}, {"ecdh-p384", elliptic.P384()}} {
		id := ecIdentity(b, c.curve)
		der := enc(EncryptRecipient{Certificate: id.cert}, EncryptOptions{})
		// The vault hands EC keys out in the ECDH form; an *ecdsa.PrivateKey
		// costs one more scalar multiplication to convert.
		kx, _ := id.key.(*ecdsa.PrivateKey).ECDH()
		kinds = append(kinds, benchKind{c.name, der, withKey(id.cert, kx)},
			benchKind{c.name + "-ecdsa-key", der, withKey(id.cert, id.key)})
	}
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	kinds = append(kinds, benchKind{"x25519", enc(EncryptRecipient{Certificate: f.cert,
		PublicKey: x.PublicKey()}, EncryptOptions{}), withKey(f.cert, x)})
	kek := make([]byte, 32)
	kinds = append(kinds, benchKind{"kek", enc(EncryptRecipient{KEKID: []byte("k"), KEK: kek},
		EncryptOptions{}), func(env *Envelope) ([]byte, error) {
		return env.DecryptWithSecret([]byte("k"), kek)
	}})
	kinds = append(kinds, benchKind{"pwri-2048", enc(EncryptRecipient{Password: []byte("pw")},
		EncryptOptions{}), func(env *Envelope) ([]byte, error) {
		return env.DecryptWithPassword([]byte("pw"))
	}})
	k, _ := mlkem.GenerateKey768()
	kinds = append(kinds, benchKind{"ml-kem-768", enc(EncryptRecipient{Certificate: f.cert,
		PublicKey: k.EncapsulationKey()}, EncryptOptions{}), withKey(f.cert, k)})
	return kinds
}

// BenchmarkDecrypt10KBKinds opens a 10 KB AES-256-CBC message per
// recipient kind: parse, key recovery, content decryption.
func BenchmarkDecrypt10KBKinds(b *testing.B) {
	for _, k := range benchKinds(b) {
		b.Run(k.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				env, err := ParseEnvelope(k.der, Limits{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := k.open(env); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkKeyOp is the bare key operation of each kind, the floor for
// BenchmarkDecrypt10KBKinds. For kek the key operation (an AES unwrap)
// is too small to compare with; kek+content adds the raw AES-256-CBC
// decryption of 10 KB.
func BenchmarkKeyOp(b *testing.B) {
	f := newFixture(b)
	b.Run("rsa-pkcs1v15", func(b *testing.B) {
		//lint:ignore SA1019 measuring the v1.5 operation CMS uses.
		ek, _ := rsa.EncryptPKCS1v15(rand.Reader, &f.key.PublicKey, make([]byte, 32))
		for b.Loop() {
			//lint:ignore SA1019 measuring the v1.5 operation CMS uses.
			rsa.DecryptPKCS1v15SessionKey(nil, f.key, ek, make([]byte, 32))
		}
	})
	b.Run("rsa-oaep", func(b *testing.B) {
		pub := &f.key.PublicKey
		ek, _ := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, make([]byte, 32), nil)
		for b.Loop() {
			if _, err := rsa.DecryptOAEP(sha256.New(), nil, f.key, ek, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, c := range []struct {
		name  string
		curve ecdh.Curve
	}{{"ecdh-p256", ecdh.P256()}, {"ecdh-p384", ecdh.P384()}, {"x25519", ecdh.X25519()}} {
		b.Run(c.name, func(b *testing.B) {
			k, _ := c.curve.GenerateKey(rand.Reader)
			peer, _ := c.curve.GenerateKey(rand.Reader)
			for b.Loop() {
				if _, err := k.ECDH(peer.PublicKey()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("kek+content", func(b *testing.B) {
		block, _ := aes.NewCipher(make([]byte, 32))
		buf, iv := make([]byte, size10KB+16), make([]byte, 16)
		wrapped, _ := aesWrap(make([]byte, 32), make([]byte, 32))
		for b.Loop() {
			aesUnwrap(make([]byte, 32), wrapped)
			cipher.NewCBCDecrypter(block, iv).CryptBlocks(buf, buf)
		}
	})
	b.Run("pwri-2048", func(b *testing.B) {
		for b.Loop() {
			pbkdf2.Key(sha256.New, "pw", make([]byte, 16), 2048, 32)
		}
	})
	b.Run("ml-kem-768", func(b *testing.B) {
		k, _ := mlkem.GenerateKey768()
		_, ct := k.EncapsulationKey().Encapsulate()
		for b.Loop() {
			if _, err := k.Decapsulate(ct); err != nil {
				b.Fatal(err)
			}
		}
	})
}
