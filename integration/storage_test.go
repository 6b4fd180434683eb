package integration

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// TestNothingWrittenInClear: reading every message through the proxy (a
// non-PEEK FETCH that sets \Seen on Dovecot, RFC 9051 section 6.4.5) leaves
// the encrypted originals in the Maildir, and no decrypted text, message
// content or password anywhere on disk: not in Dovecot's files, not in the
// proxy's vault or log.
func TestNothingWrittenInClear(t *testing.T) {
	f := newFixture(t, proxyOptions{})
	p := loginInbox(t, f.px.addr, userAlice)
	all := imap.SeqSet{}
	all.AddRange(1, 0)
	body := &imap.FetchItemBodySection{} // not PEEK
	msgs, err := p.Fetch(all, &imap.FetchOptions{UID: true,
		BodySection: []*imap.FetchItemBodySection{body}}).Collect()
	if err != nil {
		t.Fatalf("FETCH 1:* BODY[]: %v", err)
	}
	decrypted := 0
	for _, m := range msgs {
		if bytes.Contains(m.FindBodySection(body), []byte("secret text")) {
			decrypted++
		}
	}
	if decrypted == 0 {
		t.Fatal("no message read decrypted through the proxy; nothing to check")
	}

	d := loginInbox(t, f.dv.imapAddr, userAlice)
	for _, m := range msgs {
		if flags := flagsOf(t, d, m.UID); !slices.Contains(flags, imap.FlagSeen) {
			t.Errorf("UID %d: Dovecot's flags %v after FETCH BODY[], want \\Seen", m.UID, flags)
		}
	}

	checkMaildirOriginals(t, f)
	for _, dir := range []string{f.dv.dir, f.px.dir} {
		for _, secret := range secrets() {
			if path := fileContaining(t, dir, secret); path != "" {
				t.Errorf("%s contains %q", path, secret)
			}
		}
	}
}

// secrets are strings that must never reach a disk: decrypted text, the
// users' passwords and the PKCS#12 password.
func secrets() [][]byte {
	s := [][]byte{[]byte("secret text"), []byte("secret first part"),
		[]byte("test-p12-secret")}
	for _, pw := range testUsers {
		s = append(s, []byte(pw))
	}
	return s
}

// checkMaildirOriginals: the Maildir holds exactly the delivered bytes.
func checkMaildirOriginals(t *testing.T, f *fixture) {
	t.Helper()
	files := f.dv.maildirFiles(t, userAlice)
	if len(files) != len(env.corpus.messages) {
		t.Errorf("%d files in the Maildir, delivered %d", len(files), len(env.corpus.messages))
	}
	for _, m := range env.corpus.messages {
		if !slices.ContainsFunc(files, func(b []byte) bool { return bytes.Equal(b, m.raw) }) {
			t.Errorf("%s: the delivered bytes are no longer in the Maildir", m.name)
		}
	}
}

// fileContaining returns a file below dir that contains s, or "". The
// Dovecot passwd-file is the one place a password is meant to be.
func fileContaining(t *testing.T, dir string, s []byte) string {
	t.Helper()
	found := ""
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || found != "" || e.Name() == "passwd" {
			return err
		}
		if !e.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, s) {
			found = path
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}
