package integration

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// clientTLS trusts the test CA only.
func clientTLS(tb testing.TB) *tls.Config {
	tb.Helper()
	pem, err := os.ReadFile(env.pki.caCert)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		tb.Fatal("test CA: no certificate")
	}
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

// dialPlain connects without TLS; the connection is closed when the test
// ends. opts may be nil.
func dialPlain(tb testing.TB, addr string, opts *imapclient.Options) *imapclient.Client {
	tb.Helper()
	c, err := imapclient.DialInsecure(addr, opts)
	if err != nil {
		tb.Fatalf("dial %s: %v", addr, err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// login connects to addr without TLS and logs in as user.
func login(tb testing.TB, addr, user string, opts *imapclient.Options) *imapclient.Client {
	tb.Helper()
	c := dialPlain(tb, addr, opts)
	if err := c.Login(user, testUsers[user]).Wait(); err != nil {
		tb.Fatalf("login %s at %s: %v", user, addr, err)
	}
	return c
}

// loginInbox logs in and selects INBOX.
func loginInbox(tb testing.TB, addr, user string) *imapclient.Client {
	tb.Helper()
	c := login(tb, addr, user, nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		tb.Fatalf("select INBOX at %s: %v", addr, err)
	}
	return c
}

// uidsByMessageID maps each Message-ID (without brackets) in the selected
// mailbox to its UID.
func uidsByMessageID(tb testing.TB, c *imapclient.Client) map[string]imap.UID {
	tb.Helper()
	all := imap.SeqSet{}
	all.AddRange(1, 0)
	msgs, err := c.Fetch(all, &imap.FetchOptions{UID: true, Envelope: true}).Collect()
	if err != nil {
		tb.Fatalf("fetch envelopes: %v", err)
	}
	uids := map[string]imap.UID{}
	for _, m := range msgs {
		uids[m.Envelope.MessageID] = m.UID
	}
	return uids
}

// fetchUID runs one UID FETCH and returns its single message.
func fetchUID(tb testing.TB, c *imapclient.Client, uid imap.UID,
	opts *imap.FetchOptions) *imapclient.FetchMessageBuffer {
	tb.Helper()
	msgs, err := c.Fetch(imap.UIDSetNum(uid), opts).Collect()
	if err != nil {
		tb.Fatalf("UID FETCH %d: %v", uid, err)
	}
	if len(msgs) != 1 {
		tb.Fatalf("UID FETCH %d: %d messages in the answer, want 1", uid, len(msgs))
	}
	return msgs[0]
}

// wholeBody fetches BODY.PEEK[] of uid.
func wholeBody(tb testing.TB, c *imapclient.Client, uid imap.UID) []byte {
	tb.Helper()
	section := &imap.FetchItemBodySection{Peek: true}
	opts := &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{section}}
	m := fetchUID(tb, c, uid, opts)
	b := m.FindBodySection(section)
	if b == nil {
		tb.Fatalf("UID FETCH %d BODY.PEEK[]: no body in the answer", uid)
	}
	return b
}
