package pop3proxy

import (
	"strings"
	"testing"
)

// forwarded makes a multipart/mixed message whose second part is embedded,
// as a message/rfc822 attachment.
func forwarded(embedded string) string {
	return "From: Dave <dave@example.net>\r\nSubject: fwd\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"fwd\"\r\n\r\n" +
		"--fwd\r\nContent-Type: text/plain\r\n\r\nSee the attachment.\r\n" +
		"--fwd\r\nContent-Type: message/rfc822\r\n\r\n" + embedded + "\r\n" +
		"--fwd--\r\n"
}

// TestAttachedEnvelopeIsDecrypted: an envelope in a message/rfc822
// attachment is decrypted as that attachment; LIST agrees with RETR, and
// TOP cuts the message RETR returns.
func TestAttachedEnvelopeIsDecrypted(t *testing.T) {
	f := newFixture(t, fixtureOptions{insecureAuth: true, emptyMaildrop: true})
	f.up.add("uidl-fwd", forwarded(encryptedMessage(t, f.cert, "secret", secretInner)))
	plain := forwarded(plainMessage)
	f.up.add("uidl-plain-fwd", plain)
	c := f.dial(f.addr, true)

	top, err := c.Top(1, 0)
	status := "X-SMIME-Status: attachment-decrypted; part=2; decrypted\r\n"
	if err != nil || !strings.HasPrefix(string(top), status) {
		t.Errorf("TOP 1 0 = %q, %v", top, err)
	}
	list, err := c.List()
	if err != nil || len(list) != 2 {
		t.Fatalf("LIST: %v %v", list, err)
	}
	msg := retr(t, c, 1)
	if !strings.Contains(msg, secretText) || !strings.Contains(msg,
		"X-SMIME-Status: decrypted; cipher=aes-256-cbc") {
		t.Errorf("attachment not decrypted:\n%s", msg)
	}
	if int64(len(msg)) != list[0].Size {
		t.Errorf("LIST says %d, RETR gave %d", list[0].Size, len(msg))
	}
	if got := retr(t, c, 2); got != plain || list[1].Size != int64(len(plain)) {
		t.Errorf("plain multipart changed (LIST %d):\n%s", list[1].Size, got)
	}
}
