package cms

import (
	"bytes"
	"crypto"
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
	cert, err := x509.ParseCertificate(read("fuzz-rsa1024.crt"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := x509.ParsePKCS8PrivateKey(read("fuzz-rsa1024.key"))
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

var fuzzLimits = Limits{MaxInputBytes: 1 << 20, MaxNestingDepth: 48, MaxRecipients: 32}

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
	})
}

// FuzzDecrypt parses and decrypts with the fuzz key, without the guards.
func FuzzDecrypt(f *testing.F) {
	cert, key := fuzzIdentity(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := parseEnvelope(data, fuzzLimits)
		if err != nil {
			return
		}
		if _, err := env.decrypt(cert, key); err != nil {
			checkSentinel(t, err)
		}
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

// TestFuzzSeeds checks that the seeds are what they claim to be.
func TestFuzzSeeds(t *testing.T) {
	cert, key := fuzzIdentity(t)
	for name, msg := range readCorpus(t, "FuzzDecrypt") {
		env, err := ParseEnvelope(msg, Limits{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := env.Decrypt(cert, key)
		if err != nil || !bytes.Contains(got, []byte("hello fuzz")) {
			t.Errorf("%s: %v", name, err)
		}
	}
	seeds := readCorpus(t, "FuzzParseEnvelope")
	for name, typ := range map[string]RecipientType{"pwri.der": Password, "kek.der": KEK} {
		env, err := ParseEnvelope(seeds[name], Limits{})
		if err != nil || len(env.Recipients) != 1 || env.Recipients[0].Type != typ {
			t.Fatalf("%s: %v %+v", name, err, env)
		}
		if _, err := env.Decrypt(cert, key); !errors.Is(err, ErrNoRecipient) {
			t.Errorf("%s: got %v", name, err)
		}
	}
}
