package integration

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// unilateral collects what the server sends without being asked.
type unilateral struct {
	exists   chan uint32
	expunged chan uint32
	flags    chan []imap.Flag
}

func newUnilateral() (*unilateral, *imapclient.Options) {
	u := &unilateral{
		exists:   make(chan uint32, 16),
		expunged: make(chan uint32, 16),
		flags:    make(chan []imap.Flag, 16),
	}
	h := &imapclient.UnilateralDataHandler{
		Mailbox: func(data *imapclient.UnilateralDataMailbox) {
			if data.NumMessages != nil {
				u.exists <- *data.NumMessages
			}
		},
		Expunge: func(seq uint32) { u.expunged <- seq },
		Fetch: func(msg *imapclient.FetchMessageData) {
			if buf, err := msg.Collect(); err == nil && buf.Flags != nil {
				u.flags <- buf.Flags
			}
		},
	}
	return u, &imapclient.Options{UnilateralDataHandler: h}
}

// TestIdle: a client idling through the proxy hears of mail delivered to
// Dovecot meanwhile (EXISTS), of another session's flag change (FETCH
// FLAGS) and expunge (EXPUNGE), RFC 2177; the new message reads decrypted.
func TestIdle(t *testing.T) {
	f := newFixture(t, proxyOptions{})
	u, opts := newUnilateral()
	p := login(t, f.px.addr, userAlice, opts)
	sel, err := p.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatalf("SELECT: %v", err)
	}
	n := sel.NumMessages
	idle, err := p.Idle()
	if err != nil {
		t.Fatalf("IDLE: %v", err)
	}

	m := env.corpus.get("enc-aes128gcm")
	fresh := bytes.Replace(m.raw, []byte("<enc-aes128gcm@"), []byte("<idle-new@"), 1)
	f.dv.deliver(t, userAlice, fresh)
	if !waitValue(u.exists, n+1, 15*time.Second) {
		t.Fatalf("no EXISTS %d through the proxy within 15s of the delivery", n+1)
	}

	d := loginInbox(t, f.dv.imapAddr, userAlice)
	flag := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}
	mustOK(t, "STORE on Dovecot", d.Store(imap.SeqSetNum(1), flag, nil).Close())
	if !waitFlags(u.flags, imap.FlagFlagged, 15*time.Second) {
		t.Error("no FETCH (FLAGS (\\Flagged)) through the proxy after another session's STORE")
	}
	deleted := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}
	mustOK(t, "STORE on Dovecot", d.Store(imap.SeqSetNum(2), deleted, nil).Close())
	mustOK(t, "EXPUNGE on Dovecot", d.Expunge().Close())
	if !waitValue(u.expunged, 2, 15*time.Second) {
		t.Error("no EXPUNGE 2 through the proxy after another session's EXPUNGE")
	}

	if err := idle.Close(); err != nil {
		t.Fatalf("DONE: %v", err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatalf("IDLE: %v", err)
	}
	uid, ok := uidsByMessageID(t, p)["idle-new@test.smimeproxy.invalid"]
	if !ok {
		t.Fatal("the new message is not listed through the proxy")
	}
	_, body := splitMessage(wholeBody(t, p, uid))
	if want := "secret text enc-aes128gcm\r\n"; string(body) != want {
		t.Errorf("the new message through the proxy: body %q, want %q", body, want)
	}
}

func waitValue(ch <-chan uint32, want uint32, timeout time.Duration) bool {
	deadline := time.After(timeout)
	for {
		select {
		case v := <-ch:
			if v == want {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

func waitFlags(ch <-chan []imap.Flag, want imap.Flag, timeout time.Duration) bool {
	deadline := time.After(timeout)
	for {
		select {
		case flags := <-ch:
			if slices.Contains(flags, want) {
				return true
			}
		case <-deadline:
			return false
		}
	}
}
