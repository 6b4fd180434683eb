package imapproxy

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/hashicorp/go-hclog"

	"github.com/smimeproxy/smimeproxy/proxy"
)

// Options configures a Server: the settings every front takes. For FETCH,
// ObserveUpstream's time includes relaying the answer to the client.
type Options struct {
	proxy.FrontOptions
}

// Server accepts IMAP clients and relays them to the upstream server.
type Server struct {
	opts   Options
	log    hclog.Logger
	server *imapserver.Server

	mu       sync.Mutex
	sessions map[*session]struct{}
}

// capabilities are those the proxy answers itself or relays faithfully.
// UNSELECT, IDLE, SASL-IR, LITERAL+ and ENABLE come from the server
// library; MOVE falls back to COPY+STORE+EXPUNGE upstream when the mailbox
// server lacks it.
var capabilities = imap.CapSet{
	imap.CapIMAP4rev1: {},
	imap.CapNamespace: {},
	imap.CapUIDPlus:   {},
	imap.CapMove:      {},
}

// New returns a server; call Serve or ServeTLS to accept clients.
func New(opts Options) *Server {
	log := opts.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if opts.Registry == nil {
		opts.Registry = proxy.NewRegistry()
	}
	s := &Server{opts: opts, log: log, sessions: make(map[*session]struct{})}
	s.server = imapserver.New(&imapserver.Options{
		NewSession:   s.newSession,
		Caps:         capabilities,
		Logger:       libraryLogger{log},
		TLSConfig:    opts.TLSConfig,
		InsecureAuth: opts.InsecureAuth,
	})
	return s
}

// Serve accepts plaintext connections that may upgrade with STARTTLS.
func (s *Server) Serve(ln net.Listener) error {
	return s.server.Serve(proxy.CoalesceListener(ln))
}

// ServeTLS accepts connections that speak TLS from the first byte
// (RFC 8314 implicit TLS).
func (s *Server) ServeTLS(ln net.Listener) error {
	if s.opts.TLSConfig == nil {
		return errors.New("imapproxy: implicit TLS listener needs a certificate")
	}
	return s.server.Serve(tls.NewListener(proxy.CoalesceListener(ln), s.opts.TLSConfig))
}

// Close stops accepting, closes every session and its upstream connection.
func (s *Server) Close() error {
	return s.server.Close()
}

// Shutdown tells every live client that the proxy is going away (an
// untagged BYE, RFC 3501 section 7.1.5) and then closes the listeners.
func (s *Server) Shutdown(text string) error {
	s.mu.Lock()
	live := make([]*session, 0, len(s.sessions))
	for sess := range s.sessions {
		live = append(live, sess)
	}
	s.mu.Unlock()
	for _, sess := range live {
		sess.conn.Bye(text)
	}
	return s.Close()
}

// Sessions returns the number of live client sessions.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

func (s *Server) track(sess *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.MaxSessions > 0 && len(s.sessions) >= s.opts.MaxSessions {
		return false
	}
	s.sessions[sess] = struct{}{}
	return true
}

func (s *Server) untrack(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, sess)
}

// libraryLogger routes the IMAP library's own messages (failed reads,
// internal errors it turned into "Internal server error") to hclog.
type libraryLogger struct{ log hclog.Logger }

func (l libraryLogger) Printf(format string, args ...interface{}) {
	l.log.Warn("imap server: " + fmt.Sprintf(format, args...))
}
