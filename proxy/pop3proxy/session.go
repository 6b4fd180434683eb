package pop3proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/smimeproxy/smimeproxy/proxy"
)

// state is the RFC 1939 session state. UPDATE is entered by QUIT and
// lasts only as long as the upstream QUIT.
type state int

const (
	stateAuthorization state = iota
	stateTransaction
)

// errEndSession ends a session after its answer was written.
var errEndSession = errors.New("pop3proxy: session ends")

// session is one client connection and its upstream twin.
type session struct {
	srv     *Server
	id      string
	started time.Time
	remote  string
	log     hclog.Logger

	refused bool // over Options.MaxSessions: told so and closed

	raw    net.Conn // as accepted; closing it ends the session
	conn   net.Conn // raw or its TLS layer, with the idle timeout
	r      *bufio.Reader
	w      *bufio.Writer
	secure bool
	up     *Client

	state       state
	pendingUser string // after a USER the server accepted
	user        string
	keys        *proxy.UserKeys
	drop        *maildrop
	retrBuf     []byte // reused by RETR; see buffer

	mu       sync.Mutex
	busy     bool
	stopping string // shutdown text, set by Server.Shutdown
	upConn   net.Conn
}

func newSession(s *Server, conn net.Conn, implicitTLS bool) *session {
	sess := &session{
		srv:     s,
		id:      proxy.NewSessionID(),
		started: time.Now(),
		remote:  conn.RemoteAddr().String(),
		raw:     conn,
		busy:    true, // until the greeting is out
	}
	sess.log = s.log.With("session", sess.id, "proto", "pop3", "remote", sess.remote)
	if implicitTLS {
		sess.setConn(tls.Server(conn, s.opts.TLSConfig))
		sess.secure = true
	} else {
		sess.setConn(conn)
	}
	return sess
}

func (sess *session) setConn(conn net.Conn) {
	sess.conn = newIdleConn(conn, sess.srv.opts.IdleTimeout)
	sess.r = bufio.NewReaderSize(sess.conn, 4<<10)
	sess.w = bufio.NewWriterSize(sess.conn, 32<<10)
}

// run serves the session from greeting to close.
func (sess *session) run() {
	defer sess.raw.Close()
	if !sess.handshake() {
		return
	}
	if sess.refused {
		sess.log.Warn("session refused: too many sessions", "max", sess.srv.opts.MaxSessions)
		sess.reply("-ERR [SYS/TEMP] Too many connections, try again later")
		return
	}

	registry := sess.srv.opts.Registry
	registry.Add(proxy.SessionInfo{ID: sess.id, Proto: "pop3", Remote: sess.remote,
		Since: sess.started})
	defer registry.Remove(sess.id)
	sess.log.Info("session started", "tls", sess.secure)
	defer func() {
		duration := time.Since(sess.started).Round(time.Millisecond)
		sess.log.Info("session ended", "duration", duration)
	}()

	if err := sess.connectUpstream(); err != nil {
		sess.log.Error("upstream connection failed", "error", err)
		sess.reply("-ERR [SYS/TEMP] Mail server unavailable, try again later")
		return
	}
	defer sess.closeUpstream()
	sess.greet()
	if sess.end() {
		sess.loop()
	}
}

// handshake completes implicit TLS within 30 seconds.
func (sess *session) handshake() bool {
	tlsConn, ok := sess.conn.(*idleConn).Conn.(*tls.Conn)
	if !ok {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := tlsConn.HandshakeContext(ctx); err != nil {
		sess.log.Info("TLS handshake failed", "error", err)
		return false
	}
	return true
}

func (sess *session) connectUpstream() error {
	opts := ClientOptions{MaxMessageBytes: sess.srv.opts.MaxMessageBytes}
	start := time.Now()
	up, err := DialUpstream(context.Background(), sess.srv.opts.Upstream, opts)
	observe := sess.srv.opts.ObserveUpstream
	if observe != nil {
		observe("pop3", "CONNECT", time.Since(start), err)
	}
	if err != nil {
		return err
	}
	if observe != nil {
		up.opts.Observe = func(cmd string, d time.Duration, err error) {
			observe("pop3", cmd, d, err)
		}
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.stopping != "" {
		up.Close()
		return fmt.Errorf("%w: shutting down", proxy.ErrUpstreamUnavailable)
	}
	sess.up, sess.upConn = up, up.conn
	return nil
}

// closeUpstream closes the mailbox connection without QUIT unless the
// client's QUIT already sent one: a session that ends any other way must
// delete nothing (RFC 1939 section 6).
func (sess *session) closeUpstream() {
	sess.up.Close()
}

// greet sends the greeting. When the mailbox server offered APOP, its
// timestamp is passed on: the client's digest is computed over it and
// only the mailbox server can check it (RFC 1939 section 7).
func (sess *session) greet() {
	greeting := "+OK smimeproxy POP3 ready"
	if stamp := apopTimestamp(sess.up.Greeting()); stamp != "" {
		greeting += " " + stamp
	}
	sess.reply(greeting)
}

func (sess *session) loop() {
	for {
		line, err := readLine(sess.r, maxCommandLine)
		if err != nil && !errors.Is(err, ErrLineTooLong) {
			sess.log.Debug("client connection closed", "error", err)
			return
		}
		if !sess.begin() {
			return
		}
		if err != nil {
			err = sess.reply("-ERR Line too long")
		} else {
			err = sess.dispatch(line)
		}
		if !sess.end() || err != nil {
			return
		}
	}
}

// begin marks the session busy; it fails when Shutdown came first.
func (sess *session) begin() bool {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.stopping != "" {
		sess.reply("-ERR [SYS/TEMP] " + sess.stopping)
		return false
	}
	sess.busy = true
	return true
}

// end marks the session idle, or ends it when Shutdown came meanwhile.
func (sess *session) end() bool {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	sess.busy = false
	if sess.stopping != "" {
		sess.reply("-ERR [SYS/TEMP] " + sess.stopping)
		return false
	}
	return true
}

// stop is Shutdown's part: an idle session is told and closed now, a
// busy one after its command.
func (sess *session) stop(text string) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if text == "" {
		text = "Server shutting down"
	}
	sess.stopping = text
	if !sess.busy {
		sess.reply("-ERR [SYS/TEMP] " + text)
		sess.raw.Close()
	}
}

// abort is Close's part: both connections are closed at once.
func (sess *session) abort() {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	sess.raw.Close()
	if sess.upConn != nil {
		sess.upConn.Close()
	}
}

// reply writes one status line.
func (sess *session) reply(line string) error {
	sess.w.WriteString(line)
	sess.w.WriteString("\r\n")
	return sess.w.Flush()
}

// replyMulti writes a positive status line and a multi-line body.
func (sess *session) replyMulti(status string, body []byte) error {
	sess.w.WriteString("+OK ")
	sess.w.WriteString(status)
	sess.w.WriteString("\r\n")
	if err := writeMultiline(sess.w, body); err != nil {
		return err
	}
	return sess.w.Flush()
}

// replyMessage is replyMulti for a body known to be canonical (CRLF line
// endings, ending in CRLF), which spares a scan of every byte.
func (sess *session) replyMessage(status string, msg []byte) error {
	sess.w.WriteString("+OK ")
	sess.w.WriteString(status)
	sess.w.WriteString("\r\n")
	writeStuffed(sess.w, msg)
	sess.w.WriteString(".\r\n")
	return sess.w.Flush()
}

// relay answers the client with the mailbox server's answer: +OK and its
// text, or its -ERR text. A broken upstream connection becomes a generic
// -ERR, an error log line and the end of the session.
func (sess *session) relay(cmd, text string, err error) error {
	if err == nil {
		return sess.reply(okLine(text))
	}
	var refusal *Error
	if errors.As(err, &refusal) {
		sess.log.Debug("upstream refused command", "cmd", cmd)
		return sess.reply(errLine(refusal.Text))
	}
	return sess.upstreamFailed(cmd, err)
}

func (sess *session) upstreamFailed(cmd string, err error) error {
	sess.log.Error("upstream command failed", "cmd", cmd, "error", err)
	sess.reply("-ERR [SYS/TEMP] Mail server connection lost")
	return errEndSession
}

func okLine(text string) string {
	if text == "" {
		return "+OK"
	}
	return "+OK " + text
}

func errLine(text string) string {
	if text == "" {
		return "-ERR"
	}
	return "-ERR " + text
}

// authAllowed says whether credentials may be sent on this connection.
func (sess *session) authAllowed() bool {
	return sess.secure || sess.srv.opts.InsecureAuth
}

// dispatch runs one command line. Its error ends the session.
func (sess *session) dispatch(line string) error {
	name, args := parseCommand(line)
	cmd, ok := commands[name]
	if !ok {
		return sess.reply("-ERR Unknown command")
	}
	if cmd.state != sess.state && !cmd.anyState {
		return sess.reply("-ERR Command not valid in this state")
	}
	start := time.Now()
	err := cmd.run(sess, args, line)
	sess.log.Debug("command", "cmd", name, "duration", time.Since(start).Round(time.Microsecond))
	return err
}

type command struct {
	state    state
	anyState bool
	run      func(sess *session, args []string, line string) error
}

// commands is the dispatch table (RFC 1939 sections 4 to 7, RFC 2449,
// RFC 2595, RFC 5034). It is never modified.
var commands = map[string]command{
	"CAPA": {anyState: true, run: (*session).cmdCapa},
	"QUIT": {anyState: true, run: (*session).cmdQuit},
	"STLS": {state: stateAuthorization, run: (*session).cmdSTLS},
	"USER": {state: stateAuthorization, run: (*session).cmdUser},
	"PASS": {state: stateAuthorization, run: (*session).cmdPass},
	"APOP": {state: stateAuthorization, run: (*session).cmdAPOP},
	"AUTH": {state: stateAuthorization, run: (*session).cmdAuth},
	"STAT": {state: stateTransaction, run: (*session).cmdStat},
	"LIST": {state: stateTransaction, run: (*session).cmdList},
	"UIDL": {state: stateTransaction, run: (*session).cmdUIDL},
	"RETR": {state: stateTransaction, run: (*session).cmdRetr},
	"TOP":  {state: stateTransaction, run: (*session).cmdTop},
	"DELE": {state: stateTransaction, run: (*session).cmdDele},
	"RSET": {state: stateTransaction, run: (*session).cmdRset},
	"NOOP": {state: stateTransaction, run: (*session).cmdNoop},
}

// argument returns what follows the command keyword on line, spaces
// included: PASS allows spaces in the password (RFC 1939 section 7).
func argument(line string) string {
	_, rest, _ := strings.Cut(line, " ")
	return rest
}
