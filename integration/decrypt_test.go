package integration

import (
	"bytes"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// TestFetchThroughProxy reads every corpus message through the proxy as
// alice and checks what her client sees: decrypted messages exactly as the
// contract lays them out, every fetch item answered as Dovecot answers for
// those decrypted bytes, mail the proxy cannot open unchanged but for the
// status field, and plain mail byte for byte as Dovecot serves it.
func TestFetchThroughProxy(t *testing.T) {
	f := newFixture(t, proxyOptions{})
	testFetchThroughProxy(t, f)
}

// TestFetchThroughProxyNoCache repeats the checks with the decrypted
// message cache disabled, so that every item is computed afresh.
func TestFetchThroughProxyNoCache(t *testing.T) {
	f := newFixture(t, proxyOptions{noCache: true})
	testFetchThroughProxy(t, f)
}

func testFetchThroughProxy(t *testing.T, f *fixture) {
	s := newFetchSession(t, f)
	keyIDs := map[string]string{}
	for _, m := range env.corpus.messages {
		t.Run(m.name, func(t *testing.T) {
			switch {
			case m.name == "plain-forged-status":
				s.checkForged(t, m)
			case !m.smime():
				s.checkPlain(t, m)
			default:
				keyIDs[m.name] = s.checkSMIME(t, m)
			}
		})
	}
	t.Run("older-key-named", func(t *testing.T) {
		current, old := keyIDs["enc-aes256"], keyIDs["enc-old-key"]
		if current == "" || old == "" || current == old {
			t.Errorf("key= of the message to alice's current key %q and to her older key %q: "+
				"want two different non-empty key ids", current, old)
		}
	})
}

// checkPlain: mail that is not S/MIME passes through byte for byte.
func (s *fetchSession) checkPlain(t *testing.T, m *testMessage) {
	proxyUID, directUID := s.uids(t, m)
	want := fetchUID(t, s.direct, directUID, metadataItems())
	for _, d := range sameFetch(metadataItems(), s.metadata[m.messageID()], want) {
		t.Errorf("first FETCH through the proxy: %s", d)
	}
	s.compare(t, s.direct, proxyUID, directUID, m.multipart())
}

// checkForged: a plain message carrying its own X-SMIME-Status must not
// show the client a decryption that never happened.
func (s *fetchSession) checkForged(t *testing.T, m *testMessage) {
	proxyUID, directUID := s.uids(t, m)
	got := wholeBody(t, s.proxy, proxyUID)
	fields, body := splitMessage(got)
	for _, f := range fieldsNamed(fields, "X-SMIME-Status") {
		if hasStatusPrefix(f.value(), "decrypted") {
			t.Errorf("the sender's forged status reaches the client: %q", f.raw)
		}
	}
	_, directBody := splitMessage(wholeBody(t, s.direct, directUID))
	if !bytes.Equal(body, directBody) {
		t.Errorf("body changed:\n%q\nwant\n%q", body, directBody)
	}
	s.compare(t, s.ref, proxyUID, s.reference(t, got), false)
}

// checkSMIME checks one S/MIME message and returns the key= of its status.
func (s *fetchSession) checkSMIME(t *testing.T, m *testMessage) string {
	proxyUID, directUID := s.uids(t, m)
	got := wholeBody(t, s.proxy, proxyUID)
	fields, _ := splitMessage(got)
	status := fieldsNamed(fields, "X-SMIME-Status")
	if len(status) != 1 {
		t.Fatalf("%d X-SMIME-Status fields, want 1; header:\n%s", len(status), joinFields(fields))
	}
	if !statusGrammar.MatchString(status[0].value()) {
		t.Errorf("X-SMIME-Status: %s\ndoes not follow the grammar", status[0].value())
	}
	if !hasStatusPrefix(status[0].value(), m.status) {
		t.Errorf("X-SMIME-Status: %s\nwant: %s...", status[0].value(), m.status)
	}

	if m.decrypts() {
		want := expectedDecrypted(m.raw, ourFields(fields), m.inner)
		if !bytes.Equal(got, want) {
			t.Errorf("BODY[] through the proxy:\n%s\nwant:\n%s", got, want)
		}
	} else {
		original := wholeBody(t, s.direct, directUID)
		stripped := joinMessage(withoutFields(fields, isStatusField), got)
		if !bytes.Equal(stripped, original) {
			t.Errorf("BODY[] without the status field:\n%s\nwant the original:\n%s",
				stripped, original)
		}
	}

	s.checkSelfConsistent(t, m, proxyUID, int64(len(got)))
	refUID := s.reference(t, got)
	want := fetchUID(t, s.ref, refUID, metadataItems())
	for _, d := range sameFetch(metadataItems(), s.metadata[m.messageID()], want) {
		t.Errorf("first FETCH through the proxy: %s", d)
	}
	s.compare(t, s.ref, proxyUID, refUID, m.multipart())
	return statusParam(status[0].value(), "key")
}

// joinMessage rebuilds msg with other header fields and msg's own body.
func joinMessage(fields []field, msg []byte) []byte {
	_, body := splitMessage(msg)
	out := append(joinFields(fields), "\r\n"...)
	return append(out, body...)
}

// checkSelfConsistent checks the rules a client relies on without asking
// Dovecot: sizes, the header/text split, partials, the visible type.
func (s *fetchSession) checkSelfConsistent(t *testing.T, m *testMessage, uid imap.UID,
	size int64) {
	meta := s.metadata[m.messageID()]
	if meta.RFC822Size != size {
		t.Errorf("RFC822.SIZE %d before the body was fetched, len(BODY[]) %d",
			meta.RFC822Size, size)
	}
	if meta.Envelope.Subject != m.subject() {
		t.Errorf("ENVELOPE subject %q, want the outer Subject %q", meta.Envelope.Subject,
			m.subject())
	}
	typ := meta.BodyStructure.MediaType()
	if m.decrypts() && strings.Contains(typ, "pkcs7") {
		t.Errorf("BODYSTRUCTURE type %s for a decrypted message, want the inner type", typ)
	}
	if !m.decrypts() && !strings.Contains(typ, "pkcs7-mime") {
		t.Errorf("BODYSTRUCTURE type %s for a message not decrypted, want the original", typ)
	}

	header := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
	text := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierText, Peek: true}
	whole := &imap.FetchItemBodySection{Peek: true}
	part := &imap.FetchItemBodySection{Peek: true, Partial: &imap.SectionPartial{Offset: 5,
		Size: 40}}
	opts := &imap.FetchOptions{RFC822Size: true,
		BodySection: []*imap.FetchItemBodySection{header, text, whole, part}}
	got := fetchUID(t, s.proxy, uid, opts)
	body := got.FindBodySection(whole)
	if int64(len(body)) != got.RFC822Size {
		t.Errorf("in one FETCH: len(BODY[]) %d, RFC822.SIZE %d", len(body), got.RFC822Size)
	}
	joined := append(bytes.Clone(got.FindBodySection(header)), got.FindBodySection(text)...)
	if !bytes.Equal(joined, body) {
		t.Errorf("BODY[HEADER] + BODY[TEXT] != BODY[]:\n%q\n%q", joined, body)
	}
	if p := got.FindBodySection(part); len(body) < 45 || !bytes.Equal(p, body[5:45]) {
		t.Errorf("BODY[]<5.40> %q is not BODY[] bytes 5 to 45", p)
	}
}

func (s *fetchSession) uids(t *testing.T, m *testMessage) (proxyUID, directUID imap.UID) {
	t.Helper()
	proxyUID, ok := s.proxyUIDs[m.messageID()]
	if !ok {
		t.Fatalf("no message with Message-ID %s through the proxy", m.messageID())
	}
	return proxyUID, s.directUIDs[m.messageID()]
}
