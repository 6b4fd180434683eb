package cms

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"testing"
)

func newCurveIdentity(t testing.TB, dir, name string, curve elliptic.Curve) *testIdentity {
	t.Helper()
	key, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return newIdentity(t, dir, name, key)
}

// verifyAll parses der and verifies every signer with the certificate the
// message carries; content is the detached content or nil.
func verifyAll(t *testing.T, der, content []byte) (*SignedData, []error) {
	t.Helper()
	sd, err := ParseSignedData(der, Limits{})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	var errs []error
	for _, si := range sd.Signers {
		cert := si.FindCertificate(sd.Certificates)
		if cert == nil {
			t.Fatalf("signer %s: certificate not in the message", si.ID.Form())
		}
		errs = append(errs, sd.Verify(si, cert, content))
	}
	return sd, errs
}

// TestVerifyOpenSSL verifies what `openssl cms -sign` writes, then the same
// with the content changed by one byte.
func TestVerifyOpenSSL(t *testing.T) {
	requireOpenSSL(t)
	dir := t.TempDir()
	rsaID := newRSAIdentity(t, dir, "rsa", 2048)
	rsa2 := newRSAIdentity(t, dir, "rsa2", 2048)
	p256 := newCurveIdentity(t, dir, "p256", elliptic.P256())
	p384 := newCurveIdentity(t, dir, "p384", elliptic.P384())
	p521 := newCurveIdentity(t, dir, "p521", elliptic.P521())
	pss := []string{"-keyopt", "rsa_padding_mode:pss"}
	cases := []struct {
		name    string
		opts    []string
		opaque  bool
		size    int
		signers int
		digest  string
		sigAlg  string
		form    string
		attrs   bool
	}{
		{name: "rsa", opts: signerOpts(rsaID), digest: "sha256", sigAlg: "rsa-pkcs1v15"},
		{name: "rsa-pss", opts: signerOpts(rsaID, pss...), sigAlg: "rsa-pss"},
		{name: "rsa-pss-sha512", opts: append(signerOpts(rsaID, pss...), "-md", "sha512"),
			sigAlg: "rsa-pss", digest: "sha512"},
		{name: "p256", opts: signerOpts(p256), sigAlg: "ecdsa"},
		{name: "p384", opts: append(signerOpts(p384), "-md", "sha384"), sigAlg: "ecdsa",
			digest: "sha384"},
		{name: "p521", opts: append(signerOpts(p521), "-md", "sha512"), sigAlg: "ecdsa",
			digest: "sha512"},
		{name: "keyid", opts: append(signerOpts(rsaID), "-keyid"), form: "ski"},
		{name: "opaque", opts: append(signerOpts(rsaID), "-nodetach"), opaque: true},
		{name: "opaque-stream-ber", opts: append(signerOpts(p256), "-nodetach", "-stream"),
			opaque: true, size: 150_000},
		{name: "sha1", opts: append(signerOpts(rsaID), "-md", "sha1"), digest: "sha1"},
		{name: "sha224", opts: append(signerOpts(rsaID), "-md", "sha224"), digest: "sha224"},
		{name: "sha384", opts: append(signerOpts(rsaID), "-md", "sha384"), digest: "sha384"},
		{name: "md5", opts: append(signerOpts(rsaID), "-md", "md5"), digest: "md5"},
		{name: "two-signers", opts: append(signerOpts(rsaID), signerOpts(p256)...),
			signers: 2},
		{name: "two-rsa-one-pss", opts: append(signerOpts(rsaID), signerOpts(rsa2, pss...)...),
			signers: 2},
		{name: "no-attributes", opts: append(signerOpts(rsaID), "-noattr"), attrs: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			size := tc.size
			if size == 0 {
				size = 3000
			}
			content := sampleContent(size)
			der := opensslSign(t, dir, content, tc.opts...)
			detached := content
			if tc.opaque {
				detached = nil
			}
			sd, errs := verifyAll(t, der, detached)
			checkSigned(t, sd, tc.signers, tc.digest, tc.sigAlg, tc.form)
			if tc.opaque && !bytes.Equal(sd.Content, content) {
				t.Errorf("eContent: %d bytes, want the %d signed", len(sd.Content), len(content))
			}
			if tc.attrs == sd.Signers[0].SignedAttributes {
				t.Errorf("signed attributes present: %t", sd.Signers[0].SignedAttributes)
			}
			for i, err := range errs {
				if err != nil {
					t.Errorf("signer %d: %v", i, err)
				}
			}
			tampered := bytes.Clone(content)
			tampered[len(tampered)/2] ^= 1
			_, errs = verifyAll(t, der, tampered)
			for i, err := range errs {
				if !errors.Is(err, ErrVerify) {
					t.Errorf("tampered, signer %d: %v, want ErrVerify", i, err)
				}
			}
		})
	}
}

func checkSigned(t *testing.T, sd *SignedData, signers int, digest, sigAlg, form string) {
	t.Helper()
	if signers == 0 {
		signers = 1
	}
	if len(sd.Signers) != signers || sd.UnparsedSigners != 0 {
		t.Fatalf("%d signers (%d unparsed), want %d", len(sd.Signers), sd.UnparsedSigners,
			signers)
	}
	si := sd.Signers[0]
	if digest != "" && si.DigestAlgorithm != digest {
		t.Errorf("digest %s, want %s", si.DigestAlgorithm, digest)
	}
	if sigAlg != "" && si.SignatureAlgorithm != sigAlg {
		t.Errorf("signature algorithm %s, want %s", si.SignatureAlgorithm, sigAlg)
	}
	if form == "" {
		form = "issuer-serial"
	}
	if si.ID.Form() != form {
		t.Errorf("signer identified by %s, want %s", si.ID.Form(), form)
	}
	if sd.ContentType != "data" {
		t.Errorf("content type %s", sd.ContentType)
	}
}

// TestVerifyTamperedContent tells a changed content (digest mismatch) from
// a changed signature value.
func TestVerifyTamperedContent(t *testing.T) {
	requireOpenSSL(t)
	dir := t.TempDir()
	id := newRSAIdentity(t, dir, "rsa", 2048)
	content := sampleContent(500)
	der := opensslSign(t, dir, content, signerOpts(id)...)

	_, errs := verifyAll(t, der, append(bytes.Clone(content), '\n'))
	if !errors.Is(errs[0], ErrDigestMismatch) {
		t.Errorf("content with a byte more: %v, want ErrDigestMismatch", errs[0])
	}
	sd, _ := verifyAll(t, der, content)
	sd.Signers[0].signature[10] ^= 0x40
	err := sd.Verify(sd.Signers[0], sd.Signers[0].FindCertificate(sd.Certificates), content)
	if !errors.Is(err, ErrBadSignature) {
		t.Errorf("changed signature: %v, want ErrBadSignature", err)
	}
	other := newRSAIdentity(t, dir, "other", 2048)
	sd, _ = verifyAll(t, der, content)
	if err := sd.Verify(sd.Signers[0], other.cert, content); !errors.Is(err, ErrBadSignature) {
		t.Errorf("another key: %v, want ErrBadSignature", err)
	}
	if err := sd.Verify(sd.Signers[0], sd.Certificates[0], nil); !errors.Is(err, ErrNoContent) {
		t.Errorf("detached without content: %v, want ErrNoContent", err)
	}
}

// TestVerifyEd25519 uses our own encoder: OpenSSL 3.0 cannot sign CMS
// with Ed25519.
func TestVerifyEd25519(t *testing.T) {
	dir := t.TempDir()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := newIdentity(t, dir, "ed", key)
	content := sampleContent(800)
	for _, o := range []testSignOptions{{}, {detached: true}, {noAttrs: true}, {ski: true}} {
		der := signTest(t, id, content, o)
		var detached []byte
		if o.detached {
			detached = content
		}
		sd, errs := verifyAll(t, der, detached)
		checkSigned(t, sd, 1, "sha512", "ed25519", map[bool]string{true: "ski"}[o.ski])
		if errs[0] != nil {
			t.Errorf("%+v: %v", o, errs[0])
		}
		_, errs = verifyAll(t, der, []byte("other content"))
		if !errors.Is(errs[0], ErrVerify) {
			t.Errorf("%+v, other content: %v, want ErrVerify", o, errs[0])
		}
	}
}

// TestVerifyContentTypeAttribute: the content-type attribute must name
// eContentType (RFC 5652 section 11.1), else the content could be passed
// off as another type under the same signature.
func TestVerifyContentTypeAttribute(t *testing.T) {
	dir := t.TempDir()
	id := newRSAIdentity(t, dir, "rsa", 2048)
	content := sampleContent(300)
	der := signTest(t, id, content, testSignOptions{attrType: oidEnvelopedData})
	_, errs := verifyAll(t, der, nil)
	if !errors.Is(errs[0], ErrVerify) || errors.Is(errs[0], ErrBadSignature) {
		t.Errorf("wrong content-type attribute: %v, want ErrVerify", errs[0])
	}
	if der := signTest(t, id, content, testSignOptions{}); verifyFirst(t, der) != nil {
		t.Errorf("control: %v", verifyFirst(t, der))
	}
	// Without signed attributes, only id-data may be signed (section 5.3).
	der = signTest(t, id, content, testSignOptions{noAttrs: true,
		contentType: asn1.ObjectIdentifier{1, 2, 3, 4}})
	if err := verifyFirst(t, der); !errors.Is(err, ErrVerify) {
		t.Errorf("other content type without attributes: %v, want ErrVerify", err)
	}
}

func verifyFirst(t *testing.T, der []byte) error {
	t.Helper()
	_, errs := verifyAll(t, der, nil)
	return errs[0]
}

// TestParseSignedDataErrors: anything but SignedData, and broken input,
// are errors of the right kind and never panics.
func TestParseSignedDataErrors(t *testing.T) {
	dir := t.TempDir()
	id := newRSAIdentity(t, dir, "rsa", 2048)
	der := signTest(t, id, []byte("hello"), testSignOptions{})
	for i := 1; i < len(der); i += 7 {
		if _, err := ParseSignedData(der[:i], Limits{}); !errors.Is(err, ErrMalformed) {
			t.Fatalf("truncated at %d: %v", i, err)
		}
	}
	env := mustEncrypt(t, id)
	if _, err := ParseSignedData(env, Limits{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("enveloped-data: %v, want ErrUnsupported", err)
	}
	if _, err := ParseSignedData(der, Limits{MaxInputBytes: 100}); !errors.Is(err, ErrLimit) {
		t.Errorf("over the input limit: %v, want ErrLimit", err)
	}
}

func mustEncrypt(t *testing.T, id *testIdentity) []byte {
	t.Helper()
	out, err := Encrypt([]byte("x"), []*x509.Certificate{id.cert}, EncryptOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
