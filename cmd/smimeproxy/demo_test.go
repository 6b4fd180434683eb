package main

import (
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/hashicorp/go-hclog"
)

// TestDemoServesDecryptedSamples runs what `make demo` runs and reads the
// samples as a user would.
func TestDemoServesDecryptedSamples(t *testing.T) {
	cfg, token, err := setUpDemo(t.TempDir(), "127.0.0.1:0", "127.0.0.1:0", "error")
	if err != nil {
		t.Fatal(err)
	}
	if len(token) < 32 {
		t.Errorf("dashboard token %q is too short", token)
	}
	vault, err := openVault(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := startProxy(cfg, vault, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()

	c, err := imapclient.DialInsecure(p.addrs[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(demoUser, demoPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	whole := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.SeqSetNum(1, 2, 3, 4, 5), &imap.FetchOptions{
		BodySection: []*imap.FetchItemBodySection{whole},
	}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	bodies := map[uint32]string{}
	for _, m := range msgs {
		bodies[m.SeqNum] = string(m.FindBodySection(whole))
	}
	want := map[uint32][]string{
		1: {"This message was never encrypted."},
		2: {"X-SMIME-Status: decrypted; cipher=aes-256-cbc", "Revenue is up 12%"},
		3: {"X-SMIME-Status: decrypted; cipher=aes-128-gcm", "authenticated encryption works"},
		4: {"X-SMIME-Status: not-decrypted; reason=no-key", "application/pkcs7-mime"},
		5: {"The sender wrote a status header"},
	}
	for seq, parts := range want {
		for _, part := range parts {
			if !strings.Contains(bodies[seq], part) {
				t.Errorf("message %d lacks %q:\n%s", seq, part, bodies[seq])
			}
		}
	}
	if strings.Contains(bodies[5], "X-SMIME-Status") {
		t.Errorf("the forged status header of message 5 reached the client")
	}
}
