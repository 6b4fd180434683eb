package cms

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"path/filepath"
	"strings"
	"testing"
)

// TestPublishedSamples opens every encrypted sample in the shared test
// data and checks the outcome its README states. Envelopes are found by
// walking the MIME structure, through multipart/signed, message/rfc822 and
// opaque signed-data layers. mimekit/ holds no encrypted sample.
func TestPublishedSamples(t *testing.T) {
	keys := sampleKeys(t)
	bobTB := "This is a test message from Alice to Bob."
	signedInside := "Content-Type: application/pkcs7-mime"
	cases := []struct {
		glob string
		n    int    // envelopes expected in each file
		want string // text in every decrypted envelope; "" = must not decrypt
	}{
		{"rfc4134/5.1.bin", 1, "This is some sample content."},
		{"rfc4134/5.2.bin", 1, "This is some sample content."},
		{"rfc4134/5.3.eml", 1, "This is some sample content."},
		{"thunderbird/alice.env.eml", 1, bobTB},
		{"thunderbird/alice.dsig.SHA*.multipart.env.eml", 1, bobTB},
		{"thunderbird/alice.sig.SHA*.opaque.env.eml", 1, signedInside},
		{"thunderbird/alice.html.sig.SHA*.opaque.env.eml", 1, signedInside},
		{"thunderbird/alice.env.sig.SHA*.opaque.eml", 1, bobTB},
		{"thunderbird/alice.env.sig.SHA*.opaque.dave.sig.SHA*.opaque.eml", 1, bobTB},
		{"thunderbird/alice.env.dsig.SHA*.multipart.eml", 1, bobTB},
		{"thunderbird/alice.env.dsig.SHA*.multipart.dave.sig.SHA*.opaque.eml", 1, bobTB},
		{"thunderbird/browser/multipart-alternative.eml", 2, "ontent-"},
		{"thunderbird/manual/outer-smime-bad-sig-inner-smime-enc.eml", 1, "Content-Type:"},
		{"thunderbird/manual/outer-smime-bad-sig-inner-smime-enc-sig.eml", 1, "Content-Type:"},
		{"thunderbird/manual/alice.dsig.SHA256.multipart.env.dsig.eml", 1, "Content-Type:"},
		{"thunderbird/manual/alice.env.mixed.dsig.SHA256.multipart.eml", 1, ""},
		{"thunderbird/manual/outer-pgp-sig-inner-smime-enc.eml", 1, ""},
		{"thunderbird/manual/outer-pgp-sig-inner-smime-enc-sig.eml", 1, ""},
		{"thunderbird/interop/fran-*.env", 1, "This is a test message to Fran."},
		{"thunderbird/stale-2019/*.env", 1, ""},
		{"pyca/enveloped-*.pem", 1, "ello"},
		{"pyca/enveloped.pem", 1, ""},
	}
	t.Run("rfc4134/7.x EncryptedData", func(t *testing.T) {
		key := unhexString("737c791f25ead0e04629254352f7dc6291e5cb26917ada32")
		for _, f := range []string{"7.1.bin", "7.2.bin"} {
			got, err := DecryptEncryptedData(readShared(t, "rfc4134", f), key, Limits{})
			if err != nil || string(got) != "This is some sample content." {
				t.Fatalf("%s: %q %v", f, got, err)
			}
			key[0] ^= 0x80
			_, err = DecryptEncryptedData(readShared(t, "rfc4134", f), key, Limits{})
			wantDecryptErr(t, err)
			key[0] ^= 0x80
		}
	})
	for _, tc := range cases {
		files, _ := filepath.Glob(filepath.Join(sharedData, tc.glob))
		if len(files) == 0 {
			readShared(t, tc.glob) // skips, or fails in CI
		}
		for _, file := range files {
			name, _ := filepath.Rel(sharedData, file)
			t.Run(name, func(t *testing.T) {
				envs := findEnvelopes(t, readShared(t, name), 0)
				if len(envs) != tc.n {
					t.Fatalf("found %d envelopes, want %d", len(envs), tc.n)
				}
				for _, der := range envs {
					checkSample(t, der, keys, tc.want)
				}
			})
		}
	}
}

// sampleKey is a key of the shared test data.
type sampleKey struct {
	cert *x509.Certificate
	key  crypto.PrivateKey
}

func sampleKeys(t *testing.T) []sampleKey {
	var keys []sampleKey
	for _, p12 := range []string{"Fran.p12", "Fran-ec.p12"} {
		c, k := loadP12(t, p12)
		keys = append(keys, sampleKey{c, k})
	}
	c, k := opensslP12(t, "Bob.p12")
	keys = append(keys, sampleKey{c, k})
	bob, err := x509.ParseCertificate(readShared(t, "rfc4134", "BobRSASignByCarl.cer"))
	if err != nil {
		t.Fatal(err)
	}
	bobKey, err := x509.ParsePKCS8PrivateKey(readShared(t, "rfc4134", "BobPrivRSAEncrypt.pri"))
	if err != nil {
		t.Fatal(err)
	}
	keys = append(keys, sampleKey{bob, bobKey})
	caPEM := readShared(t, "pyca", "x509-custom-ca", "rsa_ca.pem")
	ca, err := x509.ParseCertificate(pemBlock(t, caPEM))
	if err != nil {
		t.Fatal(err)
	}
	caKey, err := x509.ParsePKCS8PrivateKey(pemBlock(t,
		readShared(t, "pyca", "x509-custom-ca", "rsa_key.pem")))
	if err != nil {
		t.Fatal(err)
	}
	return append(keys, sampleKey{ca, caKey})
}

// checkSample opens der with whichever key it names; want "" means no key
// may be named.
func checkSample(t *testing.T, der []byte, keys []sampleKey, want string) {
	t.Helper()
	env, err := ParseEnvelope(der, Limits{})
	if err != nil {
		t.Fatalf("ParseEnvelope: %v", err)
	}
	for _, k := range keys {
		got, err := env.Decrypt(k.cert, k.key)
		if errors.Is(err, ErrNoRecipient) {
			continue
		}
		if want == "" {
			t.Fatalf("expected no matching key, but %s matched: %v", k.cert.Subject, err)
		}
		if err != nil || !bytes.Contains(got, []byte(want)) {
			t.Fatalf("Decrypt: %v; content %.80q", err, got)
		}
		return
	}
	if want != "" {
		t.Fatalf("no key matches (%d recipients)", len(env.Recipients))
	}
}

// findEnvelopes returns the EnvelopedData objects in a sample: the file
// itself (DER, BER or PEM) or the enveloped-data entities of a message.
func findEnvelopes(t *testing.T, data []byte, depth int) [][]byte {
	if depth > 8 {
		t.Fatal("sample nested too deep")
	}
	if b, _ := pem.Decode(data); b != nil {
		data = b.Bytes
	}
	if len(data) > 0 && data[0] == 0x30 {
		if _, err := ParseEnvelope(data, Limits{}); err == nil {
			return [][]byte{data}
		}
		if sd, err := ParseSignedData(data, Limits{}); err == nil && sd.Content != nil {
			return findEnvelopes(t, sd.Content, depth+1)
		}
		return nil
	}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return nil
	}
	body, _ := io.ReadAll(msg.Body)
	return entityEnvelopes(t, textproto.MIMEHeader(msg.Header), body, depth)
}

func entityEnvelopes(t *testing.T, h textproto.MIMEHeader, body []byte, depth int) [][]byte {
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return nil
	}
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		var out [][]byte
		r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for {
			p, err := r.NextRawPart()
			if err != nil {
				return out
			}
			pb, _ := io.ReadAll(p)
			out = append(out, entityEnvelopes(t, p.Header, pb, depth+1)...)
		}
	case mt == "message/rfc822":
		return findEnvelopes(t, body, depth+1)
	case strings.HasSuffix(mt, "pkcs7-mime"):
		if strings.EqualFold(h.Get("Content-Transfer-Encoding"), "base64") {
			text := strings.Join(strings.Fields(string(body)), "")
			body, err = base64.StdEncoding.DecodeString(text)
			if err != nil {
				t.Fatal(err)
			}
		}
		return findEnvelopes(t, body, depth+1)
	}
	return nil
}
