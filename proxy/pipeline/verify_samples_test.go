package pipeline

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smimeproxy/smimeproxy/smime"
)

// poolTrust is a test double of smime/trust.Store: roots only, the
// message's certificates as intermediates, e-mail protection usage.
type poolTrust struct{ roots *x509.CertPool }

func (p poolTrust) Verify(leaf *x509.Certificate, extra []*x509.Certificate, at time.Time) (
	[][]*x509.Certificate, error) {
	inter := x509.NewCertPool()
	for _, c := range extra {
		inter.AddCert(c)
	}
	return leaf.Verify(x509.VerifyOptions{Roots: p.roots, Intermediates: inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}})
}

var thunderbirdDir = filepath.Join("..", "..", "..", "shared", "testdata", "thunderbird")

func thunderbirdTrust(t *testing.T) poolTrust {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(thunderbirdDir, "TestCA.pem"))
	if err != nil {
		t.Skipf("shared test data not available: %v", err)
	}
	pool := x509.NewCertPool()
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if c, err := x509.ParseCertificate(b.Bytes); err == nil {
			pool.AddCert(c)
		}
	}
	return poolTrust{roots: pool}
}

// TestThunderbirdSignatures runs the published NSS samples through the
// pipeline with TestCA.pem as the only root and Bob's key, and checks
// the smime= result of every signer (outermost layer first), as the
// shared testdata README describes them, under our policy: SHA-1 is
// "policy"; Alice's signature inside a message From Dave is "policy"
// (sender mismatch), where OpenSSL, which does not compare addresses,
// says valid.
func TestThunderbirdSignatures(t *testing.T) {
	trust := thunderbirdTrust(t)
	_, bob := thunderbirdSample(t)
	keys := &countingKeys{keys: []smime.Key{bob}}
	cases := []struct {
		file    string
		results string // smime= results, outermost signer first
		reason  string // reason of the first signer that did not pass
		status  string // X-SMIME-Status prefix
	}{
		{"alice.sig.SHA256.opaque.eml", "pass", "", "signed; valid; signer="},
		{"alice.sig.SHA512.opaque.eml", "pass", "", "signed; valid"},
		{"alice.html.sig.SHA384.opaque.eml", "pass", "", "signed; valid"},
		{"alice.sig.SHA1.opaque.eml", "policy", smime.ReasonWeakAlgorithm,
			"signed; invalid; reason=weak-algorithm"},
		{"alice.dsig.SHA256.multipart.eml", "pass", "", "signed; valid"},
		{"alice.dsig.SHA384.multipart.eml", "pass", "", "signed; valid"},
		{"alice.dsig.SHA1.multipart.eml", "policy", smime.ReasonWeakAlgorithm, "signed; invalid"},
		{"alice.dsig.SHA256.multipart.bad.eml", "fail", smime.ReasonContentAltered,
			"signed; invalid; reason=content-altered"},
		{"alice.dsig.SHA512.multipart.bad.eml", "fail", smime.ReasonContentAltered, "signed"},
		{"alice.dsig.SHA256.multipart.mismatch-econtent.eml", "fail",
			smime.ReasonContentAltered, "signed; invalid"},
		{"alice.future.dsig.SHA256.multipart.eml", "pass", "", "signed; valid"},
		{"alice.sig.SHA256.opaque.env.eml", "pass", "", "decrypted; cipher=aes-128-cbc"},
		{"alice.dsig.SHA256.multipart.env.eml", "pass", "", "decrypted; cipher=aes-128-cbc"},
		{"alice.sig.SHA1.opaque.env.eml", "policy", smime.ReasonWeakAlgorithm, "decrypted"},
		{"alice.env.sig.SHA256.opaque.eml", "pass", "", "decrypted; cipher=aes-128-cbc"},
		{"alice.env.dsig.SHA256.multipart.eml", "fail", smime.ReasonContentAltered,
			"signed; invalid"},
		// Dave (the From address) signed outside; Alice's inner signature
		// holds, but Alice is not the From address: "policy".
		{"alice.env.sig.SHA256.opaque.dave.sig.SHA256.opaque.eml", "pass policy",
			smime.ReasonSenderMismatch, "decrypted; cipher=aes-128-cbc"},
		{"alice.env.dsig.SHA256.multipart.dave.sig.SHA256.opaque.eml", "pass fail",
			smime.ReasonContentAltered, "signed; valid; signer=\"Dave <Dave@example.com>\""},
		{"alice.plain.sig.SHA256.opaque.dave.sig.SHA256.opaque.eml", "pass policy",
			smime.ReasonSenderMismatch, "signed; valid"},
		{"alice.plain.dsig.SHA256.multipart.dave.sig.SHA256.opaque.eml", "pass policy",
			smime.ReasonSenderMismatch, "signed; valid"},
		// TODO(nesting): the opaque signature inside the signed part of a
		// multipart/signed is not opened, so only Dave's layer is checked.
		{"alice.plain.sig.SHA256.opaque.dave.dsig.SHA256.multipart.eml", "pass", "",
			"signed; valid"},
		{"alice.env.eml", "", "", "decrypted; cipher=aes-128-cbc; key=tb-bob; " +
			"unauthenticated-encryption"},
	}
	p := newTestPipeline(t, Options{Trust: trust})
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(thunderbirdDir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if !p.NeedsTransform(raw) {
				t.Error("NeedsTransform = false")
			}
			out := p.Transform(context.Background(), MessageRef{}, keys, raw)
			var got []string
			reason := ""
			for _, l := range out.Signed {
				for _, s := range l.Signers {
					got = append(got, string(s.Result))
					if reason == "" && s.Result != smime.SigPass {
						reason = s.Reason
						t.Logf("%s: %s (%s; %v)", s.Result, s.Reason, s.Comment, s.Err)
					}
				}
			}
			if strings.Join(got, " ") != tc.results || reason != tc.reason {
				t.Errorf("results %q reason %q, want %q %q", got, reason, tc.results, tc.reason)
			}
			st := fieldValue(t, out.Message, smime.StatusHeader)
			if !strings.HasPrefix(st, tc.status) {
				t.Errorf("X-SMIME-Status: %s\nwant prefix %s", st, tc.status)
			}
			if countField(t, out.Message, "Authentication-Results") != 1 {
				t.Errorf("not one Authentication-Results field:\n%s", headerBlock(out.Message))
			}
		})
	}
}

func headerBlock(msg []byte) string {
	s := string(msg)
	if i := strings.Index(s, "\r\n\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}
