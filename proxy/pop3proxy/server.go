package pop3proxy

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/smimeproxy/smimeproxy/proxy"
)

// Options configures a Server: the settings every front takes, and
// POP3's own.
type Options struct {
	proxy.FrontOptions

	// IdleTimeout ends a session whose client sent nothing for that long.
	// Zero means 10 minutes, the least RFC 1939 section 3 allows.
	IdleTimeout time.Duration
	// MaxMessageBytes bounds one message read from the mailbox server;
	// zero means DefaultMaxMessageBytes.
	MaxMessageBytes int64
	// SizeCacheEntries bounds the cache of per-message sizes that makes
	// STAT and LIST fast after the first session; zero means 200,000
	// entries (about 50 MB at most).
	SizeCacheEntries int
}

// Server accepts POP3 clients and relays them to the upstream server.
type Server struct {
	opts  Options
	log   hclog.Logger
	sizes *sizeCache

	mu        sync.Mutex
	closed    bool
	listeners map[net.Listener]struct{}
	sessions  map[*session]struct{}
	wg        sync.WaitGroup
}

// ErrNoCertificate reports ServeTLS without Options.TLSConfig.
var ErrNoCertificate = errors.New("pop3proxy: implicit TLS listener needs a certificate")

// New returns a server; call Serve or ServeTLS to accept clients.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.Registry == nil {
		opts.Registry = proxy.NewRegistry()
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 10 * time.Minute
	}
	if opts.SizeCacheEntries <= 0 {
		opts.SizeCacheEntries = 200_000
	}
	return &Server{
		opts:      opts,
		log:       opts.Logger,
		sizes:     newSizeCache(opts.SizeCacheEntries),
		listeners: make(map[net.Listener]struct{}),
		sessions:  make(map[*session]struct{}),
	}
}

// Serve accepts plaintext connections that may upgrade with STLS. It
// returns nil after Close or Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	return s.serve(ln, false)
}

// ServeTLS accepts connections that speak TLS from the first byte
// (RFC 8314 implicit TLS, the pop3s port).
func (s *Server) ServeTLS(ln net.Listener) error {
	if s.opts.TLSConfig == nil {
		return ErrNoCertificate
	}
	return s.serve(ln, true)
}

func (s *Server) serve(ln net.Listener, implicitTLS bool) error {
	if !s.addListener(ln) {
		ln.Close()
		return nil
	}
	defer s.removeListener(ln)
	var delay time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		s.start(conn, implicitTLS)
	}
}

// start runs a session for conn. It is tracked from here on, under the
// same lock as closed, so that Shutdown and Close reach every session.
func (s *Server) start(conn net.Conn, implicitTLS bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		conn.Close()
		return
	}
	sess := newSession(s, conn, implicitTLS)
	if s.opts.MaxSessions > 0 && len(s.sessions) >= s.opts.MaxSessions {
		sess.refused = true
	} else {
		s.sessions[sess] = struct{}{}
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.untrack(sess)
		sess.run()
	}()
}

func (s *Server) addListener(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.listeners[ln] = struct{}{}
	return true
}

func (s *Server) removeListener(ln net.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.listeners, ln)
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// stopAccepting closes the listeners and returns the live sessions.
func (s *Server) stopAccepting() []*session {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for ln := range s.listeners {
		ln.Close()
	}
	live := make([]*session, 0, len(s.sessions))
	for sess := range s.sessions {
		live = append(live, sess)
	}
	return live
}

// Close stops accepting and closes every session and its upstream
// connection at once. Sessions that did not QUIT delete nothing.
func (s *Server) Close() error {
	for _, sess := range s.stopAccepting() {
		sess.abort()
	}
	s.wg.Wait()
	return nil
}

// Shutdown stops accepting and ends every session once its current
// command is answered: the client gets "-ERR [SYS/TEMP] text" and the
// connection closes. Nothing is deleted for sessions that did not QUIT.
// Shutdown waits for the sessions to end; callers bound the wait.
func (s *Server) Shutdown(text string) error {
	for _, sess := range s.stopAccepting() {
		sess.stop(text)
	}
	s.wg.Wait()
	return nil
}

// Sessions returns the number of live client sessions.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

func (s *Server) untrack(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, sess)
}
