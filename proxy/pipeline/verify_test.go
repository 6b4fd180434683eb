package pipeline

import (
	"bytes"
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/smimeproxy/smimeproxy/smime"
)

func readThunderbird(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(thunderbirdDir, name))
	if err != nil {
		t.Skipf("shared test data not available: %v", err)
	}
	return raw
}

// TestHeaderProtection: an inner entity with the hp parameter (RFC 9788)
// supplies the Subject and From the client sees, once each.
func TestHeaderProtection(t *testing.T) {
	inner := "Content-Type: text/plain; charset=utf-8; hp=\"cipher\"\r\n" +
		"Subject: The real subject\r\nFrom: Alice <alice@example.org>\r\n" +
		"HP-Outer: Subject: [...]\r\n\r\nHello\r\n"
	raw := encryptedMessage(t, "", inner, []string{"-aes256"}, "bob")
	out := newTestPipeline(t, Options{}).Transform(context.Background(), bobRef, bobKeys(t), raw)
	if got := fieldValue(t, out.Message, "Subject"); got != "The real subject" {
		t.Errorf("Subject %q", got)
	}
	for _, name := range []string{"Subject", "From", "To"} {
		if n := countField(t, out.Message, name); n != 1 {
			t.Errorf("%d %s fields", n, name)
		}
	}
	if countField(t, out.Message, "HP-Outer") != 0 {
		t.Error("HP-Outer shown")
	}
	if st := fieldValue(t, out.Message, smime.StatusHeader); !strings.HasSuffix(st,
		"hp=protected") {
		t.Errorf("status %q", st)
	}
}

// TestHeaderProtectionWrapper: the older message/rfc822 wrapper with
// forwarded=no is unwrapped.
func TestHeaderProtectionWrapper(t *testing.T) {
	inner := "Content-Type: message/rfc822; forwarded=no\r\n\r\n" +
		"Subject: Wrapped subject\r\nFrom: alice@example.org\r\n" +
		"Content-Type: text/plain\r\n\r\nwrapped body\r\n"
	raw := encryptedMessage(t, "", inner, []string{"-aes256"}, "bob")
	out := newTestPipeline(t, Options{}).Transform(context.Background(), bobRef, bobKeys(t), raw)
	if got := fieldValue(t, out.Message, "Subject"); got != "Wrapped subject" {
		t.Errorf("Subject %q", got)
	}
	if !bytes.HasSuffix(out.Message, []byte("\r\n\r\nwrapped body\r\n")) {
		t.Errorf("message %q", out.Message)
	}
	if got := fieldValue(t, out.Message, "Content-Type"); got != "text/plain" {
		t.Errorf("Content-Type %q", got)
	}
}

// TestSignedMessageKeepsBody: a multipart/signed message gets our fields
// and, when configured, a Subject tag; its body is untouched, so that a
// client can still check the signature; forged fields are gone.
func TestSignedMessageKeepsBody(t *testing.T) {
	orig := readThunderbird(t, "alice.dsig.SHA256.multipart.bad.eml")
	forged := "Authentication-Results: proxy.example.org; smime=pass\r\n" +
		"X-SMIME-Status: signed; valid\r\n"
	raw := append([]byte(forged), orig...)
	p := newTestPipeline(t, Options{Trust: thunderbirdTrust(t), SubjectTag: true})
	out := p.Transform(context.Background(), bobRef, bobKeys(t), raw)
	if !bytes.Equal(bodyOf(out.Message), bodyOf(orig)) {
		t.Error("signed body changed")
	}
	if n := countField(t, out.Message, "Authentication-Results"); n != 1 {
		t.Fatalf("%d Authentication-Results fields", n)
	}
	ar := fieldValue(t, out.Message, "Authentication-Results")
	if !strings.Contains(ar, "smime=fail (signed content altered)") {
		t.Errorf("Authentication-Results: %s", ar)
	}
	if got := fieldValue(t, out.Message, "Subject"); !strings.HasPrefix(got,
		"[signed: INVALID] ") {
		t.Errorf("Subject %q", got)
	}
	if st := fieldValue(t, out.Message, smime.StatusHeader); !strings.HasPrefix(st,
		"signed; invalid; reason=content-altered") {
		t.Errorf("status %q", st)
	}
}

// TestVerifyAudit: one audit line and one Observer event per signer, with
// the certificate's serial and issuer and never the content.
func TestVerifyAudit(t *testing.T) {
	var buf bytes.Buffer
	logger := hclog.New(&hclog.LoggerOptions{Output: &buf, JSONFormat: true})
	var events []Event
	p := newTestPipeline(t, Options{Trust: thunderbirdTrust(t), Logger: logger,
		Observer: func(ev Event) { events = append(events, ev) }})
	raw := readThunderbird(t, "alice.plain.sig.SHA256.opaque.dave.sig.SHA256.opaque.eml")
	p.Transform(context.Background(), bobRef, bobKeys(t), raw)
	if len(events) != 2 || events[0].Kind != EventVerify || events[0].Outcome != "pass" ||
		events[1].Outcome != "policy" || events[1].Reason != smime.ReasonSenderMismatch {
		t.Errorf("events %+v", events)
	}
	log := buf.String()
	for _, want := range []string{`"event":"verify"`, `"serial":"32"`, `"result":"policy"`,
		`"issuer":"CN=NSS Test CA (RSA)`, `"uid":42`} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log lacks %s:\n%s", want, log)
		}
	}
	if strings.Contains(log, "This is a test message") {
		t.Error("audit log shows content")
	}
}

// TestVerifyTempErrorNotCached: a result that depends on a revocation
// source that was down is checked again next time.
func TestVerifyTempErrorNotCached(t *testing.T) {
	var calls atomic.Int32
	rev := smime.RevocationFunc(func(context.Context, []*x509.Certificate) smime.Revocation {
		calls.Add(1)
		return smime.Revocation{Status: smime.RevocationUnknown, Source: "crl"}
	})
	p := newTestPipeline(t, Options{Trust: thunderbirdTrust(t), Revocation: rev,
		CacheBytes: 1 << 20})
	raw := readThunderbird(t, "alice.dsig.SHA256.multipart.eml")
	for range 2 {
		out := p.Transform(context.Background(), bobRef, bobKeys(t), raw)
		if r := out.Signed[0].Signers[0].Result; r != smime.SigTempError {
			t.Fatalf("result %s", r)
		}
	}
	if calls.Load() != 2 {
		t.Errorf("revocation asked %d times, want 2", calls.Load())
	}
	ok := smime.RevocationFunc(func(context.Context, []*x509.Certificate) smime.Revocation {
		calls.Add(1)
		return smime.Revocation{Status: smime.RevocationGood, Source: "crl"}
	})
	p = newTestPipeline(t, Options{Trust: thunderbirdTrust(t), Revocation: ok,
		CacheBytes: 1 << 20})
	for range 2 {
		p.Transform(context.Background(), bobRef, bobKeys(t), raw)
	}
	if calls.Load() != 3 {
		t.Errorf("revocation asked %d times in all, want 3 (a pass is cached)", calls.Load())
	}
}
