package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/mlkem"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The fuzz key is a public, test-only RSA-1024 key (small, so that fuzzing
// spends its time in our code rather than in RSA). The seed messages in
// testdata/fuzz/FuzzDecrypt were made for it with `openssl cms -encrypt`.
func fuzzIdentity(t testing.TB) (*x509.Certificate, crypto.PrivateKey) {
	return readIdentity(t, "fuzz-rsa1024")
}

// readIdentity reads testdata/NAME.crt and NAME.key (PKCS #8).
func readIdentity(t testing.TB, name string) (*x509.Certificate, crypto.PrivateKey) {
	t.Helper()
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := pem.Decode(data)
		if b == nil {
			t.Fatalf("%s: no PEM", name)
		}
		return b.Bytes
	}
	cert, err := x509.ParseCertificate(read(name + ".crt"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := x509.ParsePKCS8PrivateKey(read(name + ".key"))
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

var fuzzLimits = Limits{MaxInputBytes: 1 << 20, MaxNestingDepth: 48, MaxRecipients: 32,
	MaxDecompressedBytes: 1 << 20, MaxPBKDF2Iterations: 4096}

// fuzzKeys are the keys FuzzDecrypt tries on every input, one per
// recipient kind. All are public test values.
type fuzzKeys struct {
	rsaCert, ecCert *x509.Certificate
	rsa, ec         crypto.PrivateKey
	x25519          *ecdh.PrivateKey
	mlkem           *mlkem.DecapsulationKey768
	kekID, kek, pw  []byte
}

func newFuzzKeys(t testing.TB) *fuzzKeys {
	t.Helper()
	k := &fuzzKeys{kekID: []byte("fuzz-kek"), kek: bytes.Repeat([]byte{0x5a}, 16),
		pw: []byte("fuzz password")}
	k.rsaCert, k.rsa = fuzzIdentity(t)
	k.ecCert, k.ec = readIdentity(t, "fuzz-p256")
	var err error
	k.x25519, err = ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{0x25}, 32))
	if err != nil {
		t.Fatal(err)
	}
	k.mlkem, err = mlkem.NewDecapsulationKey768(bytes.Repeat([]byte{0x76}, mlkem.SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// decryptAll tries every fuzz key on env without the guards; every
// error must be a sentinel.
func (k *fuzzKeys) decryptAll(t *testing.T, env *Envelope) [][]byte {
	var out [][]byte
	try := func(content []byte, err error) {
		if err != nil {
			checkSentinel(t, err)
			return
		}
		out = append(out, content)
	}
	try(env.decrypt(k.rsaCert, k.rsa))
	try(env.decrypt(k.ecCert, k.ec))
	try(env.decrypt(k.ecCert, k.x25519))
	try(env.decrypt(k.ecCert, k.mlkem))
	try(env.decryptMatches(env.kekRecipients(k.kekID), SecretKey{ID: k.kekID, Key: k.kek}))
	try(env.decryptMatches(env.passwordRecipients(), passwordKey{k.pw, env.maxIter}))
	return out
}

// FuzzParseEnvelope calls the parser without its guard: a panic is a bug.
func FuzzParseEnvelope(f *testing.F) {
	f.Add([]byte{0x30, 0x80, 0x00, 0x00})
	f.Add([]byte{0x24, 0x80, 0x04, 0x01, 0xaa, 0x00, 0x00})
	cert, _ := fuzzIdentity(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		der, err := normalize(data, fuzzLimits)
		if err == nil {
			// Normalising is idempotent.
			again, err := normalize(der, fuzzLimits)
			if err != nil || !bytes.Equal(again, der) {
				t.Fatalf("normalize not idempotent: %v", err)
			}
		}
		env, err := parseEnvelope(data, fuzzLimits)
		if err != nil {
			checkSentinel(t, err)
			return
		}
		for _, r := range env.Recipients {
			_ = r.ID.Form()
			r.ID.Matches(cert)
		}
		if _, err := decompress(data, fuzzLimits); err != nil {
			checkSentinel(t, err)
		}
		if _, err := decryptEncryptedData(data, make([]byte, 16), fuzzLimits); err != nil {
			checkSentinel(t, err)
		}
	})
}

// FuzzDecrypt parses and decrypts with a key of every kind, without the
// guards.
func FuzzDecrypt(f *testing.F) {
	keys := newFuzzKeys(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := parseEnvelope(data, fuzzLimits)
		if err != nil {
			return
		}
		keys.decryptAll(t, env)
	})
}

// readCorpus reads the []byte seeds of a checked-in fuzz corpus.
func readCorpus(t *testing.T, name string) map[string][]byte {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", name)
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, fi := range files {
		data, err := os.ReadFile(filepath.Join(dir, fi.Name()))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		lit := strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")")
		s, err := strconv.Unquote(lit)
		if err != nil {
			t.Fatalf("%s: %v", fi.Name(), err)
		}
		out[fi.Name()] = []byte(s)
	}
	return out
}

// TestFuzzSeeds checks that the seeds are what they claim to be: every
// FuzzDecrypt seed opens with one of the fuzz keys.
func TestFuzzSeeds(t *testing.T) {
	keys := newFuzzKeys(t)
	for name, msg := range readCorpus(t, "FuzzDecrypt") {
		env, err := parseEnvelope(msg, fuzzLimits)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		opened := keys.decryptAll(t, env)
		if len(opened) == 0 || !bytes.Contains(opened[0], []byte("hello fuzz")) {
			t.Errorf("%s: no fuzz key opens it", name)
		}
	}
	seeds := readCorpus(t, "FuzzParseEnvelope")
	for name, typ := range map[string]RecipientType{"pwri.der": Password, "kek.der": KEK} {
		env, err := ParseEnvelope(seeds[name], Limits{})
		if err != nil || len(env.Recipients) != 1 || env.Recipients[0].Type != typ {
			t.Fatalf("%s: %v %+v", name, err, env)
		}
	}
}

// TestWriteFuzzSeeds writes the FuzzDecrypt seeds of the recipient kinds
// OpenSSL cannot write (or not for these fixed keys) with -update.
func TestWriteFuzzSeeds(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite the generated fuzz seeds")
	}
	keys := newFuzzKeys(t)
	content := []byte("Content-Type: text/plain\r\n\r\nhello fuzz\r\n")
	seeds := map[string]struct {
		r    EncryptRecipient
		opts EncryptOptions
	}{
		"gen-ecdh-p256.der": {EncryptRecipient{Certificate: keys.ecCert},
			EncryptOptions{Cipher: "aes-128-cbc", UKM: []byte("ukm"), Cofactor: true}},
		"gen-ecdh-ski.der": {EncryptRecipient{Certificate: keys.ecCert},
			EncryptOptions{Cipher: "aes-256-gcm", UseSKI: true, KDFHash: crypto.SHA1}},
		"gen-x25519.der": {EncryptRecipient{Certificate: keys.ecCert,
			PublicKey: keys.x25519.PublicKey()}, EncryptOptions{Cipher: "aes-128-gcm"}},
		"gen-mlkem768.der": {EncryptRecipient{Certificate: keys.ecCert,
			PublicKey: keys.mlkem.EncapsulationKey()}, EncryptOptions{UKM: []byte("u")}},
		"gen-kek.der": {EncryptRecipient{KEKID: keys.kekID, KEK: keys.kek},
			EncryptOptions{Cipher: "aes-128-cbc"}},
		"gen-pwri.der": {EncryptRecipient{Password: keys.pw},
			EncryptOptions{Cipher: "aes-128-cbc", PBKDF2Iterations: 2}},
		"gen-compressed.der": {EncryptRecipient{Certificate: keys.rsaCert},
			EncryptOptions{Cipher: "aes-128-cbc", Compress: true}},
	}
	for name, s := range seeds {
		der, err := EncryptFor(content, []EncryptRecipient{s.r}, s.opts)
		if err != nil {
			t.Fatal(err)
		}
		writeSeed(t, "FuzzDecrypt", name, der)
		writeSeed(t, "FuzzParseEnvelope", name, der)
	}
	writeSeed(t, "FuzzParseEnvelope", "gen-compressed-ci.der", Compress(content))
}

func writeSeed(t *testing.T, target, name string, data []byte) {
	t.Helper()
	text := "go test fuzz v1\n[]byte(" + strconv.Quote(string(data)) + ")\n"
	path := filepath.Join("testdata", "fuzz", target, name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkSentinel fails unless err is one of the package's sentinels.
func checkSentinel(t *testing.T, err error) {
	t.Helper()
	for _, s := range []error{ErrMalformed, ErrUnsupported, ErrNoRecipient, ErrDecrypt, ErrLimit} {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("error %v is none of the sentinels", err)
}
