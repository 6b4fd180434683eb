package admin

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

var loginTemplate = template.Must(template.ParseFS(assets, "assets/login.html"))

// loginForm is what the login page shows besides the form.
type loginForm struct {
	Error string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if s.hasSession(r) {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.renderLogin(w, http.StatusOK, "")
}

func (s *Server) renderLogin(w http.ResponseWriter, status int, msg string) {
	var buf bytes.Buffer
	if err := loginTemplate.Execute(&buf, loginForm{Error: msg}); err != nil {
		s.log.Error("login page", "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// maxLoginForm bounds the login request body; a token is short.
const maxLoginForm = 4 << 10

// login checks the token from the form and opens a browser session.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "cross-origin login refused", http.StatusForbidden)
		return
	}
	if blocked, wait := s.limiter.blocked(clientAddr(r)); blocked {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		s.renderLogin(w, http.StatusTooManyRequests,
			"Too many failed attempts. Try again in a minute.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginForm)
	if err := r.ParseForm(); err != nil {
		s.renderLogin(w, http.StatusBadRequest, "The form could not be read.")
		return
	}
	if !s.opts.Token.Matches(r.PostForm.Get("token")) {
		s.failed(r, "login form")
		s.renderLogin(w, http.StatusUnauthorized, "Wrong token.")
		return
	}
	id, expiry := s.logins.create()
	http.SetCookie(w, &http.Cookie{
		Name:     cookieName,
		Value:    id,
		Path:     "/",
		Expires:  expiry,
		MaxAge:   int(s.opts.SessionTTL / time.Second),
		HttpOnly: true,
		Secure:   s.opts.HTTPS,
		SameSite: http.SameSiteStrictMode,
	})
	s.log.Info("admin login", "remote", clientAddr(r))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// sameOrigin refuses a login form posted from another site (login CSRF):
// browsers send Origin on POST; clients that send none are not browsers.
// Origin "null" (a sandboxed frame, or a page whose referrer policy is
// no-referrer; ours is same-origin) is refused too.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(cookieName); err == nil {
		s.logins.remove(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.opts.HTTPS, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
