package integration

import (
	"bytes"
	"reflect"
	"slices"
	"sort"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// TestMailboxCommands: mailbox-level commands through the proxy change
// Dovecot, and read the same as straight from Dovecot.
func TestMailboxCommands(t *testing.T) {
	f := newFixture(t, proxyOptions{})
	p := login(t, f.px.addr, userAlice, nil)
	d := login(t, f.dv.imapAddr, userAlice, nil)

	gotNS, err := p.Namespace().Wait()
	if err != nil {
		t.Fatalf("NAMESPACE: %v", err)
	}
	wantNS, _ := d.Namespace().Wait()
	if !reflect.DeepEqual(gotNS, wantNS) {
		t.Errorf("NAMESPACE %+v, Dovecot %+v", gotNS, wantNS)
	}

	mustOK(t, "CREATE Projects", p.Create("Projects", nil).Wait())
	if got, want := listNames(t, p, nil), listNames(t, d, nil); !slices.Equal(got, want) {
		t.Errorf("LIST through the proxy %v, Dovecot %v", got, want)
	}
	mustOK(t, "SUBSCRIBE Projects", p.Subscribe("Projects").Wait())
	subscribed := &imap.ListOptions{SelectSubscribed: true}
	if got := listNames(t, d, subscribed); !slices.Contains(got, "Projects") {
		t.Errorf("Dovecot's subscriptions after SUBSCRIBE: %v", got)
	}
	mustOK(t, "RENAME", p.Rename("Projects", "Archive-2026", nil).Wait())
	got := listNames(t, d, nil)
	if slices.Contains(got, "Projects") || !slices.Contains(got, "Archive-2026") {
		t.Errorf("Dovecot's mailboxes after RENAME Projects Archive-2026: %v", got)
	}
	mustOK(t, "UNSUBSCRIBE", p.Unsubscribe("Archive-2026").Wait())
	mustOK(t, "DELETE", p.Delete("Archive-2026").Wait())
	if got := listNames(t, d, nil); slices.Contains(got, "Archive-2026") {
		t.Errorf("Dovecot's mailboxes after DELETE: %v", got)
	}

	checkStatusAndSelect(t, p, d)
}

func checkStatusAndSelect(t *testing.T, p, d *imapclient.Client) {
	t.Helper()
	opts := &imap.StatusOptions{NumMessages: true, UIDNext: true, UIDValidity: true,
		NumUnseen: true}
	gotStatus, err := p.Status("INBOX", opts).Wait()
	if err != nil {
		t.Fatalf("STATUS: %v", err)
	}
	wantStatus, _ := d.Status("INBOX", opts).Wait()
	if !reflect.DeepEqual(gotStatus, wantStatus) {
		t.Errorf("STATUS INBOX %+v, Dovecot %+v", gotStatus, wantStatus)
	}
	for _, readOnly := range []bool{false, true} {
		sel := &imap.SelectOptions{ReadOnly: readOnly}
		got, err := p.Select("INBOX", sel).Wait()
		if err != nil {
			t.Fatalf("SELECT/EXAMINE: %v", err)
		}
		want, _ := d.Select("INBOX", sel).Wait()
		if got.NumMessages != want.NumMessages || got.UIDValidity != want.UIDValidity ||
			got.UIDNext != want.UIDNext {
			t.Errorf("SELECT (read-only %t) %+v, Dovecot %+v", readOnly, got, want)
		}
		mustOK(t, "UNSELECT", p.Unselect().Wait())
	}
}

func mustOK(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func listNames(t *testing.T, c *imapclient.Client, opts *imap.ListOptions) []string {
	t.Helper()
	list, err := c.List("", "*", opts).Collect()
	if err != nil {
		t.Fatalf("LIST: %v", err)
	}
	var names []string
	for _, l := range list {
		names = append(names, l.Mailbox)
	}
	sort.Strings(names)
	return names
}

// TestMessageCommands: SEARCH, STORE, COPY, MOVE, EXPUNGE and APPEND
// through the proxy act on Dovecot; copies keep the encrypted original.
func TestMessageCommands(t *testing.T) {
	f := newFixture(t, proxyOptions{})
	p := loginInbox(t, f.px.addr, userAlice)
	d := loginInbox(t, f.dv.imapAddr, userAlice)
	uids := uidsByMessageID(t, d)
	uid := func(name string) imap.UID { return uids[env.corpus.get(name).messageID()] }

	t.Run("SEARCH", func(t *testing.T) {
		crit := &imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{
			{Key: "Subject", Value: "plain-text"}}}
		got, err := p.UIDSearch(crit, nil).Wait()
		if err != nil {
			t.Fatalf("UID SEARCH: %v", err)
		}
		if want := []imap.UID{uid("plain-text")}; !slices.Equal(got.AllUIDs(), want) {
			t.Errorf("UID SEARCH SUBJECT plain-text: %v, want %v", got.AllUIDs(), want)
		}
		all, err := p.Search(&imap.SearchCriteria{}, nil).Wait()
		if err != nil {
			t.Fatalf("SEARCH ALL: %v", err)
		}
		if n := len(all.AllSeqNums()); n != len(env.corpus.messages) {
			t.Errorf("SEARCH ALL: %d messages, want %d", n, len(env.corpus.messages))
		}
	})
	t.Run("STORE", func(t *testing.T) {
		flagged := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}
		msgs, err := p.Store(imap.UIDSetNum(uid("enc-aes256")), flagged, nil).Collect()
		if err != nil || len(msgs) != 1 || !slices.Contains(msgs[0].Flags, imap.FlagFlagged) {
			t.Errorf("UID STORE +FLAGS (\\Flagged): %v, answer %+v", err, msgs)
		}
		if got := flagsOf(t, d, uid("enc-aes256")); !slices.Contains(got, imap.FlagFlagged) {
			t.Errorf("Dovecot's flags after STORE: %v", got)
		}
	})
	t.Run("COPY", func(t *testing.T) { checkCopy(t, f, p, uid("enc-aes256")) })
	t.Run("MOVE", func(t *testing.T) { checkMove(t, f, p, uid("plain-multipart")) })
	t.Run("EXPUNGE", func(t *testing.T) {
		deleted := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true,
			Flags: []imap.Flag{imap.FlagDeleted}}
		mustOK(t, "STORE \\Deleted", p.Store(imap.UIDSetNum(uid("wrong-user-carol")), deleted,
			nil).Close())
		expunged, err := p.Expunge().Collect()
		if err != nil || len(expunged) != 1 {
			t.Errorf("EXPUNGE: %v, expunged %v, want one message", err, expunged)
		}
		id := env.corpus.get("wrong-user-carol").messageID()
		if _, ok := mailboxIDs(t, f.dv, "INBOX")[id]; ok {
			t.Error("the expunged message is still on Dovecot")
		}
	})
	t.Run("UID EXPUNGE", func(t *testing.T) { checkUIDExpunge(t, f, p, uid("corrupt-truncated")) })
	t.Run("APPEND", func(t *testing.T) { checkAppend(t, f.dv, p, d) })
}

func flagsOf(t *testing.T, c *imapclient.Client, uid imap.UID) []imap.Flag {
	t.Helper()
	return fetchUID(t, c, uid, &imap.FetchOptions{Flags: true}).Flags
}

// checkCopy: COPY stores the encrypted original, never the decrypted view.
func checkCopy(t *testing.T, f *fixture, p *imapclient.Client, uid imap.UID) {
	d := login(t, f.dv.imapAddr, userAlice, nil)
	mustOK(t, "CREATE Copies", d.Create("Copies", nil).Wait())
	if _, err := p.Copy(imap.UIDSetNum(uid), "Copies").Wait(); err != nil {
		t.Fatalf("UID COPY: %v", err)
	}
	if _, err := d.Select("Copies", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	copies := uidsByMessageID(t, d)
	m := env.corpus.get("enc-aes256")
	copied, ok := copies[m.messageID()]
	if len(copies) != 1 || !ok {
		t.Fatalf("Dovecot's Copies after COPY: %v", copies)
	}
	if got := wholeBody(t, d, copied); !bytes.Equal(got, crlf(m.raw)) {
		t.Errorf("the copy on Dovecot is not the encrypted original:\n%s", got)
	}
}

func checkMove(t *testing.T, f *fixture, p *imapclient.Client, uid imap.UID) {
	d := login(t, f.dv.imapAddr, userAlice, nil)
	mustOK(t, "CREATE Moved", d.Create("Moved", nil).Wait())
	before := p.Mailbox().NumMessages
	if _, err := p.Move(imap.UIDSetNum(uid), "Moved").Wait(); err != nil {
		t.Fatalf("UID MOVE: %v", err)
	}
	if after := p.Mailbox().NumMessages; after != before-1 {
		t.Errorf("the proxy client's INBOX has %d messages after MOVE, want %d", after, before-1)
	}
	id := env.corpus.get("plain-multipart").messageID()
	if _, ok := mailboxIDs(t, f.dv, "INBOX")[id]; ok {
		t.Error("the moved message is still in Dovecot's INBOX")
	}
	if _, ok := mailboxIDs(t, f.dv, "Moved")[id]; !ok {
		t.Error("the moved message is not in Dovecot's Moved")
	}
}

func checkUIDExpunge(t *testing.T, f *fixture, p *imapclient.Client, uid imap.UID) {
	if !p.Caps().Has(imap.CapUIDPlus) && !p.Caps().Has(imap.CapIMAP4rev2) {
		t.Fatal("the proxy offers neither UIDPLUS nor IMAP4rev2: no UID EXPUNGE")
	}
	deleted := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true,
		Flags: []imap.Flag{imap.FlagDeleted}}
	mustOK(t, "STORE \\Deleted", p.Store(imap.UIDSetNum(uid), deleted, nil).Close())
	if _, err := p.UIDExpunge(imap.UIDSetNum(uid)).Collect(); err != nil {
		t.Fatalf("UID EXPUNGE: %v", err)
	}
	if _, ok := mailboxIDs(t, f.dv, "INBOX")[env.corpus.get("corrupt-truncated").messageID()]; ok {
		t.Error("the UID EXPUNGEd message is still on Dovecot")
	}
}

// checkAppend: APPEND stores exactly the client's bytes and flags; an
// appended S/MIME message reads decrypted through the proxy.
func checkAppend(t *testing.T, dv *dovecot, p, d *imapclient.Client) {
	plain := []byte("From: alice@example.org\r\nTo: alice@example.org\r\n" +
		"Subject: appended draft\r\nMessage-ID: <appended@test.smimeproxy.invalid>\r\n" +
		"\r\nsaved through the proxy\r\n")
	enc := crlf(env.corpus.get("enc-aes192").raw)
	enc = bytes.Replace(enc, []byte("<enc-aes192@"), []byte("<appended-enc@"), 1)
	for _, msg := range [][]byte{plain, enc} {
		cmd := p.Append("INBOX", int64(len(msg)), &imap.AppendOptions{
			Flags: []imap.Flag{imap.FlagSeen}})
		_, _ = cmd.Write(msg)
		_ = cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			t.Fatalf("APPEND: %v", err)
		}
	}
	uids := mailboxIDs(t, dv, "INBOX")
	stored, ok := uids["appended@test.smimeproxy.invalid"]
	if !ok {
		t.Fatal("the appended message is not on Dovecot")
	}
	mustOK(t, "NOOP", d.Noop().Wait())
	if got := wholeBody(t, d, stored); !bytes.Equal(got, plain) {
		t.Errorf("Dovecot stored %q, APPENDed %q", got, plain)
	}
	if got := flagsOf(t, d, stored); !slices.Contains(got, imap.FlagSeen) {
		t.Errorf("Dovecot's flags of the appended message: %v, want \\Seen", got)
	}
	storedEnc := uids["appended-enc@test.smimeproxy.invalid"]
	if got := wholeBody(t, d, storedEnc); !bytes.Equal(got, enc) {
		t.Error("the appended S/MIME message was not stored as sent")
	}
	encUID := uidsByMessageID(t, p)["appended-enc@test.smimeproxy.invalid"]
	_, body := splitMessage(wholeBody(t, p, encUID))
	if want := "secret text enc-aes192\r\n"; string(body) != want {
		t.Errorf("the appended S/MIME message through the proxy: body %q, want %q", body, want)
	}
}

// mailboxIDs maps Message-IDs to UIDs in a mailbox, as a new Dovecot
// session sees it (an older session learns of expunges only at its next
// command that may send EXPUNGE).
func mailboxIDs(t *testing.T, dv *dovecot, mailbox string) map[string]imap.UID {
	t.Helper()
	c := login(t, dv.imapAddr, userAlice, nil)
	defer c.Close()
	if _, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatalf("EXAMINE %s on Dovecot: %v", mailbox, err)
	}
	return uidsByMessageID(t, c)
}
