package imapproxy

import (
	"io"

	"github.com/emersion/go-imap/v2"
)

// Append stores the client's message upstream as it is. The proxy never
// decrypts or rewrites what a client appends: a client that copies a
// message it read through the proxy into another folder appends the
// plaintext it saw, which is the client's decision, not ours.
func (sess *session) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	sess.commandSincePoll = true
	timer := sess.timeUpstream("APPEND")
	cmd := sess.upstream.Append(mailbox, r.Size(), options)
	if _, err := io.Copy(cmd, r); err != nil {
		cmd.Close()
		return nil, sess.relayError("APPEND", err)
	}
	if err := cmd.Close(); err != nil {
		return nil, sess.relayError("APPEND", err)
	}
	data, err := cmd.Wait()
	timer.done(err)
	return data, sess.relayError("APPEND", err)
}
