package integration

import (
	"bytes"
	"testing"
)

// crlf converts a Maildir file's LF line endings to what IMAP sends.
func crlf(b []byte) []byte {
	return bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")),
		[]byte("\n"), []byte("\r\n"))
}

// deliverCorpus puts every corpus message into user's INBOX.
func (d *dovecot) deliverCorpus(tb testing.TB, user string) {
	tb.Helper()
	for _, m := range env.corpus.messages {
		d.deliver(tb, user, m.raw)
	}
}

// TestHarnessDovecot checks the harness itself: Dovecot serves exactly the
// messages written into the Maildir, so that later comparisons with its
// direct answers mean something.
func TestHarnessDovecot(t *testing.T) {
	d := startDovecot(t)
	d.deliverCorpus(t, userAlice)
	c := loginInbox(t, d.imapAddr, userAlice)

	uids := uidsByMessageID(t, c)
	if len(uids) != len(env.corpus.messages) {
		t.Fatalf("Dovecot lists %d messages, delivered %d", len(uids), len(env.corpus.messages))
	}
	for _, m := range env.corpus.messages {
		uid, ok := uids[m.messageID()]
		if !ok {
			t.Errorf("%s: not found by Message-ID", m.name)
			continue
		}
		if got := wholeBody(t, c, uid); !bytes.Equal(got, crlf(m.raw)) {
			t.Errorf("%s: Dovecot serves %d bytes, delivered %d", m.name, len(got), len(m.raw))
		}
	}
}

// TestHarnessCorpus checks that openssl wrote what each message claims to
// be: BER for -stream, recipients in the stated order.
func TestHarnessCorpus(t *testing.T) {
	requireEnv(t)
	ber := env.corpus.get("enc-stream-ber")
	der := derOf(t, ber)
	if der[1] != 0x80 {
		t.Errorf("enc-stream-ber: outer length byte %#x, want 0x80 (indefinite, BER)", der[1])
	}
	if plain := derOf(t, env.corpus.get("enc-aes256")); plain[1] == 0x80 {
		t.Error("enc-aes256: indefinite length, want DER")
	}
	printed := cmsPrint(t, env.corpus.get("enc-multi-bob-first"))
	// Serial numbers as newTestPKI assigns them: bob 4097, alice 4098.
	bob := bytes.Index(printed, []byte("serialNumber: 4097"))
	alice := bytes.Index(printed, []byte("serialNumber: 4098"))
	if bob < 0 || alice < 0 || bob > alice {
		t.Errorf("enc-multi-bob-first: recipients not bob (4097) then alice (4098): %d, %d",
			bob, alice)
	}
	if !bytes.Contains(cmsPrint(t, env.corpus.get("enc-keyid")), []byte("subjectKeyIdentifier")) {
		t.Error("enc-keyid: recipient not identified by subjectKeyIdentifier")
	}
}
