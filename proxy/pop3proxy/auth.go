package pop3proxy

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/smimeproxy/smimeproxy/keystore"
	"github.com/smimeproxy/smimeproxy/proxy"
)

// cmdCapa lists what the proxy offers (RFC 2449 section 5). TOP is always
// there: without it upstream the proxy could cut RETR itself. USER and
// SASL appear only where credentials may be sent (RFC 2595 section 4),
// STLS only before it was used.
func (sess *session) cmdCapa(_ []string, _ string) error {
	caps := []string{"TOP", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"}
	upstream := sess.up.Capabilities()
	if upstream == nil || upstream.Has("UIDL") {
		caps = append(caps, "UIDL")
	}
	for _, policy := range []string{"EXPIRE", "LOGIN-DELAY"} {
		if args, ok := upstream[policy]; ok {
			caps = append(caps, strings.Join(append([]string{policy}, args...), " "))
		}
	}
	if sess.state == stateAuthorization {
		if sess.authAllowed() {
			caps = append(caps, "USER", "SASL "+strings.Join(sess.mechanisms(), " "))
		}
		if sess.srv.opts.TLSConfig != nil && !sess.secure {
			caps = append(caps, "STLS")
		}
	}
	caps = append(caps, "IMPLEMENTATION smimeproxy")
	return sess.replyMulti("Capability list follows", []byte(strings.Join(caps, "\r\n")))
}

// mechanisms are the SASL mechanisms relayed: PLAIN always (as PLAIN, or
// as USER/PASS when the mailbox server lacks it), LOGIN when the mailbox
// server has it.
func (sess *session) mechanisms() []string {
	mechs := []string{"PLAIN"}
	if sess.up.Capabilities().HasSASL("LOGIN") {
		mechs = append(mechs, "LOGIN")
	}
	return mechs
}

// cmdSTLS upgrades the client connection (RFC 2595 section 4). Whatever
// the client sent after STLS in the clear is dropped with the old reader,
// so that it cannot pass for a command sent under TLS.
func (sess *session) cmdSTLS(_ []string, _ string) error {
	switch {
	case sess.srv.opts.TLSConfig == nil:
		return sess.reply("-ERR STLS not available")
	case sess.secure:
		return sess.reply("-ERR Already using TLS")
	case sess.pendingUser != "":
		return sess.reply("-ERR STLS not allowed after USER")
	}
	if err := sess.reply("+OK Begin TLS negotiation"); err != nil {
		return err
	}
	tlsConn := tls.Server(sess.raw, sess.srv.opts.TLSConfig)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := tlsConn.HandshakeContext(ctx); err != nil {
		sess.log.Info("STLS handshake failed", "error", err)
		return errEndSession
	}
	sess.setConn(tlsConn)
	sess.secure = true
	return nil
}

func (sess *session) refuseInsecure() error {
	if sess.srv.opts.TLSConfig != nil {
		return sess.reply("-ERR [AUTH] Plaintext authentication disallowed; use STLS first")
	}
	return sess.reply("-ERR [AUTH] Plaintext authentication disallowed on this connection")
}

// cmdUser relays USER (RFC 1939 section 7).
func (sess *session) cmdUser(args []string, _ string) error {
	if !sess.authAllowed() {
		return sess.refuseInsecure()
	}
	if len(args) != 1 {
		return sess.reply("-ERR Syntax: USER name")
	}
	text, err := sess.up.User(args[0])
	if err == nil {
		sess.pendingUser = args[0]
	}
	return sess.relay("USER", text, err)
}

// cmdPass relays PASS; the client is in exactly when the mailbox server
// says +OK.
func (sess *session) cmdPass(_ []string, line string) error {
	if !sess.authAllowed() {
		return sess.refuseInsecure()
	}
	if sess.pendingUser == "" {
		return sess.reply("-ERR USER first")
	}
	password := argument(line)
	if password == "" {
		return sess.reply("-ERR Syntax: PASS password")
	}
	user := sess.pendingUser
	sess.pendingUser = ""
	text, err := sess.up.Pass(password)
	return sess.finishLogin(user, "PASS", text, err)
}

// cmdAPOP relays APOP. The digest was computed over the mailbox server's
// timestamp, which the greeting passed on, so only that server can check
// it and the proxy never sees the password. It is treated like a
// password: an eavesdropper could test guesses against the digest.
func (sess *session) cmdAPOP(args []string, _ string) error {
	if apopTimestamp(sess.up.Greeting()) == "" {
		return sess.reply("-ERR [AUTH] APOP not available")
	}
	if !sess.authAllowed() {
		return sess.refuseInsecure()
	}
	if len(args) != 2 {
		return sess.reply("-ERR Syntax: APOP name digest")
	}
	text, err := sess.up.APOP(args[0], args[1])
	return sess.finishLogin(args[0], "APOP", text, err)
}

// finishLogin ends the AUTHORIZATION state when the mailbox server let
// the client in, and relays its answer either way.
func (sess *session) finishLogin(user, cmd, text string, err error) error {
	if err != nil {
		if isRefusal(err) {
			sess.log.Info("login failed", "user", user, "cmd", cmd)
		}
		return sess.relay(cmd, text, err)
	}
	sess.user = keystore.NormalizeUser(user)
	sess.keys = proxy.NewUserKeys(sess.srv.opts.Vault, sess.user)
	sess.log = sess.log.With("user", sess.user)
	sess.srv.opts.Registry.Update(sess.id, func(info *proxy.SessionInfo) {
		info.User = sess.user
		info.Mailbox = "INBOX"
	})
	sess.state = stateTransaction
	sess.log.Info("login succeeded", "cmd", cmd)
	return sess.reply(okLine(text))
}

// cmdAuth runs AUTH (RFC 5034 section 4). Without a mechanism it lists
// them, as RFC 1734 clients expect.
func (sess *session) cmdAuth(args []string, _ string) error {
	if !sess.authAllowed() {
		return sess.refuseInsecure()
	}
	if len(args) == 0 {
		mechs := strings.Join(sess.mechanisms(), "\r\n")
		return sess.replyMulti("Mechanisms follow", []byte(mechs))
	}
	initial := ""
	if len(args) > 1 {
		initial = args[1]
	}
	switch strings.ToUpper(args[0]) {
	case "PLAIN":
		return sess.authPlain(initial, len(args) > 1)
	case "LOGIN":
		if sess.up.Capabilities().HasSASL("LOGIN") {
			return sess.authLogin(initial, len(args) > 1)
		}
	}
	return sess.reply("-ERR [AUTH] Unsupported authentication mechanism")
}

// saslResponse returns the client's base64 response: the initial one
// from the command or the next line after a challenge. ok is false when
// the client cancelled or sent something that is not base64; the client
// has been answered then.
func (sess *session) saslResponse(challenge, initial string,
	haveInitial bool) ([]byte, bool, error) {
	line := initial
	if !haveInitial {
		if err := sess.reply("+ " + challenge); err != nil {
			return nil, false, err
		}
		var err error
		line, err = readLine(sess.r, maxCommandLine)
		if errors.Is(err, ErrLineTooLong) {
			return nil, false, sess.reply("-ERR Line too long")
		}
		if err != nil {
			return nil, false, errEndSession
		}
	}
	if line == "*" {
		return nil, false, sess.reply("-ERR Authentication cancelled")
	}
	if line == "=" { // RFC 5034 section 4: an empty initial response
		return []byte{}, true, nil
	}
	decoded, err := base64.StdEncoding.DecodeString(line)
	if err != nil {
		return nil, false, sess.reply("-ERR Invalid base64 in SASL response")
	}
	return decoded, true, nil
}

// authPlain relays PLAIN (RFC 4616) to the mailbox server as PLAIN with
// the same authorization identity, or as USER/PASS when the server has
// no SASL PLAIN and no identity other than the user was asked for.
func (sess *session) authPlain(initial string, haveInitial bool) error {
	decoded, ok, err := sess.saslResponse("", initial, haveInitial)
	if !ok {
		return err
	}
	parts := strings.Split(string(decoded), "\x00")
	if len(parts) != 3 || parts[1] == "" {
		return sess.reply("-ERR Invalid PLAIN response")
	}
	authz, authn, password := parts[0], parts[1], parts[2]
	user := authn
	if authz != "" {
		user = authz
	}
	caps := sess.up.Capabilities()
	if caps == nil || caps.HasSASL("PLAIN") {
		encoded := base64.StdEncoding.EncodeToString(decoded)
		text, err := sess.up.AuthPlain(encoded)
		return sess.finishLogin(user, "AUTH PLAIN", text, err)
	}
	if (authz != "" && authz != authn) || !lineSafe(authn) || !lineSafe(password) {
		return sess.reply("-ERR [AUTH] Authentication failed")
	}
	return sess.userPass(authn, password, "AUTH PLAIN")
}

// authLogin relays LOGIN; some clients send the user name as an initial
// response.
func (sess *session) authLogin(initial string, haveInitial bool) error {
	name, ok, err := sess.saslResponse("VXNlcm5hbWU6", initial, haveInitial)
	if !ok {
		return err
	}
	password, ok, err := sess.saslResponse("UGFzc3dvcmQ6", "", false)
	if !ok {
		return err
	}
	text, err := sess.up.AuthLogin(string(name), string(password))
	return sess.finishLogin(string(name), "AUTH LOGIN", text, err)
}

func (sess *session) userPass(name, password, cmd string) error {
	text, err := sess.up.User(name)
	if err == nil {
		text, err = sess.up.Pass(password)
	}
	return sess.finishLogin(name, cmd, text, err)
}

// lineSafe reports whether s can be sent as a command argument: decoded
// SASL data could otherwise smuggle a second command upstream.
func lineSafe(s string) bool {
	return s != "" && !strings.ContainsAny(s, "\r\n\x00")
}
