package imapproxy

import (
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
)

type updateKind int

const (
	updateExists updateKind = iota
	updateExpunge
	updateMessageFlags
	updateMailboxFlags
)

// update is one untagged response the mailbox server sent outside a
// command's own results.
type update struct {
	kind   updateKind
	number uint32 // EXISTS count or EXPUNGE/FETCH sequence number
	uid    imap.UID
	flags  []imap.Flag
}

// updateQueue keeps upstream's unsolicited responses in arrival order until
// the client may receive them.
type updateQueue struct {
	mu      sync.Mutex
	pending []update
	signal  chan struct{}
	closed  bool
}

func newUpdateQueue() *updateQueue {
	return &updateQueue{signal: make(chan struct{}, 1)}
}

func (q *updateQueue) push(u update) {
	q.mu.Lock()
	q.pending = append(q.pending, u)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// markClosed records that the session is over; it reports whether this call
// was the first to do so.
func (q *updateQueue) markClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	first := !q.closed
	q.closed = true
	return first
}

// reset drops updates that belong to a mailbox the client has left.
func (q *updateQueue) reset() {
	q.mu.Lock()
	q.pending = nil
	q.mu.Unlock()
}

// take removes and returns the updates that may be sent now. When EXPUNGE
// is not allowed (during FETCH, STORE and SEARCH, RFC 3501 section 7.4.1)
// it stops before the first one, so that later updates keep their order
// and their sequence numbers stay right.
func (q *updateQueue) take(allowExpunge bool) []update {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := len(q.pending)
	if !allowExpunge {
		for i, u := range q.pending {
			if u.kind == updateExpunge {
				n = i
				break
			}
		}
	}
	out := q.pending[:n:n]
	q.pending = q.pending[n:]
	return out
}

func (q *updateQueue) handler() *imapclient.UnilateralDataHandler {
	return &imapclient.UnilateralDataHandler{
		Expunge: func(seqNum uint32) {
			q.push(update{kind: updateExpunge, number: seqNum})
		},
		Mailbox: func(data *imapclient.UnilateralDataMailbox) {
			if data.NumMessages != nil {
				q.push(update{kind: updateExists, number: *data.NumMessages})
			}
			if data.Flags != nil {
				q.push(update{kind: updateMailboxFlags, flags: data.Flags})
			}
		},
		// TODO(imap-updates): the client library hands unsolicited FETCH
		// responses to this handler on a goroutine of its own, so a FLAGS
		// change that upstream sent just before an EXPUNGE may be queued
		// after it and carry a stale sequence number. It takes another
		// session changing flags and expunging within one command; fixing
		// it needs the library to deliver FETCH in order.
		Fetch: func(msg *imapclient.FetchMessageData) {
			buf, err := msg.Collect()
			if err != nil || buf.Flags == nil {
				return
			}
			q.push(update{kind: updateMessageFlags, number: buf.SeqNum, uid: buf.UID, flags: buf.Flags})
		},
	}
}

func writeUpdates(w *imapserver.UpdateWriter, updates []update) error {
	for _, u := range updates {
		var err error
		switch u.kind {
		case updateExists:
			err = w.WriteNumMessages(u.number)
		case updateExpunge:
			err = w.WriteExpunge(u.number)
		case updateMessageFlags:
			err = w.WriteMessageFlags(u.number, u.uid, u.flags)
		case updateMailboxFlags:
			err = w.WriteMailboxFlags(u.flags)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Poll hands the client what upstream reported since the last command.
// After a command the library answers alone (NOOP, CHECK), it first asks
// upstream with a NOOP, since that is how a client polls for new mail.
func (sess *session) Poll(w *imapserver.UpdateWriter, allowExpunge bool) error {
	if !sess.commandSincePoll && sess.upstream != nil {
		if err := sess.upstream.Noop().Wait(); err != nil {
			return sess.relayError("NOOP", err)
		}
	}
	sess.commandSincePoll = false
	return writeUpdates(w, sess.updates.take(allowExpunge))
}

// Idle runs an upstream IDLE (RFC 2177) for as long as the client idles and
// passes each update on as it arrives. A NOOP first collects what changed
// since the client's last command: not every server reports that when
// IDLE starts.
func (sess *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	sess.commandSincePoll = true
	if err := sess.upstream.Noop().Wait(); err != nil {
		return sess.relayError("NOOP", err)
	}
	if err := writeUpdates(w, sess.updates.take(true)); err != nil {
		return err
	}

	idle, err := sess.upstream.Idle()
	if err != nil {
		return sess.relayError("IDLE", err)
	}
	for {
		select {
		case <-sess.updates.signal:
			if err := writeUpdates(w, sess.updates.take(true)); err != nil {
				idle.Close()
				return err
			}
		case <-sess.upstream.Closed():
			return sess.relayError("IDLE", errUpstreamClosed)
		case <-stop:
			if err := idle.Close(); err != nil {
				return sess.relayError("IDLE", err)
			}
			if err := idle.Wait(); err != nil {
				return sess.relayError("IDLE", err)
			}
			return writeUpdates(w, sess.updates.take(true))
		}
	}
}
