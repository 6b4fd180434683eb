package cms

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"slices"
	"testing"
)

// TestDecryptOpenSSL decrypts what `openssl cms -encrypt` writes and
// compares the result byte for byte with `openssl cms -decrypt`.
func TestDecryptOpenSSL(t *testing.T) {
	requireOpenSSL(t)
	dir := t.TempDir()
	me := newRSAIdentity(t, dir, "me", 2048)
	other := newRSAIdentity(t, dir, "other", 2048)
	ec := newECIdentity(t, dir, "ec")
	recip := []string{"-recip", me.certPath}
	oaep := func(opts ...string) []string {
		out := append([]string{}, recip...)
		out = append(out, "-keyopt", "rsa_padding_mode:oaep")
		for _, o := range opts {
			out = append(out, "-keyopt", o)
		}
		return out
	}
	cases := []struct {
		name   string
		args   []string
		size   int
		kind   Kind
		cipher string
		keyAlg string
		form   string
		legacy bool
		recips int
	}{
		{name: "aes128", args: append([]string{"-aes128"}, recip...), cipher: "aes-128-cbc"},
		{name: "aes192", args: append([]string{"-aes192"}, recip...), cipher: "aes-192-cbc"},
		{name: "aes256", args: append([]string{"-aes256"}, recip...), cipher: "aes-256-cbc"},
		{name: "des3", args: append([]string{"-des3"}, recip...), cipher: "des-ede3-cbc"},
		{name: "aes-128-gcm", args: append([]string{"-aes-128-gcm"}, recip...),
			cipher: "aes-128-gcm", kind: KindAuthEnveloped},
		{name: "aes-256-gcm", args: append([]string{"-aes-256-gcm"}, recip...),
			cipher: "aes-256-gcm", kind: KindAuthEnveloped},
		{name: "keyid", args: append([]string{"-aes256", "-keyid"}, recip...),
			cipher: "aes-256-cbc", form: "ski"},
		{name: "stream", args: append([]string{"-aes256", "-stream"}, recip...),
			cipher: "aes-256-cbc", size: 100_000},
		{name: "indef", args: append([]string{"-aes128", "-indef"}, recip...),
			cipher: "aes-128-cbc", size: 70_000},
		{name: "stream-gcm", args: append([]string{"-aes-256-gcm", "-stream"}, recip...),
			cipher: "aes-256-gcm", kind: KindAuthEnveloped, size: 50_000},
		{name: "oaep-default", args: append([]string{"-aes256"}, oaep()...),
			cipher: "aes-256-cbc", keyAlg: "rsa-oaep-sha1"},
		{name: "oaep-sha256", args: append([]string{"-aes256"},
			oaep("rsa_oaep_md:sha256", "rsa_mgf1_md:sha256")...),
			cipher: "aes-256-cbc", keyAlg: "rsa-oaep-sha256"},
		{name: "oaep-sha256-mgf1-sha1", args: append([]string{"-aes128"},
			oaep("rsa_oaep_md:sha256", "rsa_mgf1_md:sha1")...),
			cipher: "aes-128-cbc", keyAlg: "rsa-oaep-sha256-mgf1-sha1"},
		{name: "oaep-sha512-mgf1-sha384", args: append([]string{"-aes128"},
			oaep("rsa_oaep_md:sha512", "rsa_mgf1_md:sha384")...),
			cipher: "aes-128-cbc", keyAlg: "rsa-oaep-sha512-mgf1-sha384"},
		{name: "oaep-sha224", args: append([]string{"-aes128"},
			oaep("rsa_oaep_md:sha224")...),
			cipher: "aes-128-cbc", keyAlg: "rsa-oaep-sha224"},
		{name: "oaep-label", args: append([]string{"-aes-256-gcm"},
			oaep("rsa_oaep_md:sha256", "rsa_oaep_label:0123456789abcdef")...),
			cipher: "aes-256-gcm", kind: KindAuthEnveloped, keyAlg: "rsa-oaep-sha256"},
		{name: "second-of-two", args: []string{"-aes256", "-recip", other.certPath,
			"-recip", me.certPath}, cipher: "aes-256-cbc", recips: 2},
		{name: "ec-co-recipient", args: []string{"-aes128", "-recip", ec.certPath,
			"-recip", me.certPath}, cipher: "aes-128-cbc", recips: 2},
		{name: "des", args: append([]string{"-provider", "legacy", "-provider", "default",
			"-des"}, recip...), cipher: "des-cbc", legacy: true},
		{name: "rc2-40", args: append([]string{"-provider", "legacy", "-provider", "default",
			"-rc2-40"}, recip...), cipher: "rc2-cbc-40", legacy: true},
		{name: "rc2-64", args: append([]string{"-provider", "legacy", "-provider", "default",
			"-rc2-64"}, recip...), cipher: "rc2-cbc-64", legacy: true},
		{name: "rc2-128", args: append([]string{"-provider", "legacy", "-provider", "default",
			"-rc2-128"}, recip...), cipher: "rc2-cbc-128", legacy: true},
	}
	legacy := opensslHasLegacy()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.legacy && !legacy {
				t.Skip("openssl legacy provider not available")
			}
			size := tc.size
			if size == 0 {
				size = 3000
			}
			content := sampleContent(size)
			der := opensslEncrypt(t, dir, content, tc.args...)
			if slices.Contains(tc.args, "-stream") || slices.Contains(tc.args, "-indef") {
				if der[1] != 0x80 {
					t.Fatalf("openssl wrote definite length %x, want BER", der[:4])
				}
			}
			env, err := ParseEnvelope(der, Limits{})
			if err != nil {
				t.Fatalf("ParseEnvelope: %v", err)
			}
			checkEnvelope(t, env, tc.kind, tc.cipher, tc.recips)
			matches := env.MatchingRecipients(me.cert)
			if len(matches) != 1 {
				t.Fatalf("%d recipients match", len(matches))
			}
			if want := tc.keyAlg; want != "" && matches[0].KeyAlgorithm != want {
				t.Errorf("KeyAlgorithm = %q, want %q", matches[0].KeyAlgorithm, want)
			}
			if want := tc.form; want != "" && matches[0].ID.Form() != want {
				t.Errorf("ID.Form = %q, want %q", matches[0].ID.Form(), want)
			}
			got, err := env.Decrypt(me.cert, me.key)
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			var extra []string
			if tc.legacy {
				extra = []string{"-provider", "legacy", "-provider", "default"}
			}
			ref := opensslDecrypt(t, dir, der, me, extra...)
			if !bytes.Equal(got, ref) || !bytes.Equal(got, content) {
				t.Fatalf("decrypted %d bytes, openssl %d, original %d",
					len(got), len(ref), len(content))
			}
		})
	}
	t.Run("ec-recipient-listed", func(t *testing.T) {
		der := opensslEncrypt(t, dir, []byte("x"), "-aes128", "-recip", ec.certPath,
			"-keyopt", "ecdh_kdf_md:sha256", "-recip", me.certPath)
		env, err := ParseEnvelope(der, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		ecr := env.MatchingRecipients(ec.cert)
		if len(ecr) != 1 || ecr[0].Type != KeyAgree ||
			ecr[0].KeyAlgorithm != "ecdh-stddh-sha256kdf-aes128-wrap" {
			t.Fatalf("EC recipient listed as %+v", ecr)
		}
		got, err := env.Decrypt(ec.cert, ec.key)
		if err != nil || string(got) != "x" {
			t.Fatalf("EC decrypt: %v", err)
		}
	})
	t.Run("not-for-me", func(t *testing.T) {
		der := opensslEncrypt(t, dir, []byte("x"), "-aes128", "-recip", other.certPath)
		env, err := ParseEnvelope(der, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.Decrypt(me.cert, me.key); !errors.Is(err, ErrNoRecipient) {
			t.Fatalf("got %v, want ErrNoRecipient", err)
		}
	})
}

func checkEnvelope(t *testing.T, env *Envelope, kind Kind, cipher string, recips int) {
	t.Helper()
	if kind == 0 {
		kind = KindEnveloped
	}
	if recips == 0 {
		recips = 1
	}
	if env.Kind != kind {
		t.Errorf("Kind = %v, want %v", env.Kind, kind)
	}
	if env.ContentCipher != cipher {
		t.Errorf("ContentCipher = %q, want %q", env.ContentCipher, cipher)
	}
	if env.ContentType != "data" {
		t.Errorf("ContentType = %q", env.ContentType)
	}
	if len(env.Recipients) != recips || env.UnparsedRecipients != 0 {
		t.Errorf("%d recipients, %d unparsed; want %d", len(env.Recipients),
			env.UnparsedRecipients, recips)
	}
}

// TestEncryptOpenSSL checks that openssl opens what Encrypt writes.
func TestEncryptOpenSSL(t *testing.T) {
	requireOpenSSL(t)
	dir := t.TempDir()
	me := newRSAIdentity(t, dir, "me", 2048)
	other := newRSAIdentity(t, dir, "other", 2048)
	content := sampleContent(5000)
	for _, c := range []string{"aes-128-cbc", "aes-192-cbc", "aes-256-cbc", "des-ede3-cbc",
		"aes-128-gcm", "aes-192-gcm", "aes-256-gcm"} {
		for _, opts := range []EncryptOptions{
			{Cipher: c},
			{Cipher: c, OAEP: true},
			{Cipher: c, UseSKI: true},
			{Cipher: c, OAEP: true, UseSKI: true,
				OAEPHash: crypto.SHA384, OAEPMGFHash: crypto.SHA1},
		} {
			name := c
			if opts.OAEP {
				name += "-oaep"
			}
			if opts.UseSKI {
				name += "-ski"
			}
			if opts.OAEPHash != 0 {
				name += "-mixed"
			}
			t.Run(name, func(t *testing.T) {
				der, err := Encrypt(content, []*x509.Certificate{other.cert, me.cert}, opts)
				if err != nil {
					t.Fatal(err)
				}
				if got := opensslDecrypt(t, dir, der, me); !bytes.Equal(got, content) {
					t.Fatalf("openssl decrypted %d bytes, want %d", len(got), len(content))
				}
				env, err := ParseEnvelope(der, Limits{})
				if err != nil {
					t.Fatal(err)
				}
				got, err := env.Decrypt(me.cert, me.key)
				if err != nil || !bytes.Equal(got, content) {
					t.Fatalf("own decrypt: %v", err)
				}
			})
		}
	}
}
