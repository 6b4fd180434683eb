package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/textproto"
	"github.com/hashicorp/go-hclog"

	"github.com/smimeproxy/smimeproxy/smime"
	"github.com/smimeproxy/smimeproxy/smime/cms"
)

const ourID = "proxy.example.org"

var bobRef = MessageRef{User: "bob@example.org", Mailbox: "INBOX", UIDValidity: 7, UID: 42}

func newTestPipeline(t testing.TB, opts Options) *Pipeline {
	t.Helper()
	if opts.AuthServID == "" {
		opts.AuthServID = ourID
	}
	p := New(opts)
	p.onPanic = func(v any) { t.Errorf("recovered panic: %v", v) }
	return p
}

func TestPlainMessagesPassThrough(t *testing.T) {
	long := strings.Repeat("x", 200000)
	msgs := map[string]string{
		"crlf":    "From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n",
		"lf only": "From: a@example.org\nSubject: hi\n\nbody\n",
		"folded": "Subject: a\r\n  folded\r\n\tline\r\n" +
			"Content-Type: text/plain;\r\n charset=x\r\n\r\nb",
		"no body":   "From: a@example.org\r\nSubject: hi\r\n",
		"no eol":    "From: a@example.org",
		"empty":     "",
		"8-bit":     "Subject: Gr\xfc\xdfe \xe2\x82\xac\r\nFrom: \xff\xfe\r\n\r\n\xff",
		"long line": "Subject: " + long + "\r\nX-Long: " + long + "\r\n\r\n" + long,
		"bad lines": " leading space\r\nno colon here\r\n: empty name\r\n\r\nbody",
		"bad ctype": "Content-Type: application/pkcs7-mime; " +
			"smime-type=\"enveloped-data\r\n\r\nx",
		"other AR":    "Authentication-Results: mx.example.org; dkim=pass\r\n\r\nx",
		"status body": "Subject: x\r\n\r\nX-SMIME-Status: decrypted\r\n",
		"pgp": "Content-Type: multipart/encrypted; " +
			"protocol=\"application/pgp-encrypted\"; boundary=b\r\n\r\n",
	}
	for name, msg := range msgs {
		t.Run(name, func(t *testing.T) {
			keys := bobKeys(t)
			p := newTestPipeline(t, Options{CacheBytes: 1 << 20})
			raw := []byte(msg)
			if p.NeedsTransform(raw) {
				t.Error("NeedsTransform = true")
			}
			out := p.Transform(context.Background(), bobRef, keys, raw)
			if out.Changed || out.Decrypt != nil || !bytes.Equal(out.Message, raw) {
				t.Fatalf("changed=%t decrypt=%v, message %q", out.Changed, out.Decrypt,
					out.Message)
			}
			if len(raw) > 0 && &out.Message[0] != &raw[0] {
				t.Error("plain message was copied")
			}
			if keys.calls.Load() != 0 {
				t.Error("keys consulted for a plain message")
			}
			if _, ok := p.Cached(bobRef); ok {
				t.Error("plain message cached")
			}
		})
	}
}

func TestForgedStatusRemovedFromPlain(t *testing.T) {
	raw := []byte("From: a@example.org\r\n" +
		"x-smime-status: decrypted; cipher=aes-256-cbc;\r\n key=forged\r\n" +
		"Subject: hi\r\n" +
		"X-SMIME-Status : decrypted\r\n" +
		"\r\nX-SMIME-Status: in the body stays\r\n")
	want := "From: a@example.org\r\nSubject: hi\r\n\r\nX-SMIME-Status: in the body stays\r\n"
	keys := bobKeys(t)
	p := newTestPipeline(t, Options{})
	if !p.NeedsTransform(raw) {
		t.Error("NeedsTransform = false")
	}
	out := p.Transform(context.Background(), bobRef, keys, raw)
	if !out.Changed || out.Decrypt != nil || string(out.Message) != want {
		t.Fatalf("changed=%t decrypt=%v message %q", out.Changed, out.Decrypt, out.Message)
	}
	if keys.calls.Load() != 0 {
		t.Error("keys consulted for a plain message")
	}
}

func TestForgedAuthenticationResults(t *testing.T) {
	raw := []byte("Authentication-Results: mx.example.org; dkim=pass\r\n" +
		"Authentication-Results: proxy.example.org; smime=pass\r\n" +
		"Authentication-Results: (forged) PROXY.example.org 1;\r\n smime=pass\r\n" +
		"Authentication-Results: \"proxy.example.org\"; smime=pass\r\n" +
		"Authentication-Results: proxy.example.org.evil; none\r\n" +
		"Subject: x\r\n\r\nbody")
	want := "Authentication-Results: mx.example.org; dkim=pass\r\n" +
		"Authentication-Results: proxy.example.org.evil; none\r\n" +
		"Subject: x\r\n\r\nbody"
	p := newTestPipeline(t, Options{})
	if !p.NeedsTransform(raw) {
		t.Error("NeedsTransform = false")
	}
	out := p.Transform(context.Background(), bobRef, bobKeys(t), raw)
	if string(out.Message) != want {
		t.Fatalf("message %q", out.Message)
	}
	other := newTestPipeline(t, Options{AuthServID: "elsewhere.example"})
	if other.NeedsTransform(raw) {
		t.Error("NeedsTransform = true for another authserv-id")
	}
}

func TestNeedsTransform(t *testing.T) {
	p := newTestPipeline(t, Options{})
	tests := map[string]bool{
		"Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n\r\n":          true,
		"Content-Type: application/x-pkcs7-mime;\r\n name=smime.p7m\r\n\r\n":               true,
		"content-type: Application/PKCS7-MIME; smime-type=authEnveloped-data\n\n":          true,
		"Content-Type: application/pkcs7-mime; smime-type=signed-data\r\n\r\n":             true,
		"Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"\r\n\r\n": true,
		"Content-Type: multipart/signed; protocol=\"application/pgp-signature\"\r\n\r\n":   false,
		"Content-Type: text/plain\r\n\r\n":                                                 false,
		"Content-Type: text/plain\r\nX-SMIME-Status: decrypted\r\n\r\n":                    true,
		"Authentication-Results: proxy.example.org; none\r\n\r\n":                          true,
		"Authentication-Results: other; none\r\n\r\n":                                      false,
		"": false,
		// The first Content-Type decides, as it does for the transform.
		"Content-Type: text/plain\r\nContent-Type: application/pkcs7-mime; " +
			"smime-type=enveloped-data\r\n\r\n": false,
	}
	for hdr, want := range tests {
		if got := p.NeedsTransform([]byte(hdr)); got != want {
			t.Errorf("NeedsTransform(%q) = %t, want %t", hdr, got, want)
		}
	}
}

// arNone is the Authentication-Results field of a decrypted message
// without signature (RFC 7281 section 3: smime=none).
const arNone = "Authentication-Results: proxy.example.org;\r\n\tsmime=none (message not signed)\r\n"

func TestDecryptedMessage(t *testing.T) {
	forged := "X-SMIME-Status: decrypted; cipher=none\r\n" +
		"Authentication-Results: proxy.example.org; smime=pass\r\n"
	raw := encryptedMessage(t, forged, innerEntity, []string{"-aes256"}, "bob")
	keys := bobKeys(t)
	p := newTestPipeline(t, Options{})
	if !p.NeedsTransform(raw) {
		t.Fatal("NeedsTransform = false")
	}
	out := p.Transform(context.Background(), bobRef, keys, raw)
	if out.Decrypt == nil || out.Decrypt.Outcome != smime.OutcomeDecrypted {
		t.Fatalf("decrypt result %v (%v)", out.Decrypt, errOf(out))
	}
	want := outerFields + "MIME-Version: 1.0\r\n" + arNone +
		"X-SMIME-Status: decrypted; cipher=aes-256-cbc; key=bob; " +
		"unauthenticated-encryption\r\n" + innerEntity
	if string(out.Message) != want {
		t.Fatalf("message\n%q\nwant\n%q", out.Message, want)
	}
	if !out.Changed || out.Decrypt.Inner != nil || out.Decrypt.KeyID != "bob" {
		t.Errorf("changed=%t inner=%d key=%q", out.Changed, len(out.Decrypt.Inner),
			out.Decrypt.KeyID)
	}
	checkParses(t, out.Message)
}

func TestDecryptedMessageLFOnly(t *testing.T) {
	raw := encryptedMessage(t, "", strings.ReplaceAll(innerEntity, "\r\n", "\n"),
		[]string{"-aes128", "-binary"}, "bob-old")
	raw = bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
	out := newTestPipeline(t, Options{}).Transform(context.Background(), bobRef, bobKeys(t), raw)
	if out.Decrypt == nil || out.Decrypt.Outcome != smime.OutcomeDecrypted {
		t.Fatalf("decrypt result %v (%v)", out.Decrypt, errOf(out))
	}
	want := outerFields + "MIME-Version: 1.0\r\n" + arNone +
		"X-SMIME-Status: decrypted; cipher=aes-128-cbc; key=bob-old; " +
		"unauthenticated-encryption\r\n" + innerEntity
	if string(out.Message) != want {
		t.Fatalf("message\n%q\nwant\n%q", out.Message, want)
	}
}

func TestDecryptedInnerHeaders(t *testing.T) {
	inner := "Subject: protected subject\r\n" +
		"X-SMIME-Status: decrypted; forged=inside\r\n" +
		"Content-Type: multipart/mixed; boundary=\"b\"\r\n" +
		"X-Inner: kept\r\n" +
		"\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n"
	raw := encryptedMessage(t, "", inner, []string{"-aes256"}, "bob")
	out := newTestPipeline(t, Options{}).Transform(context.Background(), bobRef, bobKeys(t), raw)
	want := outerFields + "MIME-Version: 1.0\r\n" + arNone +
		"X-SMIME-Status: decrypted; cipher=aes-256-cbc; key=bob; " +
		"unauthenticated-encryption\r\n" +
		"Content-Type: multipart/mixed; boundary=\"b\"\r\nX-Inner: kept\r\n" +
		"\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n"
	if string(out.Message) != want {
		t.Fatalf("message\n%q\nwant\n%q", out.Message, want)
	}
}

func TestDecryptedBareContent(t *testing.T) {
	raw := encryptedMessage(t, "", "Hello world!\r\n", []string{"-aes256"}, "bob")
	out := newTestPipeline(t, Options{}).Transform(context.Background(), bobRef, bobKeys(t), raw)
	want := outerFields + "MIME-Version: 1.0\r\n" + arNone +
		"X-SMIME-Status: decrypted; cipher=aes-256-cbc; key=bob; " +
		"unauthenticated-encryption\r\n\r\nHello world!\r\n"
	if string(out.Message) != want {
		t.Fatalf("message\n%q\nwant\n%q", out.Message, want)
	}
}

func TestFailedMessagesKeepBody(t *testing.T) {
	forged := "X-SMIME-Status: decrypted; cipher=aes-256-cbc; key=bob\r\n"
	toCarol := encryptedMessage(t, forged, innerEntity, []string{"-aes256"}, "carol")
	clean := bytes.Replace(toCarol, []byte(forged), nil, 1)
	corrupt := bytes.Clone(clean)
	i := bytes.Index(corrupt, []byte("\r\n\r\n")) + 40
	copy(corrupt[i:], "!!!!")
	tests := []struct {
		name, want string
		raw, clean []byte
		lf         bool
	}{
		{"no key", "not-decrypted; reason=no-key", toCarol, clean, false},
		{"corrupt", "not-decrypted; reason=corrupt", corrupt, corrupt, false},
		{"no key, LF", "not-decrypted; reason=no-key",
			bytes.ReplaceAll(toCarol, []byte("\r\n"), []byte("\n")),
			bytes.ReplaceAll(clean, []byte("\r\n"), []byte("\n")), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := newTestPipeline(t, Options{}).Transform(context.Background(), bobRef,
				bobKeys(t), tt.raw)
			eol := "\r\n"
			if tt.lf {
				eol = "\n"
			}
			want := "X-SMIME-Status: " + tt.want + eol + string(tt.clean)
			if string(out.Message) != want {
				t.Fatalf("message\n%q\nwant\n%q", out.Message, want)
			}
			if !bytes.Equal(bodyOf(out.Message), bodyOf(tt.raw)) {
				t.Error("body changed")
			}
			if countField(t, out.Message, smime.StatusHeader) != 1 {
				t.Error("not exactly one status field")
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	raw := encryptedMessage(t, "", innerEntity, []string{"-aes256"}, "bob")
	p := newTestPipeline(t, Options{})
	p.opts.Limits.MaxInputBytes = 100
	out := p.Transform(context.Background(), bobRef, bobKeys(t), raw)
	if got := fieldValue(t, out.Message, smime.StatusHeader); got !=
		"not-decrypted; reason=too-large" {
		t.Fatalf("status %q", got)
	}
}

func TestKeySourceFailureIsNotCached(t *testing.T) {
	raw := encryptedMessage(t, "", innerEntity, []string{"-aes256"}, "bob")
	keys := &countingKeys{err: errVaultDown}
	p := newTestPipeline(t, Options{CacheBytes: 1 << 20})
	for i := 0; i < 2; i++ {
		out := p.Transform(context.Background(), bobRef, keys, raw)
		if got := fieldValue(t, out.Message, smime.StatusHeader); got !=
			"not-decrypted; reason=temporary-error" {
			t.Fatalf("status %q", got)
		}
	}
	if keys.calls.Load() != 2 {
		t.Errorf("keys asked %d times, want 2 (no caching of failures to ask)",
			keys.calls.Load())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := p.Transform(ctx, bobRef, bobKeys(t), raw)
	if out.Decrypt.Outcome != smime.OutcomeTemporaryError {
		t.Errorf("cancelled context: outcome %s", out.Decrypt.Outcome)
	}
}

func TestAuditLog(t *testing.T) {
	var buf bytes.Buffer
	logger := hclog.New(&hclog.LoggerOptions{Output: &buf, JSONFormat: true, Level: hclog.Debug})
	ok := encryptedMessage(t, "", innerEntity, []string{"-aes256"}, "bob")
	bad := encryptedMessage(t, "", innerEntity, []string{"-aes256"}, "carol")
	p := newTestPipeline(t, Options{Logger: logger})
	p.Transform(context.Background(), bobRef, bobKeys(t), ok)
	p.Transform(context.Background(), MessageRef{User: "bob@example.org", POP3UIDL: "u9"},
		bobKeys(t), bad)
	p.Transform(context.Background(), bobRef, bobKeys(t), []byte("Subject: plain\r\n\r\nx"))

	var lines []map[string]any
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want 2 (one per decryption attempt): %s", len(lines), buf.String())
	}
	first, second := lines[0], lines[1]
	want := map[string]any{"event": "decrypt", "user": "bob@example.org", "mailbox": "INBOX",
		"uid": float64(42), "key": "bob", "outcome": "decrypted", "cipher": "aes-256-cbc",
		"@module": "audit"}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("first line %s = %v, want %v", k, first[k], v)
		}
	}
	if _, ok := first["duration"]; !ok {
		t.Error("no duration")
	}
	if second["outcome"] != "no-key" || second["uidl"] != "u9" || second["error"] == nil {
		t.Errorf("second line %v", second)
	}
	for _, secret := range []string{"the code is 42", "PRIVATE", "Hello Bob"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("log contains %q", secret)
		}
	}
}

func TestPanicFallback(t *testing.T) {
	raw := encryptedMessage(t, "X-SMIME-Status: decrypted\r\n", innerEntity,
		[]string{"-aes256"}, "bob")
	p := New(Options{CacheBytes: 1 << 20})
	panics := 0
	p.onPanic = func(any) { panics++ }
	keys := KeySourceFunc(func(context.Context) ([]smime.Key, error) { panic("vault bug") })
	out := p.Transform(context.Background(), bobRef, keys, raw)
	if panics != 1 || out.Decrypt == nil || out.Decrypt.Outcome != smime.OutcomeCorrupt {
		t.Fatalf("panics %d, result %v", panics, out.Decrypt)
	}
	if got := fieldValue(t, out.Message, smime.StatusHeader); got !=
		"not-decrypted; reason=corrupt" || countField(t, out.Message, smime.StatusHeader) != 1 {
		t.Fatalf("status %q", got)
	}
	if !bytes.Equal(bodyOf(out.Message), bodyOf(raw)) {
		t.Error("body changed")
	}
}

func TestThunderbirdSample(t *testing.T) {
	raw, key := thunderbirdSample(t)
	keys := &countingKeys{keys: []smime.Key{testKey(t, "carol"), key}}
	out := newTestPipeline(t, Options{}).Transform(context.Background(), bobRef, keys, raw)
	if out.Decrypt == nil || out.Decrypt.Outcome != smime.OutcomeDecrypted {
		t.Fatalf("result %v (%v)", out.Decrypt, errOf(out))
	}
	if !bytes.Contains(out.Message, []byte("This is a test message from Alice to Bob.")) {
		t.Errorf("message %q", out.Message)
	}
	if fieldValue(t, out.Message, "Subject") != "enveloped" ||
		fieldValue(t, out.Message, "From") != "Alice@example.com" {
		t.Errorf("outer fields lost: %q", out.Message)
	}
	checkParses(t, out.Message)
}

// checkParses reads msg with go-message's strict header reader: a client
// library must be able to read what we produce.
func checkParses(t *testing.T, msg []byte) {
	t.Helper()
	if bytes.Contains(bytes.ReplaceAll(msg, []byte("\r\n"), nil), []byte("\n")) {
		t.Error("message has bare LF line endings")
	}
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(msg)))
	if err != nil {
		t.Fatalf("go-message cannot read the header: %v", err)
	}
	if n := len(h.Values(smime.StatusHeader)); n != 1 {
		t.Errorf("%d status fields", n)
	}
	if h.Get("Content-Type") == "" {
		t.Error("no Content-Type")
	}
}

func errOf(out *Output) error {
	if out.Decrypt == nil {
		return nil
	}
	return out.Decrypt.Err
}

func TestManyHeaderFieldsStayLinear(t *testing.T) {
	var outer, inner strings.Builder
	for i := 0; i < 100000; i++ {
		fmt.Fprintf(&outer, "X-O%d: v\r\n", i)
		fmt.Fprintf(&inner, "X-I%d: v\r\n", i)
	}
	inner.WriteString("Content-Type: text/plain\r\n\r\nbody\r\n")
	der, err := cms.Encrypt([]byte(inner.String()),
		[]*x509.Certificate{testKey(t, "bob").Certificate}, cms.EncryptOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw := outer.String() + "Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n" +
		"Content-Transfer-Encoding: binary\r\n\r\n" + string(der)
	start := time.Now()
	out := newTestPipeline(t, Options{}).Transform(context.Background(), bobRef, bobKeys(t),
		[]byte(raw))
	if out.Decrypt.Outcome != smime.OutcomeDecrypted || !bytes.HasSuffix(out.Message,
		[]byte("Content-Type: text/plain\r\n\r\nbody\r\n")) {
		t.Fatalf("result %v", out.Decrypt)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("200,000 header fields took %v", d)
	}
}
