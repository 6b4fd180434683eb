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
// header fields the pipeline needs to classify the message. Messages that
// need no change are then relayed byte for byte; the others are
// transformed once and every item is answered from the result.
func (sess *session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	sess.commandSincePoll = true
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
	probe := &imap.FetchItemBodySection{
		Specifier:    imap.PartSpecifierHeader,
		HeaderFields: pipeline.HeaderFields,
		Peek:         true,
	}
	upOptions := *options
	upOptions.UID = true
	upOptions.BodySection = append(slices.Clone(options.BodySection), probe)
	whole := &imap.FetchItemBodySection{}

	var pending []pendingMessage
	cmd := sess.upstream.Fetch(numSet, &upOptions)
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		buf, err := collect(msg)
		if err != nil {
			cmd.Close()
			return sess.relayError("FETCH", err)
		}
		if !sess.srv.opts.Pipeline.NeedsTransform(buf.FindBodySection(probe)) {
			err = writeRelayed(w, buf, options)
		} else if out, ok := sess.cachedOutput(buf.UID); ok {
			err = writeTransformed(w, buf, out.Message, options)
		} else if raw := buf.FindBodySection(whole); raw != nil {
			// The client asked for the whole message (no partial: that would
			// not match): upstream already sent the original.
			err = sess.transformAndWrite(w, buf, raw, options)
		} else {
			buf.BodySection = nil
			pending = append(pending, pendingMessage{meta: buf})
		}
		if err != nil {
			cmd.Close()
			return err
		}
	}
	if err := cmd.Close(); err != nil {
		return sess.relayError("FETCH", err)
	}
	return sess.fetchOriginals(w, pending, options)
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
	return pipeline.MessageRef{
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
	sess.log.Debug("message transformed", "uid", meta.UID, "changed", out.Changed, "size", len(out.Message))
	return writeTransformed(w, meta, out.Message, options)
}
