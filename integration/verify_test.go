package integration

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2/imapclient"
)

// verifyCase is one signed (or not) message and what the client must see.
type verifyCase struct {
	name    string
	signer  string // signerIdentity key; "" for no signature
	from    string // From address; "" for the signer's own
	sign    []string
	encrypt bool   // sign, then encrypt to alice's vault key
	forged  bool   // carries a forged Authentication-Results and status
	tamper  bool   // signed text changed after signing
	result  string // smime= result; "" for no Authentication-Results
	comment string // start of the reason comment
	part    string // body.smime-part
	status  string // X-SMIME-Status prefix
}

const forgedFields = "Authentication-Results: smimeproxy.test.invalid; smime=pass\n" +
	"X-SMIME-Status: signed; valid; signer=\"forged\"\n"

func verifyCases() []verifyCase {
	return []verifyCase{
		{name: "v-dave", signer: sigDave, result: "pass", part: "1",
			status: `signed; valid; signer="dave <dave@example.org>"`},
		{name: "v-erin-opaque", signer: sigErin, sign: []string{"-nodetach"}, result: "pass",
			part: "TEXT", status: "signed; valid"},
		{name: "v-dave-encrypted", signer: sigDave, encrypt: true, result: "pass", part: "1",
			status: "decrypted; cipher=aes-256-cbc"},
		{name: "v-dave-tampered", signer: sigDave, tamper: true, forged: true, result: "fail",
			comment: "signed content altered", part: "1",
			status: "signed; invalid; reason=content-altered"},
		{name: "v-rob-revoked", signer: sigRob, result: "fail", comment: "certificate revoked ",
			part: "1", status: "signed; invalid; reason=certificate-revoked"},
		{name: "v-old-expired", signer: sigOld, result: "fail", comment: "certificate expired",
			part: "1", status: "signed; invalid; reason=certificate-expired"},
		{name: "v-mallory-untrusted", signer: sigMallory, result: "neutral",
			comment: "issuer not trusted", part: "1",
			status: "signed; invalid; reason=issuer-not-trusted"},
		{name: "v-frank-as-dave", signer: sigFrank, from: "dave@example.org", result: "policy",
			comment: "signer is not the From address", part: "1",
			status: "signed; invalid; reason=sender-mismatch"},
		{name: "v-crl-down", signer: sigDown, result: "temperror",
			comment: "revocation status unknown", part: "1",
			status: "signed; invalid; reason=revocation-unknown"},
		{name: "v-dave-sha1", signer: sigDave, sign: []string{"-md", "sha1"}, result: "policy",
			comment: "weak digest sha1", part: "1",
			status: "signed; invalid; reason=weak-algorithm"},
		{name: "v-encrypted-unsigned", encrypt: true, result: "none",
			status: "decrypted; cipher=aes-256-cbc"},
		{name: "v-plain-forged", forged: true},
	}
}

// message builds the message of c: openssl cms -sign (and -encrypt), the
// outer header fields in front, LF line endings as in a Maildir.
func (p *verifyPKI) message(tb testing.TB, c verifyCase) []byte {
	tb.Helper()
	entity := "Content-Type: text/plain; charset=utf-8\n\nSigned text of " + c.name + ".\n"
	smime := []byte(entity)
	if c.signer != "" {
		s := p.signers[c.signer]
		in := p.writeFile(tb, c.name+".entity", entity)
		args := append([]string{"cms", "-sign", "-in", in, "-signer", s.cert, "-inkey", s.key,
			"-certfile", p.issuing}, c.sign...)
		out, err := run(p.dir, nil, "openssl", args...)
		if err != nil {
			tb.Fatal(err)
		}
		smime = out
	}
	if c.encrypt {
		in := p.writeFile(tb, c.name+".signed", string(smime))
		out, err := run(p.dir, nil, "openssl", "cms", "-encrypt", "-binary", "-aes256", "-in", in,
			"-recip", env.pki.ids[idAlice].cert)
		if err != nil {
			tb.Fatal(err)
		}
		smime = out
	}
	smime = bytes.ReplaceAll(smime, []byte("\r\n"), []byte("\n"))
	if c.tamper {
		smime = bytes.Replace(smime, []byte("Signed text"), []byte("Altered text"), 1)
	}
	from := c.from
	if from == "" && c.signer != "" {
		from = p.signers[c.signer].email
	}
	if from == "" {
		from = "sender@example.net"
	}
	header := "From: " + from + "\nTo: Alice <alice@example.org>\nSubject: Verify " + c.name +
		"\nDate: Thu, 03 Dec 2026 10:00:00 +0000\nMessage-ID: <" + c.name +
		"@test.smimeproxy.invalid>\n"
	if c.forged {
		header += forgedFields
	}
	if c.signer == "" && !c.encrypt {
		header += "MIME-Version: 1.0\n"
	}
	return append([]byte(header), smime...)
}

// verifyFixture is Dovecot with the verification messages in alice's
// INBOX and a proxy that trusts the verification root.
type verifyFixture struct {
	pki   *verifyPKI
	dv    *dovecot
	px    *proxy
	cases []verifyCase
	raw   map[string][]byte
}

func newVerifyFixture(t *testing.T, cases []verifyCase, withIssuing bool) *verifyFixture {
	t.Helper()
	requireBinary(t)
	f := &verifyFixture{pki: newVerifyPKI(t), dv: startDovecot(t), cases: cases,
		raw: map[string][]byte{}}
	for _, c := range cases {
		f.raw[c.name] = f.pki.message(t, c)
		f.dv.deliver(t, userAlice, f.raw[c.name])
	}
	cacheDir := filepath.Join(testDir(t), "revocation")
	f.px = startProxy(t, f.dv, proxyOptions{extraConfig: f.pki.config(cacheDir, false,
		withIssuing)})
	return f
}

// TestVerifyThroughProxy fetches every case through the IMAP proxy and
// checks the exact smime= result, its properties, the status field, that
// forged fields are gone, and that a client can still check the signature
// of the multipart/signed message it receives.
func TestVerifyThroughProxy(t *testing.T) {
	f := newVerifyFixture(t, verifyCases(), false)
	c := loginInbox(t, f.px.addr, userAlice)
	uids := uidsByMessageID(t, c)
	for _, vc := range f.cases {
		t.Run(vc.name, func(t *testing.T) {
			uid, ok := uids[vc.name+"@test.smimeproxy.invalid"]
			if !ok {
				t.Fatal("message not found through the proxy")
			}
			got := wholeBody(t, c, uid)
			fields, body := splitMessage(got)
			f.checkAuthResults(t, vc, fields)
			f.checkStatus(t, vc, fields, body)
		})
	}
	t.Run("client-verifies-signed", func(t *testing.T) {
		got := wholeBody(t, c, uids["v-dave@test.smimeproxy.invalid"])
		f.opensslVerify(t, got)
	})
	t.Run("crl-fetched-once", func(t *testing.T) {
		// Five messages name /issuing.crl; the disk and memory caches keep
		// it to its nextUpdate, so one fetch serves them all.
		if n := f.pki.crlFetches.Load(); n != 1 {
			t.Errorf("the CRL was fetched %d times, want 1", n)
		}
	})
}

func (f *verifyFixture) checkAuthResults(t *testing.T, vc verifyCase, fields []field) {
	t.Helper()
	var ours []field
	for _, fl := range fieldsNamed(fields, "Authentication-Results") {
		if isOurAuthResults(fl) {
			ours = append(ours, fl)
		}
	}
	if vc.result == "" {
		if len(ours) != 0 {
			t.Errorf("Authentication-Results on a plain message: %s", joinFields(ours))
		}
		return
	}
	if len(ours) != 1 {
		t.Fatalf("%d Authentication-Results fields of ours, want 1:\n%s", len(ours),
			joinFields(fields))
	}
	v := ours[0].value()
	want := "smime=" + vc.result
	if vc.comment != "" {
		want += " (" + vc.comment
	}
	if !strings.Contains(v, want) {
		t.Errorf("Authentication-Results: %s\nwant %s", v, want)
	}
	if vc.signer == "" {
		return
	}
	s := f.pki.signers[vc.signer]
	for _, prop := range []string{"body.smime-identifier=" + s.email,
		"body.smime-part=" + vc.part, "body.smime-serial=" + hexSerial(s.serial),
		"body.smime-issuer=\""} {
		if !strings.Contains(v, prop) {
			t.Errorf("Authentication-Results: %s\nlacks %s", v, prop)
		}
	}
}

func (f *verifyFixture) checkStatus(t *testing.T, vc verifyCase, fields []field, body []byte) {
	t.Helper()
	status := fieldsNamed(fields, "X-SMIME-Status")
	for _, s := range status {
		if strings.Contains(s.value(), "forged") {
			t.Errorf("forged status reached the client: %s", s.raw)
		}
	}
	if vc.status == "" {
		if len(status) != 0 {
			t.Errorf("status on a plain message: %s", joinFields(status))
		}
		_, want := splitMessage(crlf(f.raw[vc.name]))
		if !bytes.Equal(body, want) {
			t.Errorf("plain body changed")
		}
		return
	}
	if len(status) != 1 || !hasStatusPrefix(status[0].value(), vc.status) {
		t.Fatalf("X-SMIME-Status %s\nwant prefix %s", joinFields(status), vc.status)
	}
	if !statusGrammar.MatchString(status[0].value()) {
		t.Errorf("X-SMIME-Status: %s does not follow the grammar", status[0].value())
	}
	if vc.name == "v-erin-opaque" && !bytes.Contains(body, []byte("Signed text of")) {
		t.Errorf("opaque content not shown: %q", body)
	}
}

// opensslVerify checks that the message the client got still verifies with
// `openssl cms -verify` against the root: our fields sit outside the
// signed part.
func (f *verifyFixture) opensslVerify(t *testing.T, msg []byte) {
	t.Helper()
	path := filepath.Join(testDir(t), "received.eml")
	if err := os.WriteFile(path, msg, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run(f.pki.dir, nil, "openssl", "cms", "-verify", "-in", path,
		"-CAfile", f.pki.root)
	if err != nil {
		t.Fatalf("the multipart/signed message the client receives does not verify: %v", err)
	}
	if !bytes.Contains(out, []byte("Signed text of v-dave.")) {
		t.Errorf("openssl cms -verify output %q", out)
	}
}

// TestVerifyImportedCRL: with the distribution point unreachable, a CRL
// imported by hand (`smimeproxy crl import`) answers without network.
func TestVerifyImportedCRL(t *testing.T) {
	cases := []verifyCase{
		{name: "v-offline", signer: sigOffline, result: "pass", part: "1",
			status: "signed; valid"},
		{name: "v-offline-revoked", signer: sigOfflineRv, result: "fail",
			comment: "certificate revoked ", part: "1",
			status: "signed; invalid; reason=certificate-revoked"},
	}
	f := newVerifyFixture(t, nil, true)
	for _, vc := range cases {
		f.dv.deliver(t, userAlice, f.pki.message(t, vc))
	}
	out, err := run(f.px.dir, nil, env.binary, "crl", "import", "-config", f.px.conf,
		f.pki.crlPath)
	if err != nil {
		if strings.Contains(err.Error(), "unknown command") {
			t.Skipf("`smimeproxy crl import` is not available yet: %v", err)
		}
		t.Fatalf("crl import: %v\n%s", err, out)
	}
	c := loginInbox(t, f.px.addr, userAlice)
	f.checkCases(t, c, cases)
}

// TestVerifyFailOpen: with [revocation] fail_open, an unreachable CRL no
// longer holds a good signature back.
func TestVerifyFailOpen(t *testing.T) {
	requireBinary(t)
	pki := newVerifyPKI(t)
	dv := startDovecot(t)
	vc := verifyCase{name: "v-crl-down-open", signer: sigDown, result: "pass", part: "1",
		status: "signed; valid"}
	dv.deliver(t, userAlice, pki.message(t, vc))
	px := startProxy(t, dv, proxyOptions{extraConfig: pki.config(
		filepath.Join(testDir(t), "revocation"), true, false)})
	f := &verifyFixture{pki: pki, dv: dv, px: px}
	f.checkCases(t, loginInbox(t, px.addr, userAlice), []verifyCase{vc})
}

func (f *verifyFixture) checkCases(t *testing.T, c *imapclient.Client, cases []verifyCase) {
	t.Helper()
	uids := uidsByMessageID(t, c)
	for _, vc := range cases {
		t.Run(vc.name, func(t *testing.T) {
			got := wholeBody(t, c, uids[vc.name+"@test.smimeproxy.invalid"])
			fields, body := splitMessage(got)
			f.checkAuthResults(t, vc, fields)
			f.checkStatus(t, vc, fields, body)
		})
	}
}
