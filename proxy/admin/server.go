package admin

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/smimeproxy/smimeproxy/keystore"
	"github.com/smimeproxy/smimeproxy/proxy"
	"github.com/smimeproxy/smimeproxy/proxy/metrics"
)

// ErrNoToken reports Options without a token: the server would accept
// nobody, or worse.
var ErrNoToken = errors.New("admin: no access token configured")

// Options configure a Server. Token and Metrics are required; every other
// source may be nil, and the dashboard then says "not configured".
type Options struct {
	// Token opens everything but the health checks.
	Token Token
	// Metrics supplies the counters, latencies and recent events.
	Metrics *metrics.Metrics
	// Sessions lists the live client sessions.
	Sessions *proxy.Registry
	// Vault lists the stored certificates, for expiry warnings and the
	// readiness check.
	Vault keystore.Vault
	// Trust and Revocation list trust anchors and CRLs.
	Trust      TrustSource
	Revocation RevocationSource
	// Ready are the conditions /readyz checks besides the vault.
	Ready []Check
	// Version and Revision name the build.
	Version, Revision string
	// HTTPS marks the session cookie Secure; set it when serving TLS.
	HTTPS bool
	// Logger receives logins, failures and errors; nil discards them.
	Logger hclog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// SessionTTL is how long a browser login lasts; zero means 12 hours.
	SessionTTL time.Duration
	// FailureBurst failed authentications per client address are allowed
	// at once, then one per FailureRefill; zero means 5 and 12 seconds.
	FailureBurst  int
	FailureRefill time.Duration
	// ReadyTTL is how long a /readyz result is reused; zero means 5 s.
	ReadyTTL time.Duration
	// ExpiryWindow is how far ahead certificates count as expiring; zero
	// means 30 days.
	ExpiryWindow time.Duration
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.FailureBurst <= 0 {
		o.FailureBurst = 5
	}
	if o.FailureRefill <= 0 {
		o.FailureRefill = 12 * time.Second
	}
	if o.ReadyTTL <= 0 {
		o.ReadyTTL = 5 * time.Second
	}
	if o.ExpiryWindow <= 0 {
		o.ExpiryWindow = 30 * 24 * time.Hour
	}
}

// Server is the admin HTTP handler and, optionally, its listener.
type Server struct {
	opts    Options
	log     hclog.Logger
	mux     *http.ServeMux
	logins  *logins
	limiter *limiter
	ready   *readiness
	certs   *certCache
	http    *http.Server
}

// New returns the admin server.
func New(opts Options) (*Server, error) {
	if !opts.Token.set {
		return nil, ErrNoToken
	}
	if opts.Metrics == nil {
		return nil, errors.New("admin: Options.Metrics is required")
	}
	opts.setDefaults()
	s := &Server{
		opts:    opts,
		log:     opts.Logger,
		logins:  newLogins(opts.SessionTTL, opts.Now),
		limiter: newLimiter(opts.FailureBurst, opts.FailureRefill, opts.Now),
		ready:   newReadiness(opts),
		certs:   &certCache{vault: opts.Vault, now: opts.Now},
	}
	s.routes()
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog: s.log.StandardLogger(&hclog.StandardLoggerOptions{
			ForceLevel: hclog.Debug}),
	}
	return s, nil
}

func (s *Server) routes() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("GET /assets/style.css", s.asset)
	mux.HandleFunc("GET /assets/logo.svg", s.asset)

	mux.Handle("GET /{$}", s.dashboardAuth(http.HandlerFunc(s.dashboard)))
	mux.Handle("POST /logout", s.authed(http.HandlerFunc(s.logout)))
	mux.Handle("GET /assets/", s.authed(http.HandlerFunc(s.asset)))
	mux.Handle("GET /metrics", s.authed(promhttp.HandlerFor(s.opts.Metrics.Gatherer(),
		promhttp.HandlerOpts{ErrorLog: promLogger{s.log}})))
	mux.Handle("GET /api/overview", s.authed(http.HandlerFunc(s.apiOverview)))
	mux.Handle("GET /api/sessions", s.authed(http.HandlerFunc(s.apiSessions)))
	mux.Handle("GET /api/stats", s.authed(http.HandlerFunc(s.apiStats)))
	mux.Handle("GET /api/events", s.authed(http.HandlerFunc(s.apiEvents)))
	mux.Handle("GET /api/certificates", s.authed(http.HandlerFunc(s.apiCertificates)))
	// Anything else is 401 without the token and 404 with it, so that
	// nobody learns which paths exist.
	mux.Handle("/", s.authed(http.NotFoundHandler()))
	s.mux = mux
}

// ServeHTTP adds the security headers every answer carries and routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; "+
		"style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; "+
		"frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	if s.opts.HTTPS {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	s.mux.ServeHTTP(w, r)
}

// Serve accepts admin connections on ln until Shutdown; tlsConfig nil
// serves plain HTTP.
func (s *Server) Serve(ln net.Listener, tlsConfig *tls.Config) error {
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	err := s.http.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting and waits for requests in flight, up to ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.http.Shutdown(ctx)
}

// promLogger routes the metrics handler's errors to hclog.
type promLogger struct{ log hclog.Logger }

func (l promLogger) Println(v ...any) { l.log.Error("metrics handler", "error", v) }
