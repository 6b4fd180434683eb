package imapproxy

import (
	"bytes"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// forwarded makes a multipart/mixed message whose second part is embedded,
// as a message/rfc822 attachment.
func forwarded(embedded string) string {
	return "From: Dave <dave@example.net>\r\nTo: Alice <alice@example.org>\r\n" +
		"Subject: fwd\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"fwd\"\r\n\r\n" +
		"--fwd\r\nContent-Type: text/plain\r\n\r\nSee the attachment.\r\n" +
		"--fwd\r\nContent-Type: message/rfc822\r\n\r\n" + embedded + "\r\n" +
		"--fwd--\r\n"
}

// TestAttachedEnvelopeIsDecrypted: an envelope forwarded as a message/rfc822
// attachment is shown decrypted in that part, whatever items the client
// asks for, and the items agree with each other; a plain multipart message
// still passes through byte for byte.
func TestAttachedEnvelopeIsDecrypted(t *testing.T) {
	f := newFixture(t, fixtureOptions{insecureAuth: true, noCache: true})
	f.deliver(forwarded(encryptedMessage(t, f.cert, "secret", secretInner)))
	plain := forwarded(plainMessage)
	f.deliver(plain)
	c := f.dial(f.proxy, true)

	whole := &imap.FetchItemBodySection{Peek: true}
	msg := fetchOne(t, c, 1, &imap.FetchOptions{UID: true, RFC822Size: true,
		BodySection: []*imap.FetchItemBodySection{whole}})
	body := msg.FindBodySection(whole)
	status := "X-SMIME-Status: attachment-decrypted; part=2; decrypted\r\n"
	if !bytes.Contains(body, []byte("The launch code is 0000.")) ||
		!bytes.HasPrefix(body, []byte(status)) {
		t.Fatalf("BODY[] does not show the decrypted attachment:\n%s", body)
	}
	if msg.RFC822Size != int64(len(body)) {
		t.Errorf("RFC822.SIZE = %d, len(BODY[]) = %d", msg.RFC822Size, len(body))
	}

	// Without the whole body among the client's items: the proxy finds the
	// attachment by its BODYSTRUCTURE and answers from the decrypted message.
	part2 := &imap.FetchItemBodySection{Part: []int{2}, Peek: true}
	msg = fetchOne(t, c, 1, &imap.FetchOptions{UID: true, RFC822Size: true,
		BodySection: []*imap.FetchItemBodySection{part2}})
	if msg.RFC822Size != int64(len(body)) {
		t.Errorf("RFC822.SIZE alone = %d, want %d", msg.RFC822Size, len(body))
	}
	embedded := string(msg.FindBodySection(part2))
	if !strings.HasPrefix(embedded, "From: Carol") ||
		!strings.Contains(embedded, "X-SMIME-Status: decrypted; cipher=aes-256-cbc") ||
		!strings.Contains(embedded, "The launch code is 0000.") {
		t.Errorf("BODY[2] is not the decrypted embedded message:\n%s", embedded)
	}
	msg = fetchOne(t, c, 1, &imap.FetchOptions{UID: true,
		BodyStructure: &imap.FetchItemBodyStructure{}})
	mp, ok := msg.BodyStructure.(*imap.BodyStructureMultiPart)
	if !ok || len(mp.Children) != 2 {
		t.Fatalf("BODYSTRUCTURE = %#v", msg.BodyStructure)
	}
	if rfc, ok := mp.Children[1].(*imap.BodyStructureSinglePart); !ok || rfc.MessageRFC822 == nil ||
		rfc.MessageRFC822.BodyStructure.MediaType() != "multipart/mixed" {
		t.Errorf("BODYSTRUCTURE of part 2 = %#v, want the decrypted multipart", mp.Children[1])
	}

	sizes := &imap.FetchOptions{UID: true, RFC822Size: true}
	msgs, err := c.Fetch(imap.UIDSetNum(1, 2), sizes).Collect()
	if err != nil || len(msgs) != 2 {
		t.Fatalf("fetch 1:2: %d messages, %v", len(msgs), err)
	}
	want := map[imap.UID]int{1: len(body), 2: len(plain)}
	for _, m := range msgs {
		if m.RFC822Size != int64(want[m.UID]) {
			t.Errorf("uid %d: RFC822.SIZE %d, want %d", m.UID, m.RFC822Size, want[m.UID])
		}
	}

	msg = fetchOne(t, c, 2, &imap.FetchOptions{UID: true, RFC822Size: true,
		BodySection: []*imap.FetchItemBodySection{whole, part2}})
	got := string(msg.FindBodySection(whole))
	if got != plain || msg.RFC822Size != int64(len(plain)) {
		t.Errorf("plain multipart changed (size %d):\n%s", msg.RFC822Size, got)
	}
}
