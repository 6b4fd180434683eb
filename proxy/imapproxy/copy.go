package imapproxy

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// Copy relays COPY: the mailbox server copies the message it holds, so an
// encrypted original stays encrypted in the destination.
func (sess *session) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	sess.commandSincePoll = true
	timer := sess.timeUpstream("COPY")
	data, err := sess.upstream.Copy(numSet, dest).Wait()
	timer.done(err)
	return data, sess.relayError("COPY", err)
}

// Move relays MOVE (RFC 6851). The expunges it causes arrive from upstream
// as untagged EXPUNGE responses and reach the client through the update
// queue when the command completes. A mailbox server without MOVE gets
// COPY, STORE \Deleted and EXPUNGE, as RFC 6851 section 3.3 describes.
func (sess *session) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	sess.commandSincePoll = true
	if !sess.upstream.Caps().Has(imap.CapMove) {
		return sess.moveByCopy(w, numSet, dest)
	}
	data, err := sess.upstream.Move(numSet, dest).Wait()
	if err != nil {
		return sess.relayError("MOVE", err)
	}
	source, okSource := data.SourceUIDs.(imap.UIDSet)
	destUIDs, okDest := data.DestUIDs.(imap.UIDSet)
	if data.UIDValidity == 0 || !okSource || !okDest {
		return nil
	}
	return w.WriteCopyData(&imap.CopyData{
		UIDValidity: data.UIDValidity,
		SourceUIDs:  source,
		DestUIDs:    destUIDs,
	})
}

func (sess *session) moveByCopy(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	copyData, err := sess.upstream.Copy(numSet, dest).Wait()
	if err != nil {
		return sess.relayError("MOVE", err)
	}
	deleted := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}
	if err := sess.upstream.Store(numSet, deleted, nil).Close(); err != nil {
		return sess.relayError("MOVE", err)
	}
	if copyData.UIDValidity != 0 {
		if err := w.WriteCopyData(copyData); err != nil {
			return err
		}
	}

	// TODO(move-fallback): a plain EXPUNGE also removes messages the user
	// had marked \Deleted before; UID EXPUNGE (RFC 4315) avoids that but
	// needs UIDs and UIDPLUS.
	expunge := sess.upstream.Expunge()
	if uids, ok := numSet.(imap.UIDSet); ok && sess.upstream.Caps().Has(imap.CapUIDPlus) {
		expunge = sess.upstream.UIDExpunge(uids)
	}
	seqNums, err := expunge.Collect()
	if err != nil {
		return sess.relayError("MOVE", err)
	}
	for _, seqNum := range seqNums {
		if err := w.WriteExpunge(seqNum); err != nil {
			return err
		}
	}
	return nil
}

// Expunge relays EXPUNGE and UID EXPUNGE (RFC 4315) and reports each
// expunged sequence number as upstream does.
func (sess *session) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	sess.commandSincePoll = true
	cmd := sess.upstream.Expunge()
	if uids != nil {
		cmd = sess.upstream.UIDExpunge(*uids)
	}
	timer := sess.timeUpstream("EXPUNGE")
	seqNums, err := cmd.Collect()
	timer.done(err)
	if err != nil {
		return sess.relayError("EXPUNGE", err)
	}
	for _, seqNum := range seqNums {
		if err := w.WriteExpunge(seqNum); err != nil {
			return err
		}
	}
	return nil
}
