package cms

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"
)

// sharedData is the read-only shared test data folder (see its README).
const sharedData = "../../../shared/testdata"

func readShared(t *testing.T, parts ...string) []byte {
	t.Helper()
	path := filepath.Join(append([]string{sharedData}, parts...)...)
	data, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared test data missing: %v", err)
		}
		t.Skipf("shared test data missing: %v", err)
	}
	return data
}

func pemBlock(t *testing.T, data []byte) []byte {
	t.Helper()
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatal("no PEM block")
	}
	return b.Bytes
}

// mimeBody decodes the base64 body of a one-part S/MIME message.
func mimeBody(t *testing.T, msg []byte) []byte {
	t.Helper()
	msg = bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n"))
	_, body, ok := bytes.Cut(msg, []byte("\n\n"))
	if !ok {
		t.Fatal("no message body")
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(body)), ""))
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestRFC4134(t *testing.T) {
	cert, err := x509.ParseCertificate(readShared(t, "rfc4134", "BobRSASignByCarl.cer"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := x509.ParsePKCS8PrivateKey(readShared(t, "rfc4134", "BobPrivRSAEncrypt.pri"))
	if err != nil {
		t.Fatal(err)
	}
	want := "This is some sample content."
	for _, tc := range []struct{ file, cipher string }{
		{"5.1.bin", "des-ede3-cbc"},
		// The README's "RC2-128" is the KEK recipient's key wrap; the
		// content cipher is RC2 with version 160, 40 effective bits.
		{"5.2.bin", "rc2-cbc-40"},
		{"5.3.eml", "des-ede3-cbc"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			der := readShared(t, "rfc4134", tc.file)
			if strings.HasSuffix(tc.file, ".eml") {
				der = mimeBody(t, der)
			}
			got := openWith(t, der, cert, key, tc.cipher)
			if string(got) != want {
				t.Fatalf("got %q", got)
			}
		})
	}
	t.Run("5.2.bin-kek-listed", func(t *testing.T) {
		env, err := ParseEnvelope(readShared(t, "rfc4134", "5.2.bin"), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		var kek *Recipient
		for i := range env.Recipients {
			if env.Recipients[i].Type == KEK {
				kek = &env.Recipients[i]
			}
		}
		if kek == nil || string(kek.ID.KEKID) != "MailListRC2" ||
			kek.KeyAlgorithm != "rc2-wrap" || kek.ID.Form() != "kek-id" {
			t.Fatalf("KEK recipient %+v", kek)
		}
	})
}

func openWith(t *testing.T, der []byte, cert *x509.Certificate, key crypto.PrivateKey,
	cipher string) []byte {
	t.Helper()
	env, err := ParseEnvelope(der, Limits{})
	if err != nil {
		t.Fatalf("ParseEnvelope: %v", err)
	}
	if env.ContentCipher != cipher {
		t.Errorf("ContentCipher = %q, want %q", env.ContentCipher, cipher)
	}
	got, err := env.Decrypt(cert, key)
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	return got
}

func TestPyca(t *testing.T) {
	cert, err := x509.ParseCertificate(pemBlock(t,
		readShared(t, "pyca", "x509-custom-ca", "rsa_ca.pem")))
	if err != nil {
		t.Fatal(err)
	}
	key, err := x509.ParsePKCS8PrivateKey(pemBlock(t,
		readShared(t, "pyca", "x509-custom-ca", "rsa_key.pem")))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, cipher, want string }{
		{"enveloped-aes-256-cbc.pem", "aes-256-cbc", "Hello world!\r\n"},
		{"enveloped-aes-192-cbc.pem", "aes-192-cbc", "Hello world!\r\n"},
		{"enveloped-triple-des.pem", "des-ede3-cbc", "Hello, World!\r\n"},
		{"enveloped-rsa-oaep.pem", "aes-128-cbc", "Hello, world!"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			der := pemBlock(t, readShared(t, "pyca", tc.file))
			if got := openWith(t, der, cert, key, tc.cipher); string(got) != tc.want {
				t.Fatalf("got %q", got)
			}
		})
	}
	t.Run("enveloped.pem", func(t *testing.T) {
		env, err := ParseEnvelope(pemBlock(t, readShared(t, "pyca", "enveloped.pem")), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if len(env.Recipients) != 2 {
			t.Errorf("%d recipients, want 2", len(env.Recipients))
		}
		if _, err := env.Decrypt(cert, key); !errors.Is(err, ErrNoRecipient) {
			t.Fatalf("got %v, want ErrNoRecipient", err)
		}
	})
}

func loadP12(t *testing.T, name string) (*x509.Certificate, crypto.PrivateKey) {
	t.Helper()
	// QUIRK(nss): NSS writes BER PKCS#12, which go-pkcs12 cannot read.
	der, err := NormalizeBER(readShared(t, "thunderbird", name), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	key, cert, _, err := pkcs12.DecodeChain(der, "nss")
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func TestThunderbird(t *testing.T) {
	cert, key := loadP12(t, "Fran.p12")
	for _, tc := range []struct{ file, cipher, keyAlg string }{
		{"fran-oaep_ossl.env", "des-ede3-cbc", "rsa-oaep-sha1"},
		{"fran-oaep-label_ossl.env", "aes-256-cbc", "rsa-oaep-sha1"},
		// OpenSSL's MGF1 hash follows rsa_oaep_md unless rsa_mgf1_md is given.
		{"fran-oaep-sha256hash_ossl.env", "aes-128-cbc", "rsa-oaep-sha256"},
		{"fran-oaep-sha256hash-sha256mgf_ossl.env", "aes-256-cbc", "rsa-oaep-sha256"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			der := mimeBody(t, readShared(t, "thunderbird", "interop", tc.file))
			got := openWith(t, der, cert, key, tc.cipher)
			if !bytes.Contains(got, []byte("This is a test message to Fran.")) {
				t.Fatalf("got %q", got)
			}
			env, _ := ParseEnvelope(der, Limits{})
			if r := env.MatchingRecipients(cert); r[0].KeyAlgorithm != tc.keyAlg {
				t.Errorf("KeyAlgorithm = %q, want %q", r[0].KeyAlgorithm, tc.keyAlg)
			}
		})
	}
	t.Run("bob", func(t *testing.T) {
		cert, key := opensslP12(t, "Bob.p12")
		der := mimeBody(t, readShared(t, "thunderbird", "alice.env.eml"))
		got := openWith(t, der, cert, key, "aes-128-cbc")
		if !bytes.Contains(got, []byte("This is a test message from Alice to Bob.")) {
			t.Fatalf("got %q", got)
		}
	})
	for _, tc := range []struct{ file, cipher, keyAlg string }{
		{"fran-ec_ossl-aes128-sha256.env", "aes-128-cbc", "ecdh-stddh-sha256kdf-aes128-wrap"},
		{"fran-ec_ossl-aes256-sha512.env", "aes-256-cbc", "ecdh-stddh-sha512kdf-aes256-wrap"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			cert, key := loadP12(t, "Fran-ec.p12")
			der := mimeBody(t, readShared(t, "thunderbird", "interop", tc.file))
			env, err := ParseEnvelope(der, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			r := env.MatchingRecipients(cert)
			if len(r) != 1 || r[0].Type != KeyAgree || r[0].KeyAlgorithm != tc.keyAlg {
				t.Fatalf("recipients %+v", env.Recipients)
			}
			got := openWith(t, der, cert, key, tc.cipher)
			if !bytes.Contains(got, []byte("This is a test message to Fran.")) {
				t.Fatalf("got %q", got)
			}
		})
	}
}

// opensslP12 reads a PKCS#12 file that go-pkcs12 cannot (NSS nests BER in
// its OCTET STRINGs) with `openssl pkcs12`.
func opensslP12(t *testing.T, name string) (*x509.Certificate, crypto.PrivateKey) {
	t.Helper()
	requireOpenSSL(t)
	path := filepath.Join(sharedData, "thunderbird", name)
	out := runOpenSSL(t, nil, "pkcs12", "-in", path, "-passin", "pass:nss", "-nodes", "-clcerts")
	var cert *x509.Certificate
	var key crypto.PrivateKey
	var err error
	for b, rest := pem.Decode(out); b != nil; b, rest = pem.Decode(rest) {
		switch b.Type {
		case "CERTIFICATE":
			cert, err = x509.ParseCertificate(b.Bytes)
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if cert == nil || key == nil {
		t.Fatal("no certificate or key in PKCS#12 output")
	}
	return cert, key
}
