package imapproxy

import (
	"context"
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/smimeproxy/smimeproxy/proxy/pipeline"
)

// Fetch answers FETCH and UID FETCH (RFC 3501 section 6.4.5).
//
// Items that do not depend on the message's content (FLAGS, UID,
// INTERNALDATE) are relayed as they come. When the client asks for content
// or anything derived from it (body sections, BINARY, BODYSTRUCTURE,
// ENVELOPE, RFC822.SIZE), the same upstream FETCH also asks for the few
// header fields the pipeline needs to classify the message, unless the
// client's own items already bring the whole header. Messages that
// need no change are then relayed byte for byte; the others are
// transformed once and every item is answered from the result.
func (sess *session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) (err error) {
	sess.commandSincePoll = true
	defer sess.timeUpstream("FETCH").report(&err)
	if !wantsContent(options) {
		return sess.fetchRelayed(w, numSet, options)
	}
	return sess.fetchThroughPipeline(w, numSet, options)
}

func wantsContent(options *imap.FetchOptions) bool {
	return len(options.BodySection) > 0 || len(options.BinarySection) > 0 ||
		len(options.BinarySectionSize) > 0 || options.BodyStructure != nil ||
		options.Envelope || options.RFC822Size
}

// fetchRelayed relays a FETCH that touches no message content.
func (sess *session) fetchRelayed(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	cmd := sess.upstream.Fetch(numSet, options)
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		buf, err := collect(msg)
		if err != nil {
			cmd.Close()
			return sess.relayError("FETCH", err)
		}
		if err := writeRelayed(w, buf, options); err != nil {
			cmd.Close()
			return err
		}
	}
	return sess.relayError("FETCH", cmd.Close())
}

// pendingMessage is a message whose original must be fetched whole before
// the client can be answered; only what identifies it is kept meanwhile.
type pendingMessage struct {
	meta *imapclient.FetchMessageBuffer
}

func (sess *session) fetchThroughPipeline(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	upOptions := *options
	upOptions.UID = true
	headerSource := fullHeaderSection(options)
	if headerSource == nil {
		// Nothing the client asked for holds the whole header: ask for the
		// few fields the pipeline classifies by.
		headerSource = &imap.FetchItemBodySection{
			Specifier:    imap.PartSpecifierHeader,
			HeaderFields: pipeline.HeaderFields,
			Peek:         true,
		}
		upOptions.BodySection = append(slices.Clone(options.BodySection), headerSource)
	}
	whole := &imap.FetchItemBodySection{}

	p := sess.srv.opts.Pipeline
	var pending []pendingMessage
	var multiparts []*imapclient.FetchMessageBuffer // may hold attached envelopes
	cmd := sess.upstream.Fetch(numSet, &upOptions)
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		buf, err := collect(msg)
		if err != nil {
			cmd.Close()
			return sess.relayError("FETCH", err)
		}
		header := buf.FindBodySection(headerSource)
		header = header[:headerLength(header)]
		needs, scan := p.Triage(header)
		raw := buf.FindBodySection(whole)
		switch {
		case !needs && !scan:
			err = sess.relay(w, buf, options)
		case needs && raw != nil:
			// The client asked for the whole message (no partial: that would
			// not match): upstream already sent the original.
			err = sess.transformAndWrite(w, buf, raw, options)
		case needs:
			pending, err = sess.addPending(w, pending, buf, options)
		case raw != nil && p.NeedsTransformBody(raw):
			err = sess.transformAndWrite(w, buf, raw, options)
		case raw != nil:
			err = sess.relay(w, buf, options)
		default:
			multiparts = append(multiparts, buf)
		}
		if err != nil {
			cmd.Close()
			return err
		}
	}
	if err := cmd.Close(); err != nil {
		return sess.relayError("FETCH", err)
	}
	pending, err := sess.sortMultiparts(w, multiparts, pending, options)
	if err != nil {
		return err
	}
	return sess.fetchOriginals(w, pending, options)
}

// relay writes a message that needs no change and recycles its buffers.
func (sess *session) relay(w *imapserver.FetchWriter, buf *imapclient.FetchMessageBuffer,
	options *imap.FetchOptions) error {
	err := writeRelayed(w, buf, options)
	recycle(buf)
	return err
}

// addPending answers a message that must be transformed from the cache,
// or queues it to be fetched whole.
func (sess *session) addPending(w *imapserver.FetchWriter, pending []pendingMessage,
	buf *imapclient.FetchMessageBuffer, options *imap.FetchOptions) ([]pendingMessage, error) {
	if out, ok := sess.cachedOutput(buf.UID); ok {
		return pending, writeTransformed(w, buf, out.Message, options)
	}
	buf.BodySection = nil
	return append(pending, pendingMessage{meta: buf}), nil
}

// fullHeaderSection returns a section among those the client asked for that
// brings the message's whole header (BODY[] or BODY[HEADER], without a
// partial range), so that classifying costs no extra upstream work.
func fullHeaderSection(options *imap.FetchOptions) *imap.FetchItemBodySection {
	for _, section := range options.BodySection {
		if len(section.Part) > 0 || section.Partial != nil || len(section.HeaderFields) > 0 ||
			len(section.HeaderFieldsNot) > 0 {
			continue
		}
		if section.Specifier == imap.PartSpecifierNone || section.Specifier == imap.PartSpecifierHeader {
			return section
		}
	}
	return nil
}

// fetchOriginals fetches whole the messages that need transforming, one
// upstream command for all of them, handling each as it arrives so that
// only one original is held in memory at a time.
func (sess *session) fetchOriginals(w *imapserver.FetchWriter, pending []pendingMessage, options *imap.FetchOptions) error {
	if len(pending) == 0 {
		return nil
	}
	byUID := make(map[imap.UID]*imapclient.FetchMessageBuffer, len(pending))
	var uids imap.UIDSet
	for _, p := range pending {
		byUID[p.meta.UID] = p.meta
		uids.AddNum(p.meta.UID)
	}

	whole := &imap.FetchItemBodySection{Peek: true}
	cmd := sess.upstream.Fetch(uids, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{whole}})
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		buf, err := collect(msg)
		if err != nil {
			cmd.Close()
			return sess.relayError("FETCH", err)
		}
		meta, ok := byUID[buf.UID]
		if !ok {
			continue
		}
		if err := sess.transformAndWrite(w, meta, buf.FindBodySection(whole), options); err != nil {
			cmd.Close()
			return err
		}
	}
	return sess.relayError("FETCH", cmd.Close())
}

func (sess *session) messageRef(uid imap.UID) pipeline.MessageRef {
	keyset, _ := sess.keys.KeySetID(context.Background()) // on error: temporary-error, uncached
	return pipeline.MessageRef{
		KeySet:      keyset,
		User:        sess.user,
		Mailbox:     sess.mailbox,
		UIDValidity: sess.uidValidity,
		UID:         uint32(uid),
	}
}

func (sess *session) cachedOutput(uid imap.UID) (*pipeline.Output, bool) {
	if uid == 0 || sess.uidValidity == 0 {
		return nil, false
	}
	return sess.srv.opts.Pipeline.Cached(sess.messageRef(uid))
}

func (sess *session) transformAndWrite(w *imapserver.FetchWriter, meta *imapclient.FetchMessageBuffer, raw []byte, options *imap.FetchOptions) error {
	ctx := context.Background()
	out := sess.srv.opts.Pipeline.Transform(ctx, sess.messageRef(meta.UID), sess.keys, raw)
	// The original is no longer needed: let the collector have it while
	// the transformed message is written to a possibly slow client.
	meta.BodySection = nil
	sess.log.Debug("message transformed", "uid", meta.UID, "changed", out.Changed, "size", len(out.Message))
	return writeTransformed(w, meta, out.Message, options)
}
