package smime

import (
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

// sharedTestdata is the read-only folder of published samples; see its
// README for where each comes from and what OpenSSL says of it.
var sharedTestdata = filepath.Join("..", "..", "shared", "testdata")

func readSample(t *testing.T, parts ...string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(append([]string{sharedTestdata}, parts...)...))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared test data missing: %v", err)
		}
		t.Skipf("shared test data missing: %v", err)
	}
	return data
}

func rootsFromDER(t *testing.T, parts ...string) poolTrust {
	t.Helper()
	cert, err := x509.ParseCertificate(readSample(t, parts...))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return poolTrust{roots: pool}
}

// TestPublishedSamples checks published messages against the outcome the
// shared README gives, under our policy.
func TestPublishedSamples(t *testing.T) {
	carl := rootsFromDER(t, "rfc4134", "CarlRSASelf.cer")
	carlDSS := rootsFromDER(t, "rfc4134", "CarlDSSSelf.cer")
	cases := []struct {
		name   string
		path   []string
		opaque bool // DER opaque SignedData rather than a message
		v      *Verifier
		result SigResult
		reason string
	}{
		// RSA with SHA-1: "policy" by default.
		{"rfc4134 4.2", []string{"rfc4134", "4.2.bin"}, true, &Verifier{Trust: carl},
			SigPolicy, ReasonWeakAlgorithm},
		{"rfc4134 4.5", []string{"rfc4134", "4.5.bin"}, true, &Verifier{Trust: carl},
			SigPolicy, ReasonWeakAlgorithm},
		// With SHA-1 allowed the message passes the digest rule, but Carl's
		// root is itself signed with SHA-1, which Go no longer accepts in a
		// chain (crypto/x509 since Go 1.24): "issuer not trusted".
		{"rfc4134 4.2 sha1 allowed", []string{"rfc4134", "4.2.bin"}, true,
			&Verifier{Trust: carl, Policy: VerifyPolicy{AllowSHA1: true}},
			SigNeutral, ReasonUntrusted},
		// DSA is not implemented (RFC 8551 no longer lists it).
		{"rfc4134 4.7 dsa ski", []string{"rfc4134", "4.7.bin"}, true,
			&Verifier{Trust: carlDSS}, SigNeutral, ReasonUnsupported},
		{"rfc4134 4.8 dsa multipart", []string{"rfc4134", "4.8.eml"}, false,
			&Verifier{Trust: carlDSS}, SigNeutral, ReasonUnsupported},
		// Signed-data without eContent: nothing to verify.
		{"pyca signed-opaque", []string{"pyca", "signed-opaque.msg"}, false, &Verifier{},
			SigPermError, ReasonCorrupt},
		// Alice's 2019 certificate expired on 2024-07-03.
		{"stale-2019 opaque", []string{"thunderbird", "stale-2019", "alice.sig.SHA256.opaque"},
			false, &Verifier{}, SigFail, ReasonExpired},
		{"stale-2019 multipart", []string{"thunderbird", "stale-2019",
			"alice.dsig.SHA256.multipart"}, false, &Verifier{}, SigFail, ReasonExpired},
		{"stale-2019 mismatch", []string{"thunderbird", "stale-2019",
			"alice.dsig.SHA256.multipart.mismatch-econtent"}, false, &Verifier{}, SigFail,
			ReasonContentAltered},
		// Thunderbird 24 (2013): certificate expired 2014-11-01.
		{"mimekit thunderbird", []string{"mimekit", "thunderbird-signed.txt"}, false,
			&Verifier{}, SigFail, ReasonExpired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := readSample(t, tc.path...)
			var se SignedEntity
			if tc.opaque {
				se = tc.v.VerifyOpaque(context.Background(), data, "binary", nil)
			} else {
				se = verifyMessage(t, tc.v, data, headerValue(data, "From"))
			}
			s := se.Best()
			if s.Result != tc.result || s.Reason != tc.reason {
				t.Errorf("got %s %s (%s; %v), want %s %s", s.Result, s.Reason, s.Comment, s.Err,
					tc.result, tc.reason)
			}
		})
	}
}
