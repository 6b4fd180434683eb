package admin

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestLoginPage(t *testing.T) {
	f := newFixture(t, nil)
	resp := f.do(request{path: "/login"})
	body := readBody(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(body, `<form method="post" action="/login">`) ||
		!strings.Contains(body, `type="password"`) {
		t.Errorf("login page: %s\n%s", resp.Status, body)
	}
	if strings.Contains(body, "https://") || strings.Contains(body, "http://") {
		t.Error("login page refers to another host")
	}
}

func TestLoginCookie(t *testing.T) {
	for _, https := range []bool{false, true} {
		f := newFixture(t, func(o *Options) { o.HTTPS = https; o.SessionTTL = time.Hour })
		c := f.login()
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure != https ||
			c.Path != "/" || c.MaxAge != 3600 {
			t.Errorf("https=%t: cookie %+v", https, c)
		}
		if len(c.Value) < 40 || strings.Contains(c.Value, "horse") {
			t.Errorf("cookie value %q is not a random id", c.Value)
		}
		if resp := f.do(request{path: "/api/stats", cookie: c}); resp.StatusCode != 200 {
			t.Errorf("cookie refused: %s", resp.Status)
		}
		resp := f.do(request{path: "/", cookie: c})
		if body := readBody(t, resp); resp.StatusCode != 200 ||
			!strings.Contains(body, `src="/assets/app.js"`) {
			t.Errorf("dashboard: %s", resp.Status)
		}
		// Logged in, /login goes to the dashboard.
		if resp := f.do(request{path: "/login", cookie: c}); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("/login when logged in: %s", resp.Status)
		}
		// The session expires.
		f.clock.advance(time.Hour)
		if resp := f.do(request{path: "/api/stats", cookie: c}); resp.StatusCode != 401 {
			t.Errorf("expired cookie: %s", resp.Status)
		}
	}
}

func TestLoginWrongToken(t *testing.T) {
	f := newFixture(t, nil)
	for _, form := range []string{"token=wrong", "", "token=" + testToken + "x", "tok=" + testToken} {
		resp := f.do(request{method: http.MethodPost, path: "/login", form: form,
			remote: "198.51.100.9:1"})
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong token.") {
			t.Errorf("form %q: %s", form, resp.Status)
		}
		if len(resp.Cookies()) != 0 {
			t.Errorf("form %q set a cookie", form)
		}
	}
	// A made-up cookie opens nothing.
	fake := &http.Cookie{Name: cookieName, Value: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}
	if resp := f.do(request{path: "/api/stats", cookie: fake}); resp.StatusCode != 401 {
		t.Errorf("fake cookie: %s", resp.Status)
	}
}

func TestLoginCrossOrigin(t *testing.T) {
	f := newFixture(t, nil)
	resp := f.do(request{method: http.MethodPost, path: "/login", form: "token=" + testToken,
		header: map[string]string{"Origin": "https://evil.example"}})
	if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
		t.Errorf("cross-origin login: %s", resp.Status)
	}
	resp = f.do(request{method: http.MethodPost, path: "/login", form: "token=" + testToken,
		header: map[string]string{"Origin": "http://admin.test"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("same-origin login: %s", resp.Status)
	}
}

func TestLogout(t *testing.T) {
	f := newFixture(t, nil)
	c := f.login()
	resp := f.do(request{method: http.MethodPost, path: "/logout", cookie: c})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Errorf("logout: %s", resp.Status)
	}
	cleared := false
	for _, rc := range resp.Cookies() {
		cleared = cleared || (rc.Name == cookieName && rc.MaxAge < 0)
	}
	if !cleared {
		t.Error("logout did not clear the cookie")
	}
	if resp := f.do(request{path: "/api/stats", cookie: c}); resp.StatusCode != 401 {
		t.Errorf("cookie after logout: %s", resp.Status)
	}
	if resp := f.do(request{method: http.MethodPost, path: "/logout"}); resp.StatusCode != 401 {
		t.Errorf("logout without login: %s", resp.Status)
	}
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.FailureBurst = 3; o.FailureRefill = 10 * time.Second })
	attacker, other := "198.51.100.1:1234", "198.51.100.2:1234"
	for i := range 3 {
		resp := f.do(request{path: "/metrics", bearer: fmt.Sprint("guess-", i), remote: attacker})
		if resp.StatusCode != 401 {
			t.Fatalf("failure %d: %s", i, resp.Status)
		}
	}
	// Bucket empty: even the right token is turned away, by bearer and form.
	resp := f.do(request{path: "/metrics", bearer: testToken, remote: attacker})
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("4th attempt: %s, Retry-After %q", resp.Status, resp.Header.Get("Retry-After"))
	}
	resp = f.do(request{method: http.MethodPost, path: "/login", form: "token=" + testToken,
		remote: attacker})
	if resp.StatusCode != http.StatusTooManyRequests || len(resp.Cookies()) != 0 {
		t.Errorf("login while limited: %s", resp.Status)
	}
	// Another address is not affected, nor is a logged-in browser.
	resp = f.do(request{path: "/metrics", bearer: testToken, remote: other})
	if resp.StatusCode != 200 {
		t.Errorf("other address: %s", resp.Status)
	}
	// One refill later, one more attempt is allowed.
	f.clock.advance(10 * time.Second)
	resp = f.do(request{path: "/metrics", bearer: testToken, remote: attacker})
	if resp.StatusCode != 200 {
		t.Errorf("after refill: %s", resp.Status)
	}
}

func TestLimiterBounded(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	l := newLimiter(2, time.Second, c.now)
	for i := range maxBuckets + 10 {
		l.fail(fmt.Sprint("addr-", i))
	}
	if len(l.buckets) > maxBuckets {
		t.Errorf("%d buckets kept", len(l.buckets))
	}
}
