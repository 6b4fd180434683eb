package imapproxy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/hashicorp/go-hclog"

	"github.com/smimeproxy/smimeproxy/proxy"
)

// session is one client connection and its upstream twin.
type session struct {
	srv      *Server
	conn     *imapserver.Conn
	id       string
	started  time.Time
	log      hclog.Logger // carries session, proto, remote, user, mailbox
	baseLog  hclog.Logger // the same without mailbox
	upstream *imapclient.Client
	updates  *updateQueue

	// Set once at login; read by every later command of this session
	// only, which go-imap runs one at a time.
	user string
	keys *proxy.UserKeys

	// Selected mailbox, for cache keys and logs.
	mailbox     string
	uidValidity uint32

	// commandSincePoll tells Poll whether a relayed command just ran, or
	// the client sent one the library answers alone (NOOP, CHECK,
	// CAPABILITY): then Poll asks upstream for news itself.
	commandSincePoll bool
}

var (
	_ imapserver.Session          = (*session)(nil)
	_ imapserver.SessionNamespace = (*session)(nil)
	_ imapserver.SessionMove      = (*session)(nil)
	_ imapserver.SessionSASL      = (*session)(nil)
)

var errUpstreamGone = &imap.Error{
	Type: imap.StatusResponseTypeBye,
	Text: "Mail server unavailable, try again later",
}

var errUpstreamClosed = errors.New("imapproxy: upstream connection closed")

var errTooManySessions = &imap.Error{
	Type: imap.StatusResponseTypeBye,
	Code: imap.ResponseCodeLimit,
	Text: "Too many connections, try again later",
}

func (s *Server) newSession(conn *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
	sess := &session{
		srv:     s,
		conn:    conn,
		id:      proxy.NewSessionID(),
		started: time.Now(),
		updates: newUpdateQueue(),
	}
	remote := conn.NetConn().RemoteAddr().String()
	sess.log = s.log.With("session", sess.id, "proto", "imap", "remote", remote)
	sess.baseLog = sess.log

	if !s.track(sess) {
		sess.log.Warn("session refused: too many sessions", "max", s.opts.MaxSessions)
		return nil, nil, errTooManySessions
	}

	connect := sess.timeUpstream("CONNECT")
	upstream, err := sess.dialUpstream()
	connect.done(err)
	if err != nil {
		s.untrack(sess)
		sess.log.Error("upstream connection failed", "error", err)
		return nil, nil, errUpstreamGone
	}
	sess.upstream = upstream
	go sess.watchUpstream()

	s.opts.Registry.Add(proxy.SessionInfo{ID: sess.id, Proto: "imap", Remote: remote, Since: sess.started})
	sess.log.Info("session started")
	return sess, nil, nil
}

func (sess *session) dialUpstream() (*imapclient.Client, error) {
	up := sess.srv.opts.Upstream
	netConn, err := up.Dial(context.Background())
	if err != nil {
		return nil, err
	}
	netConn = proxy.WithReadBuffer(netConn)

	options := &imapclient.Options{
		TLSConfig:             up.ClientTLSConfig(),
		UnilateralDataHandler: sess.updates.handler(),
	}
	var client *imapclient.Client
	if up.TLS == proxy.UpstreamTLSStartTLS {
		client, err = imapclient.NewStartTLS(netConn, options)
		if err != nil {
			return nil, fmt.Errorf("%w: STARTTLS: %w", proxy.ErrUpstreamUnavailable, err)
		}
	} else {
		client = imapclient.New(netConn, options)
	}
	if err := client.WaitGreeting(); err != nil {
		client.Close()
		return nil, fmt.Errorf("%w: greeting: %w", proxy.ErrUpstreamUnavailable, err)
	}
	return client, nil
}

// watchUpstream ends the client session when the mailbox server hangs up,
// so the client learns at once instead of at its next command.
func (sess *session) watchUpstream() {
	<-sess.upstream.Closed()
	if sess.updates.markClosed() {
		sess.log.Warn("upstream connection lost")
		sess.conn.Bye("Mail server connection lost")
	}
}

func (sess *session) Close() error {
	sess.updates.markClosed()
	sess.srv.untrack(sess)
	sess.srv.opts.Registry.Remove(sess.id)
	if sess.upstream != nil {
		// LOGOUT politely but do not wait long for a server that hung.
		done := make(chan struct{})
		go func() {
			sess.upstream.Logout().Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
		sess.upstream.Close()
	}
	sess.log.Info("session ended", "duration", time.Since(sess.started).Round(time.Millisecond))
	return nil
}

// relayError turns an upstream failure into what the client sees. A NO or
// BAD from the mailbox server is passed on with its own code and text; a
// broken connection becomes a generic failure and an error log line.
func (sess *session) relayError(cmd string, err error) error {
	if err == nil {
		return nil
	}
	var imapErr *imap.Error
	if errors.As(err, &imapErr) {
		sess.log.Debug("upstream refused command", "cmd", cmd, "status", imapErr.Type, "code", imapErr.Code)
		return imapErr
	}
	sess.log.Error("upstream command failed", "cmd", cmd, "error", err)
	return &imap.Error{
		Type: imap.StatusResponseTypeNo,
		Code: imap.ResponseCodeUnavailable,
		Text: "Mail server did not complete the command",
	}
}
