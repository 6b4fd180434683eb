package admin

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/smimeproxy/smimeproxy/keystore"
)

// healthz: GET /healthz, the process answers.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz: GET /readyz, 200 when every check passes, else 503. The answer
// names the checks but not why one failed (that is in the log): it needs
// no token.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	rep := s.ready.report(r.Context())
	status := http.StatusOK
	if rep.Status != "ready" {
		status = http.StatusServiceUnavailable
	}
	s.writeJSON(w, status, rep)
}

type readyReport struct {
	Status  string       `json:"status"` // "ready" or "not ready"
	Checked time.Time    `json:"checked"`
	Checks  []checkState `json:"checks"`
}

type checkState struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
}

// checkTimeout bounds each readiness check; upstream dials use it too.
const checkTimeout = 2 * time.Second

// readiness runs the checks at most once per TTL, so that probes from
// many load balancers cannot make the proxy dial upstream in a loop.
type readiness struct {
	checks []Check
	ttl    time.Duration
	now    func() time.Time
	log    interface{ Warn(string, ...any) }

	mu   sync.Mutex
	last readyReport
}

func newReadiness(opts Options) *readiness {
	checks := append([]Check(nil), opts.Ready...)
	if opts.Vault != nil {
		checks = append(checks, VaultCheck(opts.Vault))
	}
	return &readiness{checks: checks, ttl: opts.ReadyTTL, now: opts.Now, log: opts.Logger}
}

func (r *readiness) report(ctx context.Context) readyReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.last.Checked.IsZero() && r.now().Sub(r.last.Checked) < r.ttl {
		return r.last
	}
	rep := readyReport{Status: "ready", Checked: r.now(), Checks: make([]checkState, len(r.checks))}
	var wg sync.WaitGroup
	errs := make([]error, len(r.checks))
	for i, c := range r.checks {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, checkTimeout)
			defer cancel()
			errs[i] = c.Run(cctx)
		})
	}
	wg.Wait()
	for i, c := range r.checks {
		rep.Checks[i] = checkState{Name: c.Name, OK: errs[i] == nil}
		if errs[i] != nil {
			rep.Status = "not ready"
			r.log.Warn("readiness check failed", "check", c.Name, "error", errs[i])
		}
	}
	r.last = rep
	return rep
}

// DialCheck is ready when a TCP connection to addr opens (the mailbox
// server is reachable); the connection is closed at once.
func DialCheck(name, addr string) Check {
	return Check{Name: name, Run: func(ctx context.Context) error {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return conn.Close()
	}}
}

// VaultCheck is ready when the vault can be listed.
func VaultCheck(v keystore.Vault) Check {
	return Check{Name: "vault", Run: func(ctx context.Context) error {
		_, err := v.List(ctx, "")
		return err
	}}
}
