package admin

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// authed lets a request through with a live session cookie or the right
// bearer token (RFC 6750 section 2.1). Anything else gets 401 and nothing
// more; an address with too many failures gets 429 first.
func (s *Server) authed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.hasSession(r) {
			next.ServeHTTP(w, r)
			return
		}
		token, ok := bearer(r)
		if !ok {
			unauthorized(w)
			return
		}
		if s.tooMany(w, r) {
			return
		}
		if !s.opts.Token.Matches(token) {
			s.failed(r, "bearer")
			unauthorized(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// dashboardAuth sends a browser without a session to the login form
// instead of answering 401; the login form is public anyway.
func (s *Server) dashboardAuth(next http.Handler) http.Handler {
	authed := s.authed(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := bearer(r); !ok && !s.hasSession(r) {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		authed.ServeHTTP(w, r)
	})
}

func (s *Server) hasSession(r *http.Request) bool {
	c, err := r.Cookie(cookieName)
	return err == nil && s.logins.valid(c.Value)
}

// bearer returns the token of an "Authorization: Bearer" header; the
// scheme is case-insensitive (RFC 9110 section 11.1).
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="smimeproxy"`)
	http.Error(w, "unauthorized", http.StatusUnauthorized)
}

// tooMany answers 429 when the client address has used up its failures.
func (s *Server) tooMany(w http.ResponseWriter, r *http.Request) bool {
	blocked, wait := s.limiter.blocked(clientAddr(r))
	if !blocked {
		return false
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
	http.Error(w, "too many failed attempts, try again later", http.StatusTooManyRequests)
	return true
}

func (s *Server) failed(r *http.Request, how string) {
	addr := clientAddr(r)
	s.limiter.fail(addr)
	s.log.Warn("admin authentication failed", "remote", addr, "method", how)
}

// clientAddr is the peer's IP address. Proxy headers such as
// X-Forwarded-For are not trusted: anyone could send them.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
