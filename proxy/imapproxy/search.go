package imapproxy

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// Search relays SEARCH and UID SEARCH.
//
// TODO(search-decrypted): BODY and TEXT criteria are evaluated by the
// mailbox server against what it stores, so they do not match words inside
// encrypted messages. Answering them needs a search over decrypted text,
// which the metadata cache does not hold.
func (sess *session) Search(kind imapserver.NumKind, criteria *imap.SearchCriteria, options *imap.SearchOptions) (*imap.SearchData, error) {
	sess.commandSincePoll = true
	var cmd interface {
		Wait() (*imap.SearchData, error)
	}
	if kind == imapserver.NumKindUID {
		cmd = sess.upstream.UIDSearch(criteria, options)
	} else {
		cmd = sess.upstream.Search(criteria, options)
	}
	timer := sess.timeUpstream("SEARCH")
	data, err := cmd.Wait()
	timer.done(err)
	return data, sess.relayError("SEARCH", err)
}
