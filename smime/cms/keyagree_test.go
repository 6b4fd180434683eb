package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// TestAESKeyWrap checks RFC 3394 section 4.1 and 4.6.
func TestAESKeyWrap(t *testing.T) {
	for _, tc := range []struct{ kek, key, wrapped string }{
		{"000102030405060708090A0B0C0D0E0F", "00112233445566778899AABBCCDDEEFF",
			"1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5"},
		{"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
			"00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
			"28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"},
	} {
		kek, key, want := unhexString(tc.kek), unhexString(tc.key), unhexString(tc.wrapped)
		got, err := aesWrap(kek, key)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("wrap: %x %v", got, err)
		}
		back, err := aesUnwrap(kek, want)
		if err != nil || !bytes.Equal(back, key) {
			t.Fatalf("unwrap: %x %v", back, err)
		}
		bad := append([]byte{}, want...)
		bad[len(bad)-1] ^= 1
		if _, err := aesUnwrap(kek, bad); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("tampered: %v", err)
		}
	}
	for _, n := range []int{0, 8, 16, 17} {
		if _, err := aesUnwrap(make([]byte, 16), make([]byte, n)); !errors.Is(err, ErrDecrypt) {
			t.Errorf("%d bytes: %v", n, err)
		}
	}
}

func ecIdentity(t testing.TB, curve elliptic.Curve) *testIdentity {
	t.Helper()
	key, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return newIdentity(t, t.TempDir(), "ec", key)
}

// exchanger is an ecdh.KeyExchanger that is not *ecdh.PrivateKey, like a
// key in a hardware module.
type exchanger struct{ k *ecdh.PrivateKey }

func (x exchanger) PublicKey() *ecdh.PublicKey { return x.k.PublicKey() }
func (x exchanger) Curve() ecdh.Curve          { return x.k.Curve() }
func (x exchanger) ECDH(p *ecdh.PublicKey) ([]byte, error) {
	return x.k.ECDH(p)
}

func TestKeyAgreeRoundTrip(t *testing.T) {
	content := sampleContent(777)
	for _, curve := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		id := ecIdentity(t, curve)
		ecdhKey, _ := id.key.(*ecdsa.PrivateKey).ECDH()
		for _, opts := range []EncryptOptions{
			{}, {Cofactor: true, KDFHash: crypto.SHA1}, {UseSKI: true, KDFHash: crypto.SHA512},
			{UKM: []byte("user keying material"), Cipher: "aes-128-gcm"},
			{Cipher: "des-ede3-cbc", KDFHash: crypto.SHA224},
		} {
			der, err := Encrypt(content, []*x509.Certificate{id.cert}, opts)
			if err != nil {
				t.Fatal(err)
			}
			env := parse(t, der)
			for _, key := range []crypto.PrivateKey{id.key, ecdhKey, exchanger{ecdhKey}} {
				got, err := env.Decrypt(id.cert, key)
				if err != nil || !bytes.Equal(got, content) {
					t.Fatalf("%s %+v %T: %v", curve.Params().Name, opts, key, err)
				}
			}
		}
	}
}

// TestX25519RFC9216 encrypts to the X25519 certificates of RFC 9216
// (Carlos and Dana), whose keys crypto/x509 cannot read from the
// certificate, and opens with their PKCS #8 keys.
func TestX25519RFC9216(t *testing.T) {
	type person struct {
		cert *x509.Certificate
		key  crypto.PrivateKey
	}
	var people []person
	for _, name := range []string{"carlos", "dana"} {
		certPEM := readShared(t, "rfc9216", name+".encrypt.crt")
		cert, err := x509.ParseCertificate(pemBlock(t, certPEM))
		if err != nil {
			t.Fatal(err)
		}
		keyPEM := readShared(t, "rfc9216", name+".decrypt.key")
		key, err := x509.ParsePKCS8PrivateKey(pemBlock(t, keyPEM))
		if err != nil {
			t.Fatal(err)
		}
		pub, err := CertificateECDHKey(cert)
		if err != nil || !pub.Equal(key.(*ecdh.PrivateKey).PublicKey()) {
			t.Fatalf("%s: certificate key %v does not match", name, err)
		}
		people = append(people, person{cert, key})
	}
	content := sampleContent(1000)
	for _, opts := range []EncryptOptions{{}, {UseSKI: true, Cipher: "aes-128-gcm"},
		{UKM: []byte{1, 2, 3}, KDFHash: crypto.SHA512}} {
		der, err := Encrypt(content, []*x509.Certificate{people[0].cert, people[1].cert}, opts)
		if err != nil {
			t.Fatal(err)
		}
		env := parse(t, der)
		for _, p := range people {
			r := env.MatchingRecipients(p.cert)
			if len(r) != 1 || r[0].Type != KeyAgree {
				t.Fatalf("recipients %+v", env.Recipients)
			}
			got, err := env.Decrypt(p.cert, p.key)
			if err != nil || !bytes.Equal(got, content) {
				t.Fatalf("%+v: %v", opts, err)
			}
		}
		// Carlos's key cannot open Dana's entry.
		_, err = env.Decrypt(people[1].cert, people[0].key)
		wantDecryptErr(t, err)
	}
}

func TestKeyAgreeHostile(t *testing.T) {
	id := ecIdentity(t, elliptic.P256())
	der, err := Encrypt([]byte("secret"), []*x509.Certificate{id.cert}, EncryptOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("tampered key", func(t *testing.T) {
		env := parse(t, der)
		ek := append([]byte{}, env.Recipients[0].encryptedKey...)
		ek[3] ^= 1
		env.Recipients[0].encryptedKey = ek
		_, err := env.Decrypt(id.cert, id.key)
		wantDecryptErr(t, err)
	})
	t.Run("other key, same curve", func(t *testing.T) {
		other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		_, err := parse(t, der).Decrypt(id.cert, other)
		wantDecryptErr(t, err)
	})
	t.Run("other curve", func(t *testing.T) {
		other, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		_, err := parse(t, der).Decrypt(id.cert, other)
		wantDecryptErr(t, err)
		x, _ := ecdh.X25519().GenerateKey(rand.Reader)
		_, err = parse(t, der).Decrypt(id.cert, x)
		wantDecryptErr(t, err)
	})
	t.Run("point not on curve", func(t *testing.T) {
		env := parse(t, der)
		d := *env.Recipients[0].detail.(*keyAgreeDetail)
		orig := append([]byte{}, d.originator...)
		orig[len(orig)-1] ^= 1 // last byte of Y
		d.originator = orig
		env.Recipients[0].detail = &d
		_, err := env.Decrypt(id.cert, id.key)
		wantDecryptErr(t, err)
	})
	t.Run("rsa key", func(t *testing.T) {
		f := newFixture(t)
		if _, err := parse(t, der).Decrypt(id.cert, f.key); !errors.Is(err, ErrUnsupported) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("unknown scheme", func(t *testing.T) {
		env := parse(t, der)
		env.Recipients[0].keyAlg.oid = []int{1, 2, 3}
		if _, err := env.Decrypt(id.cert, id.key); !errors.Is(err, ErrUnsupported) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("x448 originator", func(t *testing.T) {
		_, err := originatorKey(wrap(0xa1, wrap(0x30, unhex(t, "06 03 2b 65 6f")),
			unhex(t, "03 03 00 01 02")), ecdh.X25519())
		var ue *UnsupportedError
		if !errors.As(err, &ue) || ue.Name != "x448" {
			t.Fatalf("got %v", err)
		}
	})
}

// TestKeyAgreeManyKeys: one key agreement entry listing 100,000 keys is
// cut off at the recipient limit, not expanded in memory.
func TestKeyAgreeManyKeys(t *testing.T) {
	id := ecIdentity(t, elliptic.P256())
	der, err := Encrypt([]byte("x"), []*x509.Certificate{id.cert}, EncryptOptions{})
	if err != nil {
		t.Fatal(err)
	}
	oid, fields := envelopeFields(t, der)
	kari := elements(t, contents(t, fields[1]))[0]
	parts := elements(t, contents(t, kari))
	reks := parts[len(parts)-1]
	many := func(n int) []byte {
		p := append([][]byte{}, parts...)
		p[len(p)-1] = wrap(0x30, bytes.Repeat(contents(t, reks), n))
		f := append([][]byte{}, fields...)
		f[1] = wrap(0x31, wrap(0xa1, p...))
		return rebuild(oid, f)
	}
	if _, err := ParseEnvelope(many(100_000), Limits{}); !errors.Is(err, ErrLimit) {
		t.Fatalf("100000 keys: %v", err)
	}
	env, err := ParseEnvelope(many(3), Limits{MaxRecipients: 3})
	if err != nil || len(env.Recipients) != 3 {
		t.Fatalf("3 keys: %v", err)
	}
	got, err := env.Decrypt(id.cert, id.key)
	if err != nil || string(got) != "x" {
		t.Fatalf("Decrypt: %v", err)
	}
}

// TestCompressedOriginatorKey: RFC 5753 allows the ephemeral key as a
// compressed point; it opens like the uncompressed one.
func TestCompressedOriginatorKey(t *testing.T) {
	for _, curve := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		id := ecIdentity(t, curve)
		der, err := Encrypt([]byte("x"), []*x509.Certificate{id.cert}, EncryptOptions{})
		if err != nil {
			t.Fatal(err)
		}
		env := parse(t, der)
		d := *env.Recipients[0].detail.(*keyAgreeDetail)
		s := cryptobyte.String(d.originator)
		var opk cryptobyte.String
		var bits asn1.BitString
		s.ReadASN1(&opk, cbasn1.Tag(1).ContextSpecific().Constructed())
		alg, _ := readAlgorithm(&opk)
		opk.ReadASN1BitString(&bits)
		x, y := elliptic.Unmarshal(curve, bits.Bytes) //lint:ignore SA1019 test input
		point := elliptic.MarshalCompressed(curve, x, y)
		open := func() ([]byte, error) {
			var b cryptobyte.Builder
			tag := cbasn1.Tag(1).ContextSpecific().Constructed()
			b.AddASN1(tag, func(b *cryptobyte.Builder) {
				addAlgorithm(b, alg)
				b.AddASN1BitString(point)
			})
			d.originator = b.BytesOrPanic()
			env.Recipients[0].detail = &d
			return env.Decrypt(id.cert, id.key)
		}
		if got, err := open(); err != nil || string(got) != "x" {
			t.Fatalf("%s: %v", curve.Params().Name, err)
		}
		// The other y gives -P, whose product has the same x: ECDH
		// output is the x coordinate, so it opens too.
		point[0] ^= 1
		if _, err := open(); err != nil {
			t.Fatalf("%s: other y: %v", curve.Params().Name, err)
		}
		point[len(point)-1] ^= 1 // another x: not on the curve, or a wrong key
		_, err = open()
		wantDecryptErr(t, err)
	}
}
