package cms

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"io"
	"testing"
	"time"
)

// elements splits concatenated DER elements.
func elements(t testing.TB, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(b) > 0 {
		h, err := readHeader(b)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b[:h.size+h.length])
		b = b[h.size+h.length:]
	}
	return out
}

func contents(t testing.TB, el []byte) []byte {
	t.Helper()
	h, err := readHeader(el)
	if err != nil {
		t.Fatal(err)
	}
	return el[h.size : h.size+h.length]
}

// wrap makes a DER element with the given identifier octet.
func wrap(tag byte, parts ...[]byte) []byte {
	body := bytes.Join(parts, nil)
	return append(appendLength([]byte{tag}, len(body)), body...)
}

// envelopeFields returns the content type OID element and the fields of
// the EnvelopedData or AuthEnvelopedData SEQUENCE of a DER ContentInfo.
func envelopeFields(t testing.TB, der []byte) (oid []byte, fields [][]byte) {
	t.Helper()
	ci := elements(t, contents(t, der))
	return ci[0], elements(t, contents(t, contents(t, ci[1])))
}

func rebuild(oid []byte, fields [][]byte) []byte {
	return wrap(0x30, oid, wrap(0xa0, wrap(0x30, fields...)))
}

// fixture is one RSA identity with the helpers hostile tests need.
type fixture struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	id := newRSAIdentity(t, t.TempDir(), "me", 2048)
	return &fixture{cert: id.cert, key: id.key.(*rsa.PrivateKey)}
}

func (f *fixture) encrypt(t testing.TB, content []byte, opts EncryptOptions) []byte {
	t.Helper()
	der, err := Encrypt(content, []*x509.Certificate{f.cert}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func parse(t testing.TB, der []byte) *Envelope {
	t.Helper()
	env, err := ParseEnvelope(der, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// cek recovers the content key the way Decrypt does.
func (f *fixture) cek(t testing.TB, env *Envelope) []byte {
	t.Helper()
	cek, err := unwrapKeyTrans(&env.Recipients[0], f.key, env.cipher.keyLen)
	if err != nil {
		t.Fatal(err)
	}
	return cek
}

func wantDecryptErr(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrDecrypt) {
		t.Fatalf("got %v, want ErrDecrypt", err)
	}
	// One text for every cryptographic failure: no oracle.
	if err.Error() != ErrDecrypt.Error() {
		t.Fatalf("error text %q differs from %q", err, ErrDecrypt)
	}
}

func TestPaddingLen(t *testing.T) {
	block := func(last ...byte) []byte {
		b := bytes.Repeat([]byte{0x55}, 16)
		copy(b[16-len(last):], last)
		return b
	}
	cases := []struct {
		block []byte
		n     int
		ok    bool
	}{
		{block(1), 1, true},
		{block(2, 2), 2, true},
		{bytes.Repeat([]byte{16}, 16), 16, true},
		{block(0), 0, false},
		{block(17), 0, false},
		{block(0x20), 0, false},
		{block(0xff), 0, false},
		{block(3, 2, 3), 0, false},
		{block(1, 2, 2), 2, true},
	}
	for i, tc := range cases {
		n, ok := paddingLen(tc.block)
		if ok != tc.ok || (ok && n != tc.n) {
			t.Errorf("case %d: got %d %v, want %d %v", i, n, ok, tc.n, tc.ok)
		}
	}
}

// TestCraftedPadding re-encrypts the last block of a real message with the
// real key so that only the padding is wrong.
func TestCraftedPadding(t *testing.T) {
	f := newFixture(t)
	der := f.encrypt(t, []byte("twenty bytes of text"), EncryptOptions{Cipher: "aes-256-cbc"})
	for _, last := range [][]byte{{0}, {0x11}, {0x20}, {0xff}, {2, 3}, {16, 16, 15}} {
		env := parse(t, der)
		cek := f.cek(t, env)
		plain := bytes.Repeat([]byte{'x'}, 32)
		copy(plain[32-len(last):], last)
		block, _ := aes.NewCipher(cek)
		ct := make([]byte, 32)
		cipher.NewCBCEncrypter(block, env.cipher.iv).CryptBlocks(ct, plain)
		env.chunks = [][]byte{ct}
		_, err := env.Decrypt(f.cert, f.key)
		wantDecryptErr(t, err)
	}
}

func TestTruncated(t *testing.T) {
	f := newFixture(t)
	for _, c := range []string{"aes-128-cbc", "aes-128-gcm", "des-ede3-cbc"} {
		der := f.encrypt(t, sampleContent(100), EncryptOptions{Cipher: c})
		t.Run(c+"/ciphertext", func(t *testing.T) {
			for _, cut := range []int{1, 8, 16, 100} {
				env := parse(t, der)
				ct := env.chunks[0]
				env.chunks = [][]byte{ct[:max(0, len(ct)-cut)]}
				_, err := env.Decrypt(f.cert, f.key)
				wantDecryptErr(t, err)
			}
		})
		t.Run(c+"/message", func(t *testing.T) {
			for n := 0; n < len(der); n++ {
				_, err := ParseEnvelope(der[:n], Limits{})
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("cut at %d: got %v", n, err)
				}
			}
		})
	}
}

func TestWrongKey(t *testing.T) {
	f := newFixture(t)
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
	content := sampleContent(64)
	for _, opts := range []EncryptOptions{
		{Cipher: "aes-256-gcm"},
		{Cipher: "aes-256-cbc", OAEP: true},
		{Cipher: "aes-128-gcm", OAEP: true},
	} {
		env := parse(t, f.encrypt(t, content, opts))
		_, err := env.Decrypt(f.cert, stranger)
		wantDecryptErr(t, err)
	}
	// PKCS #1 v1.5 with CBC: the random key of the Bleichenbacher defence
	// passes the padding check about once in 256 tries; then the output is
	// garbage, as in every CMS implementation. It must never be the content.
	env := parse(t, f.encrypt(t, content, EncryptOptions{Cipher: "aes-256-cbc"}))
	got, err := env.Decrypt(f.cert, stranger)
	if err == nil && bytes.Equal(got, content) {
		t.Fatal("decrypted with the wrong key")
	}
	if err != nil {
		wantDecryptErr(t, err)
	}
}

// TestWrongKeySize wraps a content key of the wrong length.
func TestWrongKeySize(t *testing.T) {
	f := newFixture(t)
	short := []byte("7 bytes")
	t.Run("oaep", func(t *testing.T) {
		opts := EncryptOptions{Cipher: "aes-256-cbc", OAEP: true}
		env := parse(t, f.encrypt(t, []byte("x"), opts))
		oaep := &rsa.OAEPOptions{Hash: crypto.SHA256, MGFHash: crypto.SHA256}
		ek, err := rsa.EncryptOAEPWithOptions(rand.Reader, &f.key.PublicKey, short, oaep)
		if err != nil {
			t.Fatal(err)
		}
		env.Recipients[0].encryptedKey = ek
		_, err = env.Decrypt(f.cert, f.key)
		wantDecryptErr(t, err)
	})
	t.Run("pkcs1v15", func(t *testing.T) {
		env := parse(t, f.encrypt(t, []byte("x"), EncryptOptions{Cipher: "aes-256-gcm"}))
		//lint:ignore SA1019 building a hostile v1.5 message.
		ek, err := rsa.EncryptPKCS1v15(rand.Reader, &f.key.PublicKey, short)
		if err != nil {
			t.Fatal(err)
		}
		env.Recipients[0].encryptedKey = ek
		_, err = env.Decrypt(f.cert, f.key)
		wantDecryptErr(t, err)
	})
	t.Run("content layer", func(t *testing.T) {
		env := parse(t, f.encrypt(t, []byte("x"), EncryptOptions{Cipher: "aes-256-cbc"}))
		buf := env.sealed()
		_, err := env.cipher.decrypt(short, buf, buf, nil)
		wantDecryptErr(t, err)
	})
	t.Run("garbage encrypted key", func(t *testing.T) {
		env := parse(t, f.encrypt(t, []byte("x"), EncryptOptions{Cipher: "aes-128-gcm"}))
		env.Recipients[0].encryptedKey = []byte{1, 2, 3}
		_, err := env.Decrypt(f.cert, f.key)
		wantDecryptErr(t, err)
	})
}

func TestManyRecipients(t *testing.T) {
	f := newFixture(t)
	oid, fields := envelopeFields(t, f.encrypt(t, []byte("x"), EncryptOptions{}))
	one := contents(t, fields[1])
	many := func(n int) []byte {
		fields := append([][]byte{}, fields...)
		fields[1] = wrap(0x31, bytes.Repeat(one, n))
		return rebuild(oid, fields)
	}
	t.Run("100000", func(t *testing.T) {
		der := many(100_000)
		start := time.Now()
		_, err := ParseEnvelope(der, Limits{})
		if !errors.Is(err, ErrLimit) {
			t.Fatalf("got %v, want ErrLimit", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("limit", func(t *testing.T) {
		if _, err := ParseEnvelope(many(3), Limits{MaxRecipients: 3}); err != nil {
			t.Fatal(err)
		}
		_, err := ParseEnvelope(many(4), Limits{MaxRecipients: 3})
		if !errors.Is(err, ErrLimit) {
			t.Fatalf("got %v, want ErrLimit", err)
		}
	})
}

// TestUnparsedRecipients: entries we cannot read are counted and skipped.
func TestUnparsedRecipients(t *testing.T) {
	f := newFixture(t)
	content := []byte("still opens")
	oid, fields := envelopeFields(t, f.encrypt(t, content, EncryptOptions{}))
	garbage := [][]byte{
		unhex(t, "a5 00"),                   // unknown choice
		unhex(t, "30 03 02 01 00"),          // key transport cut short
		unhex(t, "a1 03 02 01 03"),          // key agreement cut short
		unhex(t, "a4 05 06 03 2a 03 04"),    // other recipient, unknown type: listed
		unhex(t, "a2 05 02 01 04 30 00"),    // KEK without identifier
		unhex(t, "a3 05 02 01 00 30 00"),    // password with broken algorithm
		unhex(t, "30 06 02 01 00 80 01 aa"), // key transport, no algorithm
	}
	fields[1] = wrap(0x31, append(garbage, contents(t, fields[1]))...)
	env, err := ParseEnvelope(rebuild(oid, fields), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if env.UnparsedRecipients != 6 || len(env.Recipients) != 2 {
		t.Fatalf("%d unparsed, %d parsed", env.UnparsedRecipients, len(env.Recipients))
	}
	if r := env.Recipients[0]; r.Type != OtherRecipient || r.KeyAlgorithm != "oid:1.2.3.4" {
		t.Errorf("other recipient listed as %+v", r)
	}
	got, err := env.Decrypt(f.cert, f.key)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("Decrypt: %v", err)
	}
}

// TestAuthAttrs builds AuthEnvelopedData with authAttrs (RFC 5083 section
// 2.2: the attributes, DER with a SET OF tag, are the AAD).
func TestAuthAttrs(t *testing.T) {
	f := newFixture(t)
	content := []byte("authenticated")
	der := f.encrypt(t, content, EncryptOptions{Cipher: "aes-128-gcm"})
	env := parse(t, der)
	cek := f.cek(t, env)
	// One attribute: contentType = id-data.
	attr := wrap(0x30, unhex(t, "06 09 2a 86 48 86 f7 0d 01 09 03"),
		wrap(0x31, unhex(t, "06 09 2a 86 48 86 f7 0d 01 07 01")))
	aad := wrap(0x31, attr)
	block, _ := aes.NewCipher(cek)
	gcm, _ := cipher.NewGCM(block)
	sealed := gcm.Seal(nil, env.cipher.iv, content, aad)
	ct, tag := sealed[:len(content)], sealed[len(content):]

	build := func(attrs, mac []byte) []byte {
		oid, fields := envelopeFields(t, der)
		eci := elements(t, contents(t, fields[2]))
		fields[2] = wrap(0x30, eci[0], eci[1], wrap(0x80, ct))
		return rebuild(oid, [][]byte{fields[0], fields[1], fields[2],
			wrap(0xa1, attrs), wrap(0x04, mac)})
	}
	got, err := parse(t, build(attr, tag)).Decrypt(f.cert, f.key)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("Decrypt: %v", err)
	}
	badTag := append([]byte{}, tag...)
	badTag[0] ^= 1
	_, err = parse(t, build(attr, badTag)).Decrypt(f.cert, f.key)
	wantDecryptErr(t, err)
	// Without the attributes, the tag no longer matches.
	oid, fields := envelopeFields(t, der)
	eci := elements(t, contents(t, fields[2]))
	fields[2] = wrap(0x30, eci[0], eci[1], wrap(0x80, ct))
	fields[3] = wrap(0x04, tag)
	_, err = parse(t, rebuild(oid, fields)).Decrypt(f.cert, f.key)
	wantDecryptErr(t, err)
}

func TestUnsupported(t *testing.T) {
	f := newFixture(t)
	t.Run("cipher", func(t *testing.T) {
		der := f.encrypt(t, []byte("x"), EncryptOptions{Cipher: "aes-256-cbc"})
		aes256 := unhex(t, "06 09 60 86 48 01 65 03 04 01 2a")
		der = bytes.Replace(der, aes256, unhex(t, "06 09 60 86 48 01 65 03 04 01 63"), 1)
		env := parse(t, der)
		if env.ContentCipher != "oid:2.16.840.1.101.3.4.1.99" {
			t.Fatalf("ContentCipher = %q", env.ContentCipher)
		}
		_, err := env.Decrypt(f.cert, f.key)
		var ue *UnsupportedError
		if !errors.Is(err, ErrUnsupported) || !errors.As(err, &ue) ||
			ue.Name != env.ContentCipher {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("content type", func(t *testing.T) {
		_, err := ParseEnvelope(readShared(t, "rfc4134", "4.2.bin"), Limits{})
		var ue *UnsupportedError
		if !errors.As(err, &ue) || ue.Name != "signed-data" {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("key types", func(t *testing.T) {
		env := parse(t, f.encrypt(t, []byte("x"), EncryptOptions{}))
		ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		for _, key := range []crypto.PrivateKey{nil, "key", ec} {
			if _, err := env.Decrypt(f.cert, key); !errors.Is(err, ErrUnsupported) {
				t.Errorf("key %T: got %v", key, err)
			}
		}
	})
	t.Run("encrypt options", func(t *testing.T) {
		_, err := Encrypt(nil, []*x509.Certificate{f.cert}, EncryptOptions{Cipher: "rc2-cbc"})
		if !errors.Is(err, ErrUnsupported) {
			t.Fatalf("got %v", err)
		}
	})
}

// hsmKey is a crypto.Decrypter that is not *rsa.PrivateKey and, like some
// HSM drivers, ignores SessionKeyLen and reports padding errors.
type hsmKey struct{ key *rsa.PrivateKey }

func (h hsmKey) Public() crypto.PublicKey { return h.key.Public() }

func (h hsmKey) Decrypt(r io.Reader, msg []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	//lint:ignore SA1019 imitating a driver that drops SessionKeyLen.
	if _, ok := opts.(*rsa.PKCS1v15DecryptOptions); ok {
		opts = nil
	}
	return h.key.Decrypt(r, msg, opts)
}

func TestDecrypter(t *testing.T) {
	f := newFixture(t)
	content := sampleContent(1000)
	for _, opts := range []EncryptOptions{{}, {OAEP: true}, {Cipher: "aes-128-gcm"}} {
		env := parse(t, f.encrypt(t, content, opts))
		got, err := env.Decrypt(f.cert, hsmKey{f.key})
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("%+v: %v", opts, err)
		}
	}
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
	env := parse(t, f.encrypt(t, content, EncryptOptions{Cipher: "aes-128-gcm"}))
	_, err := env.Decrypt(f.cert, hsmKey{stranger})
	wantDecryptErr(t, err)
}

func TestGuard(t *testing.T) {
	err := func() (err error) {
		defer guard(&err)
		panic(errors.New("boom"))
	}()
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("got %v", err)
	}
}

func TestNoRecipient(t *testing.T) {
	f := newFixture(t)
	env := parse(t, f.encrypt(t, []byte("x"), EncryptOptions{UseSKI: true}))
	if _, err := env.Decrypt(nil, f.key); !errors.Is(err, ErrNoRecipient) {
		t.Fatalf("got %v", err)
	}
	other := newRSAIdentity(t, t.TempDir(), "other", 2048)
	if _, err := env.Decrypt(other.cert, f.key); !errors.Is(err, ErrNoRecipient) {
		t.Fatalf("got %v", err)
	}
}

// TestOAEPUnsupportedHash: an OAEP recipient with a hash we lack is listed
// and reported as unsupported, not skipped as garbage.
func TestOAEPUnsupportedHash(t *testing.T) {
	f := newFixture(t)
	oid, fields := envelopeFields(t, f.encrypt(t, []byte("x"), EncryptOptions{OAEP: true}))
	ktri := elements(t, contents(t, contents(t, fields[1])))
	md5 := wrap(0x30, unhex(t, "06 08 2a 86 48 86 f7 0d 02 05"))
	params := wrap(0x30, wrap(0xa0, md5))
	alg := wrap(0x30, unhex(t, "06 09 2a 86 48 86 f7 0d 01 01 07"), params)
	fields[1] = wrap(0x31, wrap(0x30, ktri[0], ktri[1], alg, ktri[3]))
	env := parse(t, rebuild(oid, fields))
	if len(env.Recipients) != 1 || env.Recipients[0].KeyAlgorithm != "rsa-oaep" {
		t.Fatalf("recipients %+v, %d unparsed", env.Recipients, env.UnparsedRecipients)
	}
	_, err := env.Decrypt(f.cert, f.key)
	var ue *UnsupportedError
	if !errors.As(err, &ue) || ue.Name != "oid:1.2.840.113549.2.5" {
		t.Fatalf("got %v", err)
	}
}
