package imapproxy

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"
)

// writeRelayed answers the client's items from upstream's response, in the
// client's own terms: each body section is written under the section the
// client asked for, so obsolete names such as RFC822.TEXT survive.
func writeRelayed(w *imapserver.FetchWriter, buf *imapclient.FetchMessageBuffer, options *imap.FetchOptions) error {
	rw := w.CreateMessage(buf.SeqNum)
	writeCommonItems(rw, buf, options)
	if options.RFC822Size {
		rw.WriteRFC822Size(buf.RFC822Size)
	}
	if options.Envelope && buf.Envelope != nil {
		rw.WriteEnvelope(reencodeEnvelope(buf.Envelope))
	}
	if options.BodyStructure != nil && buf.BodyStructure != nil {
		rw.WriteBodyStructure(buf.BodyStructure)
	}
	for _, section := range options.BodySection {
		data := buf.FindBodySection(section)
		if err := writeBytes(rw.WriteBodySection(section, int64(len(data))), data); err != nil {
			return err
		}
	}
	for _, section := range options.BinarySection {
		data := buf.FindBinarySection(section)
		if err := writeBytes(rw.WriteBinarySection(section, int64(len(data))), data); err != nil {
			return err
		}
	}
	for _, item := range options.BinarySectionSize {
		if size, ok := buf.FindBinarySectionSize(item.Part); ok {
			rw.WriteBinarySectionSize(item, size)
		}
	}
	return rw.Close()
}

// writeTransformed answers every item from msg, the message as the client
// is to see it, so that sizes, structure and sections agree with each
// other whatever the client asks for.
func writeTransformed(w *imapserver.FetchWriter, meta *imapclient.FetchMessageBuffer, msg []byte, options *imap.FetchOptions) error {
	rw := w.CreateMessage(meta.SeqNum)
	writeCommonItems(rw, meta, options)
	if options.RFC822Size {
		rw.WriteRFC822Size(int64(len(msg)))
	}
	if options.Envelope {
		rw.WriteEnvelope(extractEnvelope(msg))
	}
	if options.BodyStructure != nil {
		rw.WriteBodyStructure(imapserver.ExtractBodyStructure(bytes.NewReader(msg)))
	}
	for _, section := range options.BodySection {
		data := extractBodySection(msg, section)
		if err := writeBytes(rw.WriteBodySection(section, int64(len(data))), data); err != nil {
			return err
		}
	}
	for _, section := range options.BinarySection {
		data := imapserver.ExtractBinarySection(bytes.NewReader(msg), section)
		if err := writeBytes(rw.WriteBinarySection(section, int64(len(data))), data); err != nil {
			return err
		}
	}
	for _, item := range options.BinarySectionSize {
		rw.WriteBinarySectionSize(item, imapserver.ExtractBinarySectionSize(bytes.NewReader(msg), item))
	}
	return rw.Close()
}

// writeCommonItems writes what never depends on content. FLAGS are written
// whenever upstream sent them, requested or not: a non-peek body fetch sets
// \Seen and the server reports the change (RFC 3501 section 6.4.5).
func writeCommonItems(rw *imapserver.FetchResponseWriter, buf *imapclient.FetchMessageBuffer, options *imap.FetchOptions) {
	if options.UID && buf.UID != 0 {
		rw.WriteUID(buf.UID)
	}
	if buf.Flags != nil || options.Flags {
		rw.WriteFlags(buf.Flags)
	}
	if options.InternalDate && !buf.InternalDate.IsZero() {
		rw.WriteInternalDate(buf.InternalDate)
	}
}

func writeBytes(wc io.WriteCloser, data []byte) error {
	_, writeErr := wc.Write(data)
	closeErr := wc.Close()
	if writeErr != nil {
		return writeErr
	}
	return closeErr
}

// extractBodySection serves the whole message, its header and its text as
// slices of msg, so that BODY[HEADER] and BODY[TEXT] add up to BODY[]
// exactly and BODY[] has RFC822.SIZE bytes. Everything else (parts, header
// field lists) goes through the library's MIME walker.
func extractBodySection(msg []byte, section *imap.FetchItemBodySection) []byte {
	if len(section.Part) > 0 || len(section.HeaderFields) > 0 || len(section.HeaderFieldsNot) > 0 {
		return imapserver.ExtractBodySection(bytes.NewReader(msg), section)
	}
	var data []byte
	headerLen := headerLength(msg)
	switch section.Specifier {
	case imap.PartSpecifierNone:
		data = msg
	case imap.PartSpecifierHeader:
		data = msg[:headerLen]
	case imap.PartSpecifierText:
		data = msg[headerLen:]
	default:
		return imapserver.ExtractBodySection(bytes.NewReader(msg), section)
	}
	return partial(data, section.Partial)
}

// headerLength returns the length of the header block including the blank
// line that ends it; a message without a body is all header.
func headerLength(msg []byte) int {
	if bytes.HasPrefix(msg, []byte("\r\n")) {
		return 2
	}
	if bytes.HasPrefix(msg, []byte("\n")) {
		return 1
	}
	if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		return i + 4
	}
	if i := bytes.Index(msg, []byte("\n\n")); i >= 0 {
		return i + 2
	}
	return len(msg)
}

// partial applies <offset.size> (RFC 3501 section 6.4.5): an offset past
// the end gives an empty string, a size past the end is cut short.
func partial(data []byte, p *imap.SectionPartial) []byte {
	if p == nil {
		return data
	}
	if p.Offset >= int64(len(data)) {
		return nil
	}
	data = data[p.Offset:]
	if p.Size >= 0 && p.Size < int64(len(data)) {
		data = data[:p.Size]
	}
	return data
}

// extractEnvelope computes ENVELOPE the way RFC 3501 section 7.4.2 has
// the server do it: the subject as written (encoded words stay encoded),
// and Sender and Reply-To defaulting to From when absent.
func extractEnvelope(msg []byte) *imap.Envelope {
	header, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(msg[:headerLength(msg)])))
	if err != nil {
		return &imap.Envelope{}
	}
	env := reencodeEnvelope(imapserver.ExtractEnvelope(header))
	env.Subject = header.Get("Subject")
	if len(env.Sender) == 0 {
		env.Sender = env.From
	}
	if len(env.ReplyTo) == 0 {
		env.ReplyTo = env.From
	}
	return env
}

// reencodeEnvelope turns decoded non-ASCII text back into RFC 2047 encoded
// words. Both IMAP libraries decode them, and an IMAP4rev1 client that did
// not enable UTF8=ACCEPT expects the envelope in ASCII as the server wrote it.
func reencodeEnvelope(env *imap.Envelope) *imap.Envelope {
	out := *env
	out.Subject = encodeWord(env.Subject)
	for _, list := range []*[]imap.Address{&out.From, &out.Sender, &out.ReplyTo, &out.To, &out.Cc, &out.Bcc} {
		addrs := make([]imap.Address, len(*list))
		for i, addr := range *list {
			addr.Name = encodeWord(addr.Name)
			addrs[i] = addr
		}
		*list = addrs
	}
	return &out
}

func encodeWord(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return mime.QEncoding.Encode("utf-8", s)
		}
	}
	return s
}
