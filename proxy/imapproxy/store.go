package imapproxy

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// Store relays STORE and UID STORE and the FETCH FLAGS responses upstream
// answers with (none for .SILENT).
func (sess *session) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, options *imap.StoreOptions) (err error) {
	sess.commandSincePoll = true
	defer sess.timeUpstream("STORE").report(&err)
	_, byUID := numSet.(imap.UIDSet)
	cmd := sess.upstream.Store(numSet, flags, options)
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		buf, err := collect(msg)
		if err != nil {
			cmd.Close()
			return sess.relayError("STORE", err)
		}
		if err := writeRelayed(w, buf, &imap.FetchOptions{UID: byUID, Flags: true}); err != nil {
			cmd.Close()
			return err
		}
	}
	return sess.relayError("STORE", cmd.Close())
}
