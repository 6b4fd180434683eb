package integration

import (
	"fmt"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// TestUserIsolation: a session decrypts with its own user's keys only,
// whatever another user's session decrypted before it with the same UIDs
// (the cache is per user), and a user without keys reads everything
// undecrypted. The same corpus sits in alice's, bob's and carol's INBOX.
func TestUserIsolation(t *testing.T) {
	f := newFixture(t, proxyOptions{})
	f.dv.deliverCorpus(t, userBob)
	f.dv.deliverCorpus(t, userCarol)
	logUIDValidities(t, f)

	for round := range 2 {
		for _, user := range []string{userAlice, userBob, userCarol} {
			t.Run(fmt.Sprintf("%s/%d", user, round), func(t *testing.T) {
				c := loginInbox(t, f.px.addr, user)
				uids := uidsByMessageID(t, c)
				for _, m := range env.corpus.messages {
					if m.smime() {
						checkStatusAs(t, c, uids[m.messageID()], m, user)
					}
				}
			})
		}
	}
}

// expectedStatus is what user sees for m: bob holds bob's key only, carol
// no key at all.
func expectedStatus(user string, m *testMessage) string {
	switch {
	case user == userAlice:
		return m.status
	case m.name == "corrupt-truncated":
		return "" // corrupt or no-key: either is true for a user without the key
	case user == userBob && (m.name == "enc-multi-bob-first" || m.name == "wrong-user-bob"):
		return "decrypted; cipher=aes-256-cbc"
	}
	return statusNoKey
}

func checkStatusAs(t *testing.T, c *imapclient.Client, uid imap.UID, m *testMessage,
	user string) {
	t.Helper()
	want := expectedStatus(user, m)
	got := wholeBody(t, c, uid)
	fields, body := splitMessage(got)
	status := fieldsNamed(fields, "X-SMIME-Status")
	if len(status) != 1 {
		t.Errorf("%s: %d X-SMIME-Status fields, want 1", m.name, len(status))
		return
	}
	if want != "" && !hasStatusPrefix(status[0].value(), want) {
		t.Errorf("%s as %s: X-SMIME-Status: %s, want %s...", m.name, user, status[0].value(),
			want)
	}
	if !hasStatusPrefix(want, "decrypted") {
		return
	}
	if _, innerBody := splitMessage(m.inner); string(body) != string(innerBody) {
		t.Errorf("%s as %s: body %q, want %q", m.name, user, body, innerBody)
	}
}

// logUIDValidities notes whether the users' INBOXes share a UIDVALIDITY,
// which makes (mailbox, uidvalidity, uid) collide across users.
func logUIDValidities(t *testing.T, f *fixture) {
	t.Helper()
	for _, user := range []string{userAlice, userBob, userCarol} {
		c := login(t, f.dv.imapAddr, user, nil)
		data, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: INBOX UIDVALIDITY %d, %d messages", user, data.UIDValidity,
			data.NumMessages)
		c.Close()
	}
}
