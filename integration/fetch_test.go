package integration

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

const referenceMailbox = "Reference"

// metadataItems is what clients such as Thunderbird ask first, before any
// body: the proxy must already answer it for the decrypted message.
func metadataItems() *imap.FetchOptions {
	return &imap.FetchOptions{
		UID:           true,
		RFC822Size:    true,
		Envelope:      true,
		BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
	}
}

// bodyItems are the body fetch items compared between proxy and Dovecot.
func bodyItems(multipart bool) *imap.FetchOptions {
	sections := []*imap.FetchItemBodySection{
		{},
		{Specifier: imap.PartSpecifierHeader},
		{Specifier: imap.PartSpecifierText},
		{Specifier: imap.PartSpecifierHeader,
			HeaderFields: []string{"Subject", "From", "Content-Type", "X-SMIME-Status"}},
		{Specifier: imap.PartSpecifierHeader, HeaderFieldsNot: []string{"Content-Type"}},
		{Partial: &imap.SectionPartial{Offset: 0, Size: 64}},
		{Partial: &imap.SectionPartial{Offset: 17, Size: 100}},
		{Specifier: imap.PartSpecifierText, Partial: &imap.SectionPartial{Offset: 3, Size: 7}},
		{Part: []int{1}},
	}
	if multipart {
		sections = append(sections,
			&imap.FetchItemBodySection{Part: []int{1}, Specifier: imap.PartSpecifierMIME},
			&imap.FetchItemBodySection{Part: []int{2}},
			&imap.FetchItemBodySection{Part: []int{2}, Specifier: imap.PartSpecifierMIME})
	}
	for _, s := range sections {
		s.Peek = true
	}
	return &imap.FetchOptions{UID: true, BodySection: sections}
}

// plainStructureItems asks for BODY (the non-extensible BODYSTRUCTURE).
func plainStructureItems() *imap.FetchOptions {
	return &imap.FetchOptions{UID: true, BodyStructure: &imap.FetchItemBodyStructure{}}
}

// binaryItems asks for BINARY (RFC 3516) of part 1 or 2 (multipart).
func binaryItems(multipart bool) *imap.FetchOptions {
	part := []int{1}
	if multipart {
		part = []int{2}
	}
	return &imap.FetchOptions{
		UID:               true,
		BinarySection:     []*imap.FetchItemBinarySection{{Part: part, Peek: true}},
		BinarySectionSize: []*imap.FetchItemBinarySectionSize{{Part: part}},
	}
}

// sameFetch reports every difference between two answers to the same items.
func sameFetch(opts *imap.FetchOptions, got, want *imapclient.FetchMessageBuffer) []string {
	var diffs []string
	if opts.RFC822Size && got.RFC822Size != want.RFC822Size {
		diffs = append(diffs, fmt.Sprintf("RFC822.SIZE %d, want %d", got.RFC822Size,
			want.RFC822Size))
	}
	if opts.Envelope && !reflect.DeepEqual(got.Envelope, want.Envelope) {
		diffs = append(diffs, fmt.Sprintf("ENVELOPE\n  %+v\nwant\n  %+v", got.Envelope,
			want.Envelope))
	}
	if opts.BodyStructure != nil && !reflect.DeepEqual(got.BodyStructure, want.BodyStructure) {
		diffs = append(diffs, fmt.Sprintf("BODYSTRUCTURE\n  %s\nwant\n  %s",
			describe(got.BodyStructure), describe(want.BodyStructure)))
	}
	for _, s := range opts.BodySection {
		g, w := got.FindBodySection(s), want.FindBodySection(s)
		if g == nil || !bytes.Equal(g, w) {
			diffs = append(diffs, fmt.Sprintf("%s:\n  %q\nwant\n  %q", sectionName(s), g, w))
		}
	}
	for _, s := range opts.BinarySection {
		g, w := got.FindBinarySection(s), want.FindBinarySection(s)
		if g == nil || !bytes.Equal(g, w) {
			diffs = append(diffs, fmt.Sprintf("BINARY%v:\n  %q\nwant\n  %q", s.Part, g, w))
		}
	}
	for _, s := range opts.BinarySectionSize {
		g, gok := got.FindBinarySectionSize(s.Part)
		w, _ := want.FindBinarySectionSize(s.Part)
		if !gok || g != w {
			diffs = append(diffs, fmt.Sprintf("BINARY.SIZE%v %d, want %d", s.Part, g, w))
		}
	}
	return diffs
}

func describe(bs imap.BodyStructure) string {
	switch bs := bs.(type) {
	case *imap.BodyStructureSinglePart:
		return fmt.Sprintf("%+v ext=%+v", *bs, bs.Extended)
	case *imap.BodyStructureMultiPart:
		var parts []string
		for _, c := range bs.Children {
			parts = append(parts, describe(c))
		}
		return fmt.Sprintf("multipart/%s %v ext=%+v", bs.Subtype, parts, bs.Extended)
	}
	return fmt.Sprintf("%#v", bs)
}

func sectionName(s *imap.FetchItemBodySection) string {
	name := fmt.Sprintf("BODY[%v %s", s.Part, s.Specifier)
	if len(s.HeaderFields) > 0 {
		name += fmt.Sprintf(".FIELDS %v", s.HeaderFields)
	}
	if len(s.HeaderFieldsNot) > 0 {
		name += fmt.Sprintf(".FIELDS.NOT %v", s.HeaderFieldsNot)
	}
	name += "]"
	if s.Partial != nil {
		name += fmt.Sprintf("<%d.%d>", s.Partial.Offset, s.Partial.Size)
	}
	return name
}

// fetchSession is one test's view of the same user through the proxy and
// straight at Dovecot.
type fetchSession struct {
	proxy      *imapclient.Client
	direct     *imapclient.Client  // INBOX selected
	ref        *imapclient.Client  // referenceMailbox selected
	proxyUIDs  map[string]imap.UID // by Message-ID
	directUIDs map[string]imap.UID
	binary     bool // the proxy offers BINARY
	// metadata is the proxy's first answer to metadataItems, by Message-ID,
	// asked before any body was fetched.
	metadata map[string]*imapclient.FetchMessageBuffer
}

func newFetchSession(t *testing.T, f *fixture) *fetchSession {
	t.Helper()
	s := &fetchSession{
		proxy:  loginInbox(t, f.px.addr, userAlice),
		direct: loginInbox(t, f.dv.imapAddr, userAlice),
	}
	caps := s.proxy.Caps()
	s.binary = caps.Has(imap.CapBinary) || caps.Has(imap.CapIMAP4rev2)
	if err := s.direct.Create(referenceMailbox, nil).Wait(); err != nil {
		t.Fatalf("create %s on Dovecot: %v", referenceMailbox, err)
	}
	s.ref = login(t, f.dv.imapAddr, userAlice, nil)
	if _, err := s.ref.Select(referenceMailbox, nil).Wait(); err != nil {
		t.Fatalf("select %s on Dovecot: %v", referenceMailbox, err)
	}
	s.directUIDs = uidsByMessageID(t, s.direct)
	all := imap.SeqSet{}
	all.AddRange(1, 0)
	msgs, err := s.proxy.Fetch(all, metadataItems()).Collect()
	if err != nil {
		t.Fatalf("proxy: FETCH 1:* (UID RFC822.SIZE ENVELOPE BODYSTRUCTURE): %v", err)
	}
	s.metadata = map[string]*imapclient.FetchMessageBuffer{}
	s.proxyUIDs = map[string]imap.UID{}
	for _, m := range msgs {
		if m.Envelope == nil {
			t.Fatalf("proxy: FETCH %d: no ENVELOPE", m.SeqNum)
		}
		s.metadata[m.Envelope.MessageID] = m
		s.proxyUIDs[m.Envelope.MessageID] = m.UID
	}
	if len(msgs) != len(env.corpus.messages) {
		t.Fatalf("proxy lists %d messages, Dovecot has %d", len(msgs), len(env.corpus.messages))
	}
	return s
}

// reference stores msg on Dovecot, so that Dovecot's answers about it are
// what the proxy must answer about the decrypted message.
func (s *fetchSession) reference(t *testing.T, msg []byte) imap.UID {
	t.Helper()
	cmd := s.ref.Append(referenceMailbox, int64(len(msg)), nil)
	if _, err := cmd.Write(msg); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := cmd.Wait()
	if err != nil {
		t.Fatalf("APPEND reference: %v", err)
	}
	if data.UID == 0 {
		t.Fatal("APPEND reference: Dovecot sent no APPENDUID")
	}
	return data.UID
}

// compare fetches the same items from the proxy (proxyUID in INBOX) and
// from Dovecot (directUID in the mailbox selected on direct).
func (s *fetchSession) compare(t *testing.T, direct *imapclient.Client,
	proxyUID, directUID imap.UID, multipart bool) {
	t.Helper()
	sets := []*imap.FetchOptions{metadataItems(), bodyItems(multipart), plainStructureItems()}
	if s.binary {
		sets = append(sets, binaryItems(multipart))
	}
	for _, opts := range sets {
		got := fetchUID(t, s.proxy, proxyUID, opts)
		want := fetchUID(t, direct, directUID, opts)
		for _, d := range sameFetch(opts, got, want) {
			t.Errorf("proxy UID %d vs Dovecot UID %d: %s", proxyUID, directUID, d)
		}
	}
}
