package imapproxy

import (
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
)

// sortMultiparts decides, for multipart messages fetched without their
// whole body, whether one of their message/rfc822 parts holds an S/MIME
// envelope, which the pipeline opens as that attachment. It reads their
// BODYSTRUCTURE: the one the client asked for, or else one more upstream
// FETCH for just these messages, so that single-part mail costs nothing
// extra. Those that may hold one are answered from the cache or queued to
// be fetched whole; the others are relayed.
func (sess *session) sortMultiparts(w *imapserver.FetchWriter,
	bufs []*imapclient.FetchMessageBuffer, pending []pendingMessage,
	options *imap.FetchOptions) ([]pendingMessage, error) {
	if len(bufs) == 0 {
		return pending, nil
	}
	structures, err := sess.bodyStructures(bufs)
	if err != nil {
		return nil, err
	}
	for _, buf := range bufs {
		if bs, ok := structures[buf.UID]; ok && attachedEnvelope(bs, 0) {
			pending, err = sess.addPending(w, pending, buf, options)
		} else {
			err = sess.relay(w, buf, options)
		}
		if err != nil {
			return nil, err
		}
	}
	return pending, nil
}

// bodyStructures returns the BODYSTRUCTURE of each message in bufs by UID,
// fetching those the client did not ask for. A message gone meanwhile
// has none.
func (sess *session) bodyStructures(
	bufs []*imapclient.FetchMessageBuffer) (map[imap.UID]imap.BodyStructure, error) {
	structures := make(map[imap.UID]imap.BodyStructure, len(bufs))
	var ask imap.UIDSet
	for _, buf := range bufs {
		if buf.BodyStructure != nil {
			structures[buf.UID] = buf.BodyStructure
		} else {
			ask.AddNum(buf.UID)
		}
	}
	if len(ask) == 0 {
		return structures, nil
	}
	cmd := sess.upstream.Fetch(ask, &imap.FetchOptions{UID: true,
		BodyStructure: &imap.FetchItemBodyStructure{}})
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		buf, err := collect(msg)
		if err != nil {
			cmd.Close()
			return nil, sess.relayError("FETCH", err)
		}
		if buf.BodyStructure != nil {
			structures[buf.UID] = buf.BodyStructure
		}
	}
	return structures, sess.relayError("FETCH", cmd.Close())
}

// maxStructureDepth bounds the walk over a BODYSTRUCTURE; the pipeline
// has its own bound (MaxLayers) on what it opens.
const maxStructureDepth = 16

// attachedEnvelope reports a message/rfc822 part, at any multipart depth,
// whose embedded message is application/(x-)pkcs7-mime: the pipeline
// then decides from the bytes whether it is an envelope.
func attachedEnvelope(bs imap.BodyStructure, depth int) bool {
	if depth > maxStructureDepth {
		return false
	}
	switch bs := bs.(type) {
	case *imap.BodyStructureMultiPart:
		for _, child := range bs.Children {
			if attachedEnvelope(child, depth+1) {
				return true
			}
		}
	case *imap.BodyStructureSinglePart:
		if bs.MediaType() != "message/rfc822" || bs.MessageRFC822 == nil {
			return false
		}
		embedded, ok := bs.MessageRFC822.BodyStructure.(*imap.BodyStructureSinglePart)
		return ok && strings.EqualFold(embedded.Type, "application") &&
			strings.HasSuffix(strings.ToLower(embedded.Subtype), "pkcs7-mime")
	}
	return false
}
