package integration

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testMessage is one message of the corpus, as delivered to Dovecot.
type testMessage struct {
	name string // also in Subject and Message-ID
	raw  []byte // LF line endings, as a Maildir file holds it
	// inner is the MIME entity that was encrypted (CRLF), nil for plain mail.
	inner []byte
	// status is the expected X-SMIME-Status value up to its first parameter
	// that varies ("decrypted; cipher=aes-256-cbc", "not-decrypted;
	// reason=no-key"); "" for mail that must pass through untouched.
	status string
	// subj is the decoded Subject when it is not "Test message NAME".
	subj string
}

func (m *testMessage) messageID() string { return m.name + "@test.smimeproxy.invalid" }
func (m *testMessage) subject() string {
	if m.subj != "" {
		return m.subj
	}
	return "Test message " + m.name
}

// multipart reports whether the client sees a multipart message.
func (m *testMessage) multipart() bool {
	visible := m.raw
	if m.decrypts() {
		visible = m.inner
	}
	return bytes.Contains(bytes.SplitN(visible, []byte("\n\n"), 2)[0], []byte("multipart/")) ||
		bytes.HasPrefix(visible, []byte("Content-Type: multipart/"))
}

func (m *testMessage) decrypts() bool { return strings.HasPrefix(m.status, "decrypted") }
func (m *testMessage) smime() bool    { return m.status != "" }

// corpus is the set of messages every fixture delivers to alice's INBOX.
type corpus struct {
	dir      string
	messages []*testMessage
	byName   map[string]*testMessage
}

func (c *corpus) get(name string) *testMessage {
	m, ok := c.byName[name]
	if !ok {
		panic("integration: no corpus message " + name)
	}
	return m
}

// encSpec says how to encrypt one corpus message with openssl cms.
type encSpec struct {
	name       string
	cipher     string   // openssl cipher option
	recipients []string // identities, in RecipientInfo order
	extra      []string // more openssl cms options after the recipients
	want       string   // expected status prefix
	inner      []byte   // nil: a one-part text/plain entity
	header     string   // outer header fields; "" for outerHeader's
	subj       string   // see testMessage.subj
}

const (
	statusNoKey   = "not-decrypted; reason=no-key"
	statusCorrupt = "not-decrypted; reason=corrupt"
	statusNoOpen  = "not-decrypted; reason=could-not-decrypt"
)

func encSpecs() []encSpec {
	alice := []string{idAlice}
	oaep := func(md string) []string {
		return []string{"-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:" + md}
	}
	return []encSpec{
		{name: "enc-aes128", cipher: "-aes128", recipients: alice,
			want: "decrypted; cipher=aes-128-cbc"},
		{name: "enc-aes192", cipher: "-aes192", recipients: alice,
			want: "decrypted; cipher=aes-192-cbc"},
		{name: "enc-aes256", cipher: "-aes256", recipients: alice,
			want: "decrypted; cipher=aes-256-cbc"},
		{name: "enc-aes128gcm", cipher: "-aes-128-gcm", recipients: alice,
			want: "decrypted; cipher=aes-128-gcm"},
		{name: "enc-aes256gcm", cipher: "-aes-256-gcm", recipients: alice,
			want: "decrypted; cipher=aes-256-gcm"},
		{name: "enc-des3", cipher: "-des3", recipients: alice,
			want: "decrypted; cipher=des-ede3-cbc"},
		{name: "enc-keyid", cipher: "-aes256", recipients: alice, extra: []string{"-keyid"},
			want: "decrypted; cipher=aes-256-cbc"},
		{name: "enc-stream-ber", cipher: "-aes256", recipients: alice,
			extra: []string{"-stream"}, want: "decrypted; cipher=aes-256-cbc"},
		{name: "enc-oaep-sha256", cipher: "-aes256", recipients: alice, extra: oaep("sha256"),
			want: "decrypted; cipher=aes-256-cbc"},
		{name: "enc-oaep-sha1", cipher: "-aes128", recipients: alice, extra: oaep("sha1"),
			want: "decrypted; cipher=aes-128-cbc"},
		{name: "enc-multi-bob-first", cipher: "-aes256", recipients: []string{idBob, idAlice},
			want: "decrypted; cipher=aes-256-cbc"},
		{name: "enc-old-key", cipher: "-aes256", recipients: []string{idAliceOld},
			want: "decrypted; cipher=aes-256-cbc"},
		{name: "enc-multipart-inner", cipher: "-aes256", recipients: alice,
			want: "decrypted; cipher=aes-256-cbc", inner: multipartInner()},
		{name: "enc-rich-header", cipher: "-aes256", recipients: alice,
			want: "decrypted; cipher=aes-256-cbc", header: richHeader, subj: richSubject},
		{name: "enc-forged-headers", cipher: "-aes256", recipients: alice,
			want: "decrypted; cipher=aes-256-cbc", header: forgedHeader},
		{name: "enc-utf8-8bit", cipher: "-aes128", recipients: alice,
			want: "decrypted; cipher=aes-128-cbc", inner: utf8Inner()},
		{name: "enc-large-attachment", cipher: "-aes256", recipients: alice,
			want: "decrypted; cipher=aes-256-cbc", inner: largeInner()},
		{name: "wrong-user-carol", cipher: "-aes256", recipients: []string{idCarol},
			want: statusNoKey},
		{name: "wrong-user-bob", cipher: "-aes256", recipients: []string{idBob},
			want: statusNoKey},
	}
}

func newCorpus(dir string, pki *testPKI) (*corpus, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	c := &corpus{dir: dir, byName: map[string]*testMessage{}}
	for _, m := range plainMessages() {
		c.add(m)
	}
	for _, spec := range encSpecs() {
		m, err := c.encrypt(pki, spec)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec.name, err)
		}
		c.add(m)
	}
	variants, err := c.variants(pki)
	if err != nil {
		return nil, err
	}
	for _, m := range variants {
		c.add(m)
	}
	return c, nil
}

func (c *corpus) add(m *testMessage) {
	c.messages = append(c.messages, m)
	c.byName[m.name] = m
}

// outerHeader is what a mail client writes above the S/MIME part.
func outerHeader(name, to string) string {
	return "From: Sender Example <sender@example.net>\n" +
		"To: " + to + "\n" +
		"Subject: Test message " + name + "\n" +
		"Date: Thu, 03 Dec 2026 10:00:00 +0000\n" +
		"Message-ID: <" + name + "@test.smimeproxy.invalid>\n"
}

// richHeader exercises every ENVELOPE member (RFC 9051 section 7.5.2):
// encoded words (RFC 2047), folding, Sender, Reply-To, Cc, In-Reply-To.
const richHeader = "From: =?utf-8?q?J=C3=BCrgen_Sender?= <juergen@example.net>\n" +
	"Sender: secretary@example.net\n" +
	"Reply-To: replies@example.net\n" +
	"To: Alice <alice@example.org>, bob@example.org\n" +
	"Cc: \"Carol, C.\" <carol@example.org>\n" +
	"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= and a long subject line that is\n" +
	" folded onto a second line\n" +
	"Date: Thu, 03 Dec 2026 10:00:00 +0100\n" +
	"Message-ID: <enc-rich-header@test.smimeproxy.invalid>\n" +
	"In-Reply-To: <earlier@example.net>\n"

// authservID is the proxy's [status] authserv_id in the tests.
const authservID = "smimeproxy.test.invalid"

// forgedHeader carries status fields a sender wrote to fake a result
// (removed by the proxy) and another server's Authentication-Results (kept).
const forgedHeader = "From: Sender Example <sender@example.net>\n" +
	"To: Alice <alice@example.org>\n" +
	"Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=example.net\n" +
	"Authentication-Results: " + authservID + "; smime=pass\n" +
	"X-SMIME-Status: decrypted; cipher=aes-256-cbc; key=forged\n" +
	"Subject: Test message enc-forged-headers\n" +
	"Date: Thu, 03 Dec 2026 10:00:00 +0000\n" +
	"Message-ID: <enc-forged-headers@test.smimeproxy.invalid>\n"

const richSubject = "Grüße and a long subject line that is folded onto a second line"

func textInner(name string) []byte {
	return []byte("Content-Type: text/plain; charset=utf-8\r\n\r\nsecret text " + name + "\r\n")
}

func utf8Inner() []byte {
	return []byte("Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: 8bit\r\n\r\n" +
		"Gr\u00fc\u00dfe aus K\u00f6ln \u2013 secret text enc-utf8-8bit \U0001F600\r\n")
}

// largeInner is a multipart entity with a 300 KB attachment, so that
// sections and partials span many literal reads.
func largeInner() []byte {
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=\"large-b\"\r\n\r\n" +
		"--large-b\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" +
		"secret text enc-large-attachment\r\n" +
		"--large-b\r\nContent-Type: application/octet-stream; name=\"large.bin\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n")
	line := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("0123456789abcdef", 4)[:57]))
	for b.Len() < 300*1024 {
		b.WriteString(line + "\r\n")
	}
	b.WriteString("--large-b--\r\n")
	return []byte(b.String())
}

func multipartInner() []byte {
	return []byte("Content-Type: multipart/mixed; boundary=\"inner-b\"\r\n\r\n" +
		"This is a multi-part message in MIME format.\r\n" +
		"--inner-b\r\n" +
		"Content-Type: text/plain; charset=us-ascii\r\n\r\n" +
		"secret first part\r\n" +
		"--inner-b\r\n" +
		"Content-Type: application/octet-stream; name=\"data.bin\"\r\n" +
		"Content-Disposition: attachment; filename=\"data.bin\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" +
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\r\n" +
		"--inner-b--\r\n")
}

// encrypt runs openssl cms -encrypt and prepends the outer header fields.
func (c *corpus) encrypt(pki *testPKI, spec encSpec) (*testMessage, error) {
	inner := spec.inner
	if inner == nil {
		inner = textInner(spec.name)
	}
	smime, err := opensslEncrypt(c.dir, pki, spec, inner, "SMIME")
	if err != nil {
		return nil, err
	}
	header := spec.header
	if header == "" {
		header = outerHeader(spec.name, "Alice <alice@example.org>")
	}
	return &testMessage{name: spec.name, raw: []byte(header + string(smime)), inner: inner,
		status: spec.want, subj: spec.subj}, nil
}

func opensslEncrypt(dir string, pki *testPKI, spec encSpec, inner []byte, form string) (
	[]byte, error) {
	in := filepath.Join(dir, spec.name+".in")
	if err := os.WriteFile(in, inner, 0o644); err != nil {
		return nil, err
	}
	// -binary: encrypt the entity's bytes exactly, so the test knows them.
	args := []string{"cms", "-encrypt", "-binary", "-in", in, spec.cipher, "-outform", form}
	for _, r := range spec.recipients {
		args = append(args, "-recip", pki.ids[r].cert)
	}
	args = append(args, spec.extra...)
	return run(dir, nil, "openssl", args...)
}

// variants are messages openssl cannot write directly: other content type
// spellings and damaged ciphertexts.
func (c *corpus) variants(pki *testPKI) ([]*testMessage, error) {
	spec := encSpec{name: "variant", cipher: "-aes256", recipients: []string{idAlice}}
	der, err := opensslEncrypt(c.dir, pki, spec, textInner("variant"), "DER")
	if err != nil {
		return nil, err
	}
	xType := "application/x-pkcs7-mime; smime-type=enveloped-data; name=\"smime.p7m\""
	noParam := "application/pkcs7-mime; name=\"smime.p7m\""
	truncated := der[:len(der)/2]
	return []*testMessage{
		smimeMessage("enc-x-pkcs7-mime", xType, der, "decrypted; cipher=aes-256-cbc"),
		smimeMessage("enc-p7m-name-only", noParam, der, "decrypted; cipher=aes-256-cbc"),
		smimeMessage("corrupt-truncated", "", truncated, statusCorrupt),
		smimeMessage("corrupt-flipped", "", flipLastPlainByte(der), statusNoOpen),
	}, nil
}

// flipLastPlainByte damages a DER EnvelopedData whose encrypted content
// (AES-CBC) is its last field: flipping the last byte of the next-to-last
// cipher block flips the last plaintext byte, the padding length, so that
// decryption must fail (RFC 5652 section 6.3 padding).
func flipLastPlainByte(der []byte) []byte {
	out := bytes.Clone(der)
	out[len(out)-17] ^= 0xff
	return out
}

// smimeMessage wraps DER in the MIME header openssl writes for -outform SMIME.
func smimeMessage(name, contentType string, der []byte, status string) *testMessage {
	if contentType == "" {
		contentType = "application/pkcs7-mime; smime-type=enveloped-data; name=\"smime.p7m\""
	}
	var b strings.Builder
	b.WriteString(outerHeader(name, "Alice <alice@example.org>"))
	b.WriteString("MIME-Version: 1.0\n")
	b.WriteString("Content-Disposition: attachment; filename=\"smime.p7m\"\n")
	b.WriteString("Content-Type: " + contentType + "\n")
	b.WriteString("Content-Transfer-Encoding: base64\n\n")
	enc := base64.StdEncoding.EncodeToString(der)
	for len(enc) > 64 {
		b.WriteString(enc[:64] + "\n")
		enc = enc[64:]
	}
	b.WriteString(enc + "\n\n")
	return &testMessage{name: name, raw: []byte(b.String()), inner: textInner("variant"),
		status: status}
}

func plainMessages() []*testMessage {
	text := outerHeader("plain-text", "Alice <alice@example.org>") +
		"MIME-Version: 1.0\n" +
		"Content-Type: text/plain; charset=us-ascii\n\n" +
		"Hello Alice,\n\nthis message is not encrypted.\n"
	multi := outerHeader("plain-multipart", "Alice <alice@example.org>") +
		"MIME-Version: 1.0\n" +
		"Content-Type: multipart/alternative; boundary=\"alt\"\n\n" +
		"--alt\nContent-Type: text/plain; charset=us-ascii\n\nplain part\n" +
		"--alt\nContent-Type: text/html; charset=us-ascii\n\n<p>html part</p>\n" +
		"--alt--\n"
	// A sender may write our status header themselves to fake a decryption.
	forged := outerHeader("plain-forged-status", "Alice <alice@example.org>") +
		"X-SMIME-Status: decrypted; cipher=aes-256-cbc; key=forged\n" +
		"MIME-Version: 1.0\n" +
		"Content-Type: text/plain; charset=us-ascii\n\n" +
		"I was never encrypted.\n"
	return []*testMessage{
		{name: "plain-text", raw: []byte(text)},
		{name: "plain-multipart", raw: []byte(multi)},
		{name: "plain-forged-status", raw: []byte(forged)},
	}
}

// derOf decodes the base64 body of an S/MIME corpus message.
func derOf(tb testing.TB, m *testMessage) []byte {
	tb.Helper()
	_, body, ok := bytes.Cut(m.raw, []byte("\n\n"))
	if !ok {
		tb.Fatalf("%s: no body", m.name)
	}
	der, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(body), "\n", ""))
	if err != nil {
		tb.Fatalf("%s: %v", m.name, err)
	}
	return der
}

// cmsPrint is openssl's dump of an S/MIME corpus message's CMS structure.
func cmsPrint(tb testing.TB, m *testMessage) []byte {
	tb.Helper()
	out, err := run(env.corpus.dir, derOf(tb, m), "openssl", "cms", "-cmsout", "-print",
		"-inform", "DER")
	if err != nil {
		tb.Fatal(err)
	}
	return out
}
