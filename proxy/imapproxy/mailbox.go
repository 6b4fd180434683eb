package imapproxy

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/smimeproxy/smimeproxy/proxy"
)

// The commands in this file change nothing in messages: each is relayed
// and its upstream answer returned as is.

func (sess *session) Select(mailbox string, options *imap.SelectOptions) (*imap.SelectData, error) {
	sess.commandSincePoll = true
	sess.updates.reset()
	timer := sess.timeUpstream("SELECT")
	data, err := sess.upstream.Select(mailbox, options).Wait()
	timer.done(err)
	if err != nil {
		sess.setMailbox("", 0)
		return nil, sess.relayError("SELECT", err)
	}
	sess.setMailbox(mailbox, data.UIDValidity)
	// The SELECT answer already told the client the counts and flags.
	sess.updates.reset()
	return data, nil
}

func (sess *session) setMailbox(name string, uidValidity uint32) {
	sess.mailbox = name
	sess.uidValidity = uidValidity
	sess.log = sess.baseLog
	if name != "" {
		sess.log = sess.baseLog.With("mailbox", name)
	}
	sess.srv.opts.Registry.Update(sess.id, func(info *proxy.SessionInfo) { info.Mailbox = name })
}

func (sess *session) Unselect() error {
	sess.commandSincePoll = true
	err := sess.upstream.Unselect().Wait()
	sess.updates.reset()
	sess.setMailbox("", 0)
	return sess.relayError("UNSELECT", err)
}

func (sess *session) Create(mailbox string, options *imap.CreateOptions) error {
	sess.commandSincePoll = true
	return sess.relayError("CREATE", sess.upstream.Create(mailbox, options).Wait())
}

func (sess *session) Delete(mailbox string) error {
	sess.commandSincePoll = true
	return sess.relayError("DELETE", sess.upstream.Delete(mailbox).Wait())
}

func (sess *session) Rename(mailbox, newName string, options *imap.RenameOptions) error {
	sess.commandSincePoll = true
	return sess.relayError("RENAME", sess.upstream.Rename(mailbox, newName, options).Wait())
}

func (sess *session) Subscribe(mailbox string) error {
	sess.commandSincePoll = true
	return sess.relayError("SUBSCRIBE", sess.upstream.Subscribe(mailbox).Wait())
}

func (sess *session) Unsubscribe(mailbox string) error {
	sess.commandSincePoll = true
	return sess.relayError("UNSUBSCRIBE", sess.upstream.Unsubscribe(mailbox).Wait())
}

// List relays each pattern in turn; the client library sends one pattern
// per command.
func (sess *session) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) error {
	sess.commandSincePoll = true
	for _, pattern := range patterns {
		timer := sess.timeUpstream("LIST")
		list, err := sess.upstream.List(ref, pattern, options).Collect()
		timer.done(err)
		if err != nil {
			return sess.relayError("LIST", err)
		}
		for _, data := range list {
			if err := w.WriteList(data); err != nil {
				return err
			}
		}
	}
	return nil
}

func (sess *session) Status(mailbox string, options *imap.StatusOptions) (*imap.StatusData, error) {
	sess.commandSincePoll = true
	timer := sess.timeUpstream("STATUS")
	data, err := sess.upstream.Status(mailbox, options).Wait()
	timer.done(err)
	return data, sess.relayError("STATUS", err)
}

func (sess *session) Namespace() (*imap.NamespaceData, error) {
	sess.commandSincePoll = true
	data, err := sess.upstream.Namespace().Wait()
	return data, sess.relayError("NAMESPACE", err)
}
