package integration

import (
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// imapError extracts the server's tagged NO/BAD from a command error.
func imapError(t *testing.T, what string, err error) *imap.Error {
	t.Helper()
	var ie *imap.Error
	if !errors.As(err, &ie) {
		t.Fatalf("%s: %v, want a tagged NO from the server", what, err)
	}
	return ie
}

// TestLoginFailureRelayed: a wrong password gets the upstream's own NO,
// response code and text, not one the proxy makes up; the client may then
// retry on the same connection.
func TestLoginFailureRelayed(t *testing.T) {
	f := newFixture(t, proxyOptions{})
	cases := []struct{ name, user, password string }{
		{"wrong password", userAlice, "not-alices-password"},
		{"unknown user", "nobody@example.org", "whatever"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			direct := dialPlain(t, f.dv.imapAddr, nil)
			want := imapError(t, "Dovecot", direct.Login(tc.user, tc.password).Wait())
			c := dialPlain(t, f.px.addr, nil)
			got := imapError(t, "proxy", c.Login(tc.user, tc.password).Wait())
			if got.Type != want.Type || got.Code != want.Code || got.Text != want.Text {
				t.Errorf("proxy answered %s [%s] %q, Dovecot answers %s [%s] %q",
					got.Type, got.Code, got.Text, want.Type, want.Code, want.Text)
			}
			if err := c.Login(userAlice, testUsers[userAlice]).Wait(); err != nil {
				t.Errorf("LOGIN after a failed one: %v", err)
			}
			if _, err := c.Select("INBOX", nil).Wait(); err != nil {
				t.Errorf("SELECT after the retried LOGIN: %v", err)
			}
		})
	}
}

// TestAuthenticatePlain: SASL PLAIN (RFC 4616) is relayed like LOGIN.
func TestAuthenticatePlain(t *testing.T) {
	f := newFixture(t, proxyOptions{})
	c := dialPlain(t, f.px.addr, nil)
	bad := sasl.NewPlainClient("", userAlice, "not-alices-password")
	imapError(t, "AUTHENTICATE PLAIN with a wrong password", c.Authenticate(bad))
	good := sasl.NewPlainClient("", userAlice, testUsers[userAlice])
	if err := c.Authenticate(good); err != nil {
		t.Fatalf("AUTHENTICATE PLAIN: %v", err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatalf("SELECT: %v", err)
	}
	checkDecrypts(t, c, "enc-aes128")
}

// TestPlaintextLoginRefused: with allow_insecure_auth = false the proxy
// advertises LOGINDISABLED, refuses LOGIN and AUTHENTICATE before TLS
// (RFC 9051 section 6.2.3), and lets the same user in after STARTTLS or
// on the implicit TLS port.
func TestPlaintextLoginRefused(t *testing.T) {
	f := newFixture(t, proxyOptions{strictAuth: true})
	c := dialPlain(t, f.px.addr, nil)
	caps := c.Caps()
	if !caps.Has(imap.CapLoginDisabled) || !caps.Has(imap.CapStartTLS) {
		t.Errorf("capabilities before TLS %v, want LOGINDISABLED and STARTTLS", caps)
	}
	if err := c.Login(userAlice, testUsers[userAlice]).Wait(); err == nil {
		t.Error("LOGIN accepted on a plaintext connection")
	}
	plain := sasl.NewPlainClient("", userAlice, testUsers[userAlice])
	if err := c.Authenticate(plain); err == nil {
		t.Error("AUTHENTICATE PLAIN accepted on a plaintext connection")
	}
	if strings.Contains(readFile(f.dv.logPath), "Login: user=<"+userAlice) {
		t.Error("the refused login was passed on to Dovecot")
	}

	t.Run("STARTTLS", func(t *testing.T) {
		c, err := imapclient.DialStartTLS(f.px.addr, &imapclient.Options{TLSConfig: clientTLS(t)})
		if err != nil {
			t.Fatalf("STARTTLS: %v", err)
		}
		defer c.Close()
		loginAndRead(t, c)
	})
	t.Run("implicit TLS", func(t *testing.T) {
		c, err := imapclient.DialTLS(f.px.tlsAddr, &imapclient.Options{TLSConfig: clientTLS(t)})
		if err != nil {
			t.Fatalf("TLS: %v", err)
		}
		defer c.Close()
		loginAndRead(t, c)
	})
}

func loginAndRead(t *testing.T, c *imapclient.Client) {
	t.Helper()
	if c.Caps().Has(imap.CapLoginDisabled) {
		t.Error("LOGINDISABLED still advertised on a TLS connection")
	}
	if err := c.Login(userAlice, testUsers[userAlice]).Wait(); err != nil {
		t.Fatalf("LOGIN over TLS: %v", err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatalf("SELECT: %v", err)
	}
	checkDecrypts(t, c, "enc-aes256gcm")
}

// checkDecrypts fetches corpus message name and checks its decrypted text.
func checkDecrypts(t *testing.T, c *imapclient.Client, name string) {
	t.Helper()
	m := env.corpus.get(name)
	uid, ok := uidsByMessageID(t, c)[m.messageID()]
	if !ok {
		t.Fatalf("%s not in INBOX", name)
	}
	_, want := splitMessage(m.inner)
	text := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierText, Peek: true}
	got := fetchUID(t, c, uid, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{text}})
	if b := got.FindBodySection(text); string(b) != string(want) {
		t.Errorf("%s: BODY[TEXT] %q, want %q", name, b, want)
	}
}
