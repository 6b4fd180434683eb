package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func TestNewNeedsToken(t *testing.T) {
	if _, err := New(Options{}); err != ErrNoToken {
		t.Errorf("New without token: %v", err)
	}
}

func TestTokenRedacted(t *testing.T) {
	tok := NewToken([]byte(testToken))
	for _, s := range []string{fmt.Sprint(tok), fmt.Sprintf("%#v", tok), fmt.Sprintf("%+v", tok)} {
		if strings.Contains(s, "horse") {
			t.Errorf("token printed: %s", s)
		}
	}
	if !tok.Matches(testToken) || tok.Matches(testToken+"x") || tok.Matches("") {
		t.Error("Matches")
	}
	if (Token{}).Matches("") {
		t.Error("the zero Token matches the empty string")
	}
}

func TestHealthz(t *testing.T) {
	f := newFixture(t, nil)
	resp := f.do(request{path: "/healthz"})
	if body := readBody(t, resp); resp.StatusCode != 200 || body != "{\"status\":\"ok\"}\n" {
		t.Errorf("healthz: %s %q", resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
}

func TestReadyz(t *testing.T) {
	var runs atomic.Int32
	var upstreamDown atomic.Bool
	f := newFixture(t, func(o *Options) {
		o.Ready = []Check{{Name: "upstream imap", Run: func(context.Context) error {
			runs.Add(1)
			if upstreamDown.Load() {
				return fmt.Errorf("dial 10.1.2.3:143: %w", errBroken)
			}
			return nil
		}}}
	})
	var rep readyReport
	resp := f.do(request{path: "/readyz"})
	if err := json.Unmarshal([]byte(readBody(t, resp)), &rep); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || rep.Status != "ready" || len(rep.Checks) != 2 ||
		rep.Checks[1].Name != "vault" {
		t.Errorf("readyz: %s %+v", resp.Status, rep)
	}

	// Within the TTL the result is reused: no new dial.
	upstreamDown.Store(true)
	f.do(request{path: "/readyz"})
	if runs.Load() != 1 {
		t.Errorf("checks ran %d times within the TTL", runs.Load())
	}
	f.clock.advance(6 * time.Second)
	resp = f.do(request{path: "/readyz"})
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "not ready") {
		t.Errorf("upstream down: %s %s", resp.Status, body)
	}
	if strings.Contains(body, "10.1.2.3") || strings.Contains(body, "broken") {
		t.Errorf("readyz reveals the failure: %s", body)
	}
}

func TestReadyzVaultFailure(t *testing.T) {
	f := newFixture(t, nil)
	f.vault.err = errBroken
	if resp := f.do(request{path: "/readyz"}); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("vault broken: %s", resp.Status)
	}
}

// protected lists every endpoint that needs the token.
var protected = []string{"/api/overview", "/api/sessions", "/api/stats", "/api/events",
	"/api/certificates", "/metrics", "/assets/app.js", "/assets/index.html", "/no/such/page",
	"/api/nothing", "/.git/config"}

func TestUnauthorized(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.FailureBurst = 1000 })
	var first string
	for _, path := range protected {
		for _, bearer := range []string{"", "wrong-token-of-some-length", testToken[1:]} {
			resp := f.do(request{path: path, bearer: bearer})
			body := readBody(t, resp)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s with %q: %s, want 401", path, bearer, resp.Status)
			}
			if resp.Header.Get("WWW-Authenticate") != `Bearer realm="smimeproxy"` {
				t.Errorf("%s: WWW-Authenticate %q", path, resp.Header.Get("WWW-Authenticate"))
			}
			// Every 401 is the same, whether the path exists or not.
			if first == "" {
				first = body
			} else if body != first {
				t.Errorf("%s: 401 body %q differs from %q", path, body, first)
			}
		}
	}
	// The dashboard sends a browser to the login form instead.
	resp := f.do(request{path: "/"})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Errorf("GET / without login: %s %q", resp.Status, resp.Header.Get("Location"))
	}
	if resp := f.do(request{path: "/", bearer: "nope-nope-nope-nope"}); resp.StatusCode != 401 {
		t.Errorf("GET / wrong bearer: %s", resp.Status)
	}
}

func TestBearerOpensEverything(t *testing.T) {
	f := newFixture(t, nil)
	for _, path := range append(protected, "/") {
		resp := f.do(request{path: path, bearer: testToken})
		want := http.StatusOK
		if strings.Contains(path, "no") || strings.Contains(path, "git") {
			want = http.StatusNotFound
		}
		if resp.StatusCode != want {
			t.Errorf("%s with token: %s, want %d", path, resp.Status, want)
		}
	}
	// The scheme name is case-insensitive.
	resp := f.do(request{path: "/api/stats", header: map[string]string{
		"Authorization": "bearer " + testToken}})
	if resp.StatusCode != 200 {
		t.Errorf("lower-case scheme: %s", resp.Status)
	}
}

func TestPublicPaths(t *testing.T) {
	f := newFixture(t, nil)
	for _, path := range []string{"/login", "/assets/style.css", "/assets/logo.svg"} {
		if resp := f.do(request{path: path}); resp.StatusCode != 200 {
			t.Errorf("%s: %s", path, resp.Status)
		}
	}
	resp := f.do(request{path: "/assets/style.css"})
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("style.css content type %q", ct)
	}
	// The login template is not an asset.
	if resp := f.do(request{path: "/assets/login.html", bearer: testToken}); resp.StatusCode != 404 {
		t.Errorf("login.html served raw: %s", resp.Status)
	}
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t, nil)
	resp := f.do(request{path: "/login"})
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'",
		"frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	for k, want := range map[string]string{"X-Content-Type-Options": "nosniff",
		"Cache-Control": "no-store", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if resp.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS over plain HTTP")
	}
	https := newFixture(t, func(o *Options) { o.HTTPS = true })
	if https.do(request{path: "/login"}).Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS under HTTPS")
	}
}

func TestMetricsEndpoint(t *testing.T) {
	f := newFixture(t, nil)
	f.decrypt(1, "decrypted")
	f.decrypt(2, "decrypted")
	f.decrypt(3, "could-not-decrypt")
	f.metrics.ObserveUpstream("imap", "CONNECT", 2*time.Millisecond, nil)
	f.metrics.ObserveUpstream("imap", "FETCH", 5*time.Millisecond, nil)

	resp := f.do(request{path: "/metrics", bearer: testToken})
	if resp.StatusCode != 200 {
		t.Fatalf("metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	get := func(name, label, value string) float64 {
		for _, m := range fams[name].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					if m.Histogram != nil {
						return float64(m.Histogram.GetSampleCount())
					}
					return m.GetCounter().GetValue() + m.GetGauge().GetValue()
				}
			}
		}
		t.Errorf("%s{%s=%q} missing", name, label, value)
		return -1
	}
	for _, c := range []struct {
		name, label, value string
		want               float64
	}{
		{"smimeproxy_decrypt_total", "outcome", "decrypted", 2},
		{"smimeproxy_decrypt_total", "outcome", "could-not-decrypt", 1},
		{"smimeproxy_decrypt_total", "outcome", "no-key", 0},
		{"smimeproxy_sessions", "proto", "imap", 1},
		{"smimeproxy_sessions_total", "proto", "imap", 1},
		{"smimeproxy_upstream_command_duration_seconds", "cmd", "FETCH", 1},
		{"smimeproxy_build_info", "version", "v9.9.9", 1},
	} {
		if got := get(c.name, c.label, c.value); got != c.want {
			t.Errorf("%s{%s=%q} = %v, want %v", c.name, c.label, c.value, got, c.want)
		}
	}
	hist := fams["smimeproxy_decrypt_duration_seconds"].GetMetric()[0].GetHistogram()
	if n := hist.GetSampleCount(); n != 3 {
		t.Errorf("decrypt duration samples %d, want 3", n)
	}
}
