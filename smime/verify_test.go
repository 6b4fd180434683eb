package smime

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"
)

const signedEntity = "Content-Type: text/plain; charset=utf-8\r\n\r\nHello Bob,\r\nsigned.\r\n"

// fixedRevocation answers every revocation check the same way.
func fixedRevocation(r Revocation) RevocationChecker {
	return RevocationFunc(func(context.Context, []*x509.Certificate) Revocation { return r })
}

// verifierOpts are the Verifier fields a test case sets.
type verifierOpts struct {
	Revocation RevocationChecker
	Policy     VerifyPolicy
	noTrust    bool
}

// verifyMessage verifies a whole message the way the pipeline does.
func verifyMessage(t *testing.T, v *Verifier, msg []byte, from string) SignedEntity {
	t.Helper()
	ct, cte, body := splitMessage(t, msg)
	senders := SenderAddresses(from, "")
	switch ClassifyContentType(ct) {
	case KindSigned:
		return v.VerifyMultipartSigned(context.Background(), ct, body, senders)
	case KindSignedOpaque:
		return v.VerifyOpaque(context.Background(), body, cte, senders)
	}
	t.Fatalf("not a signed message: %q", ct)
	return SignedEntity{}
}

// TestVerifyPolicy is the policy table of the README, one row each, on
// messages signed by `openssl cms -sign`.
func TestVerifyPolicy(t *testing.T) {
	dir := t.TempDir()
	root := newTestCA(t, "Test Root")
	other := newTestCA(t, "Untrusted CA")
	alice := root.issue(t, dir, "alice", certOptions{email: "alice@example.org"})
	aliceEC := root.issue(t, dir, "alice-ec", certOptions{email: "Alice@Example.org", ec: true})
	expired := root.issue(t, dir, "old", certOptions{email: "alice@example.org", expired: true})
	stranger := other.issue(t, dir, "mallory", certOptions{email: "alice@example.org"})
	encOnly := root.issue(t, dir, "enc", certOptions{email: "alice@example.org",
		keyUsage: x509.KeyUsageKeyEncipherment})
	revokedAt := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	good := fixedRevocation(Revocation{Status: RevocationGood, Source: "crl"})

	cases := []struct {
		name    string
		id      *signerID
		from    string
		args    []string
		verify  verifierOpts
		result  SigResult
		reason  string
		comment string
	}{
		{name: "pass", id: alice, from: "Alice <alice@example.org>", result: SigPass},
		{name: "pass ec, address case", id: aliceEC, from: "alice@EXAMPLE.org", result: SigPass},
		{name: "pass opaque", id: alice, from: "alice@example.org", args: []string{"-nodetach"},
			result: SigPass},
		{name: "untrusted issuer", id: stranger, from: "alice@example.org", result: SigNeutral,
			reason: ReasonUntrusted, comment: "issuer not trusted"},
		{name: "no trust store", id: alice, from: "alice@example.org",
			verify: verifierOpts{noTrust: true},
			result: SigNeutral, reason: ReasonUntrusted},
		{name: "expired", id: expired, from: "alice@example.org", result: SigFail,
			reason: ReasonExpired, comment: "certificate expired "},
		{name: "revoked", id: alice, from: "alice@example.org",
			verify: verifierOpts{Revocation: fixedRevocation(Revocation{Status: RevocationRevoked,
				RevokedAt: revokedAt, Source: "crl"})},
			result: SigFail, reason: ReasonRevoked, comment: "certificate revoked 2026-03-01"},
		{name: "revocation unknown", id: alice, from: "alice@example.org",
			verify: verifierOpts{Revocation: fixedRevocation(Revocation{Status: RevocationUnknown,
				Source: "crl", Err: errors.New("dial: refused")})},
			result: SigTempError, reason: ReasonRevocationCheck},
		{name: "revocation unknown, fail open", id: alice, from: "alice@example.org",
			verify: verifierOpts{
				Revocation: fixedRevocation(Revocation{Status: RevocationUnknown}),
				Policy:     VerifyPolicy{RevocationFailOpen: true}},
			result: SigPass},
		{name: "revocation good", id: alice, from: "alice@example.org",
			verify: verifierOpts{Revocation: good}, result: SigPass},
		{name: "sender mismatch", id: alice, from: "bob@example.org", result: SigPolicy,
			reason: ReasonSenderMismatch, comment: "signer is not the From address"},
		{name: "sha1", id: alice, from: "alice@example.org", args: []string{"-md", "sha1"},
			result: SigPolicy, reason: ReasonWeakAlgorithm, comment: "weak digest sha1"},
		{name: "sha1 allowed", id: alice, from: "alice@example.org",
			args:   []string{"-md", "sha1"},
			verify: verifierOpts{Policy: VerifyPolicy{AllowSHA1: true}},
			result: SigPass},
		{name: "md5", id: alice, from: "alice@example.org", args: []string{"-md", "md5"},
			result: SigPolicy, reason: ReasonWeakAlgorithm},
		{name: "key not for signing", id: encOnly, from: "alice@example.org",
			result: SigPolicy, reason: ReasonNotForSigning},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := &Verifier{Revocation: tc.verify.Revocation, Policy: tc.verify.Policy}
			if !tc.verify.noTrust {
				v.Trust = trustOnly(root)
			}
			msg := opensslSignMIME(t, tc.id, signedEntity, tc.from, tc.args...)
			se := verifyMessage(t, v, msg, tc.from)
			if len(se.Signers) != 1 {
				t.Fatalf("%d signers", len(se.Signers))
			}
			s := se.Signers[0]
			if s.Result != tc.result || s.Reason != tc.reason ||
				!strings.HasPrefix(s.Comment, tc.comment) {
				t.Errorf("got %s %q (%s; %v), want %s %q (%s)", s.Result, s.Reason, s.Comment,
					s.Err, tc.result, tc.reason, tc.comment)
			}
			if s.Serial != strings.ToUpper(tc.id.cert.SerialNumber.Text(16)) ||
				s.Issuer == "" || !strings.EqualFold(s.Identifier, tc.id.cert.EmailAddresses[0]) {
				t.Errorf("identity: serial %s issuer %q identifier %q", s.Serial, s.Issuer,
					s.Identifier)
			}
		})
	}
}

// TestVerifyTampered: a changed body is "fail", whichever way it is
// changed, and line endings changed by storage are not a change.
func TestVerifyTampered(t *testing.T) {
	dir := t.TempDir()
	root := newTestCA(t, "Test Root")
	alice := root.issue(t, dir, "alice", certOptions{email: "alice@example.org"})
	v := &Verifier{Trust: trustOnly(root)}
	msg := opensslSignMIME(t, alice, signedEntity, "alice@example.org")

	lf := bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n"))
	if s := verifyMessage(t, v, lf, "alice@example.org").Best(); s.Result != SigPass {
		t.Errorf("LF line endings: %s (%v)", s.Result, s.Err)
	}
	tampered := bytes.Replace(msg, []byte("Hello Bob"), []byte("Hello Eve"), 1)
	s := verifyMessage(t, v, tampered, "alice@example.org").Best()
	if s.Result != SigFail || s.Reason != ReasonContentAltered {
		t.Errorf("tampered: %s %s (%v)", s.Result, s.Reason, s.Err)
	}
	// A blank line added at the end of the signed part is a change too.
	extra := bytes.Replace(msg, []byte("signed.\r\n"), []byte("signed.\r\n\r\n"), 1)
	if s := verifyMessage(t, v, extra, "alice@example.org").Best(); s.Result != SigFail {
		t.Errorf("extra line: %s (%v)", s.Result, s.Err)
	}
	opaque := opensslSignMIME(t, alice, signedEntity, "alice@example.org", "-nodetach")
	se := verifyMessage(t, v, opaque, "alice@example.org")
	if string(se.Inner) != signedEntity {
		t.Errorf("opaque inner %q", se.Inner)
	}
}

// TestVerifyBroken: structures that are not signatures are permerror or
// neutral, never a panic and never pass.
func TestVerifyBroken(t *testing.T) {
	v := &Verifier{}
	ctx := context.Background()
	ct := `multipart/signed; protocol="application/pkcs7-signature"; boundary=b`
	cases := map[string]string{
		"no parts": "nothing\r\n",
		"one part": "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n",
		"bad signature": "--b\r\n\r\nx\r\n--b\r\n" +
			"Content-Transfer-Encoding: base64\r\n\r\nMIIB\r\n--b--\r\n",
	}
	for name, body := range cases {
		se := v.VerifyMultipartSigned(ctx, ct, []byte(body), nil)
		if len(se.Signers) != 1 || se.Signers[0].Result != SigPermError {
			t.Errorf("%s: %v", name, se.Signers)
		}
	}
	se := v.VerifyOpaque(ctx, []byte("MIA="), "base64", nil)
	if se.Best().Result != SigPermError || se.Inner != nil {
		t.Errorf("opaque garbage: %v", se.Signers)
	}
}

// TestAuthResultsField checks the header text: properties, escaping of
// comments and issuer, folding, and "none" for unsigned encrypted mail.
func TestAuthResultsField(t *testing.T) {
	layers := []SignedEntity{{Part: "1", Signers: []SignerResult{{
		Result: SigFail, Comment: "certificate revoked (key) 2026-03-01",
		Identifier: "alice@example.org", Serial: "1A2B", Issuer: `CN=Evil "CA"\`,
	}}}}
	got := string(AuthResultsField("mx.example.org", layers, false))
	want := "Authentication-Results: mx.example.org;\r\n" +
		"\tsmime=fail (certificate revoked \\(key\\) 2026-03-01)\r\n" +
		"\tbody.smime-identifier=alice@example.org\r\n" +
		"\tbody.smime-part=1\r\n" +
		"\tbody.smime-serial=1A2B\r\n" +
		"\tbody.smime-issuer=\"CN=Evil \\\"CA\\\"\\\\\"\r\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := string(AuthResultsField("a b", nil, true)); got !=
		"Authentication-Results: \"a b\";\r\n\tsmime=none (message not signed)\r\n" {
		t.Errorf("none: %q", got)
	}
	if AuthResultsField("x", nil, false) != nil {
		t.Error("a plain message got a field")
	}
}

// TestReportStatus checks the X-SMIME-Status values and that they parse.
func TestReportStatus(t *testing.T) {
	alice := SignerResult{Result: SigPass, Name: "Alice Example",
		Identifier: "alice@example.org"}
	bad := SignerResult{Result: SigFail, Reason: ReasonContentAltered,
		Identifier: "alice@example.org"}
	dec := &DecryptResult{Outcome: OutcomeDecrypted, Cipher: "aes-256-cbc", KeyID: "k1"}
	gcm := &DecryptResult{Outcome: OutcomeDecrypted, Cipher: "aes-128-gcm", KeyID: "k1"}
	cases := []struct {
		rep  Report
		want string
	}{
		{Report{Signed: []SignedEntity{{Signers: []SignerResult{alice}}}},
			`signed; valid; signer="Alice Example <alice@example.org>"`},
		{Report{Signed: []SignedEntity{{Signers: []SignerResult{bad}}}},
			`signed; invalid; reason=content-altered; signer="<alice@example.org>"`},
		{Report{Decrypt: dec, Signed: []SignedEntity{{Signers: []SignerResult{alice}}}},
			`decrypted; cipher=aes-256-cbc; key=k1; signed; valid; ` +
				`signer="Alice Example <alice@example.org>"`},
		{Report{Decrypt: dec},
			"decrypted; cipher=aes-256-cbc; key=k1; unauthenticated-encryption"},
		{Report{Decrypt: dec, Signed: []SignedEntity{{Signers: []SignerResult{bad}}}},
			`decrypted; cipher=aes-256-cbc; key=k1; signed; invalid; reason=content-altered; ` +
				`signer="<alice@example.org>"; unauthenticated-encryption`},
		{Report{Decrypt: gcm, HeaderProtection: true},
			"decrypted; cipher=aes-128-gcm; key=k1; hp=protected"},
	}
	for _, tc := range cases {
		st := tc.rep.Status()
		if st.String() != tc.want {
			t.Errorf("got  %s\nwant %s", st, tc.want)
		}
		if _, err := ParseStatus(st.String()); err != nil {
			t.Errorf("%s: %v", st, err)
		}
	}
	valid := []SignedEntity{{Signers: []SignerResult{alice}}}
	invalid := []SignedEntity{{Signers: []SignerResult{bad}}}
	tags := map[string]Report{
		"[signed]":                      {Signed: valid},
		"[signed: INVALID]":             {Signed: invalid},
		"[decrypted]":                   {Decrypt: dec},
		"[decrypted] [signed: INVALID]": {Decrypt: dec, Signed: invalid},
	}
	for want, rep := range tags {
		if got := rep.SubjectTag(); got != want {
			t.Errorf("subject tag %q, want %q", got, want)
		}
	}
}

// TestSenderMatch: From or Sender may name the signer (RFC 8550 section
// 3), in any case.
func TestSenderMatch(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, "Test Root")
	id := ca.issue(t, dir, "alice", certOptions{email: "Alice@Example.org"})
	cases := []struct {
		from, sender string
		want         bool
	}{
		{"alice@example.org", "", true},
		{`"Alice Example" <ALICE@example.org>`, "", true},
		{"boss@example.org", "alice@example.org", true},
		{"boss@example.org", "", false},
		{"boss@example.org, alice@example.org", "", true},
		{"not an address", "", false},
	}
	for _, tc := range cases {
		got := senderMatches(id.cert, SenderAddresses(tc.from, tc.sender))
		if got != tc.want {
			t.Errorf("From %q Sender %q: %t, want %t", tc.from, tc.sender, got, tc.want)
		}
	}
}

// TestVerifyTooLarge: a signature beyond the size limit is not checked,
// and says so ("neutral", too-large), rather than "corrupt".
func TestVerifyTooLarge(t *testing.T) {
	dir := t.TempDir()
	root := newTestCA(t, "Test Root")
	alice := root.issue(t, dir, "alice", certOptions{email: "alice@example.org"})
	msg := opensslSignMIME(t, alice, signedEntity, "alice@example.org", "-nodetach")
	v := &Verifier{Trust: trustOnly(root)}
	v.Limits.MaxInputBytes = 200
	s := verifyMessage(t, v, msg, "alice@example.org").Best()
	if s.Result != SigNeutral || s.Reason != ReasonTooLarge {
		t.Errorf("got %s %s (%v)", s.Result, s.Reason, s.Err)
	}
}
