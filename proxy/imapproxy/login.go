package imapproxy

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-sasl"

	"github.com/smimeproxy/smimeproxy/keystore"
	"github.com/smimeproxy/smimeproxy/proxy"
)

// Login relays LOGIN (RFC 3501 section 6.2.3). The client is in exactly
// when the mailbox server says so, and a refusal carries the server's own
// code and text.
func (sess *session) Login(username, password string) error {
	timer := sess.timeUpstream("LOGIN")
	err := sess.upstream.Login(username, password).Wait()
	timer.done(err)
	return sess.finishLogin(username, "LOGIN", err)
}

// AuthenticateMechanisms offers PLAIN only: it is the one mechanism whose
// credentials the proxy can replay upstream unchanged (RFC 4616).
func (sess *session) AuthenticateMechanisms() []string {
	return []string{sasl.Plain}
}

// Authenticate relays AUTHENTICATE PLAIN as AUTHENTICATE PLAIN upstream,
// authorization identity included, so that the server decides what it
// allows.
func (sess *session) Authenticate(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, &imap.Error{
			Type: imap.StatusResponseTypeNo,
			Text: "Unsupported authentication mechanism",
		}
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		timer := sess.timeUpstream("AUTHENTICATE")
		err := sess.upstream.Authenticate(sasl.NewPlainClient(identity, username, password))
		timer.done(err)
		user := username
		if identity != "" {
			user = identity
		}
		return sess.finishLogin(user, "AUTHENTICATE PLAIN", err)
	}), nil
}

func (sess *session) finishLogin(username, cmd string, err error) error {
	if err != nil {
		sess.log.Info("login failed", "user", username, "cmd", cmd)
		return sess.relayError(cmd, err)
	}

	sess.user = keystore.NormalizeUser(username)
	sess.keys = proxy.NewUserKeys(sess.srv.opts.Vault, sess.user)
	sess.baseLog = sess.baseLog.With("user", sess.user)
	sess.log = sess.baseLog
	sess.srv.opts.Registry.Update(sess.id, func(info *proxy.SessionInfo) { info.User = sess.user })
	sess.log.Info("login succeeded", "cmd", cmd)
	sess.commandSincePoll = true
	return nil
}
