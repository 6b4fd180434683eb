package admin

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smimeproxy/smimeproxy/keystore"
	"github.com/smimeproxy/smimeproxy/proxy"
	"github.com/smimeproxy/smimeproxy/proxy/metrics"
	"github.com/smimeproxy/smimeproxy/proxy/pipeline"
	"github.com/smimeproxy/smimeproxy/smime"
)

const testToken = "correct-horse-battery-staple"

const day = 24 * time.Hour

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// fakeVault lists fixed keys, or fails.
type fakeVault struct {
	keys  []keystore.KeyInfo
	err   error
	lists atomic.Int32
}

func (v *fakeVault) Keys(context.Context, string) ([]smime.Key, error) { return nil, nil }

func (v *fakeVault) List(context.Context, string) ([]keystore.KeyInfo, error) {
	v.lists.Add(1)
	return v.keys, v.err
}

// fixture is a Server with a settable clock, a vault, a registry with one
// session and metrics with a few events.
type fixture struct {
	t        testing.TB
	clock    *clock
	srv      *Server
	vault    *fakeVault
	registry *proxy.Registry
	metrics  *metrics.Metrics
}

func newFixture(t testing.TB, change func(*Options)) *fixture {
	t.Helper()
	c := &clock{t: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}
	f := &fixture{t: t, clock: c, registry: proxy.NewRegistry()}
	f.vault = &fakeVault{keys: []keystore.KeyInfo{
		{User: "alice@example.org", ID: "a-old", Subject: "CN=Alice", NotAfter: c.t.Add(10 * day)},
		{User: "bob@example.org", ID: "b-1", Subject: "CN=Bob", NotAfter: c.t.Add(300 * day)},
		{User: "carol@example.org", ID: "c-1", Subject: "CN=Carol", NotAfter: c.t.Add(-36 * time.Hour)},
	}}
	f.registry.Add(proxy.SessionInfo{ID: "s1", Proto: "imap", Remote: "192.0.2.7:50123",
		User: "alice@example.org", Mailbox: "INBOX", Since: c.t.Add(-90 * time.Second)})
	f.metrics = metrics.New(metrics.Options{Version: "v9.9.9", Sessions: f.registry, Now: c.now})
	opts := Options{
		Token:    NewToken([]byte(testToken)),
		Metrics:  f.metrics,
		Sessions: f.registry,
		Vault:    f.vault,
		Version:  "v9.9.9",
		Now:      c.now,
	}
	if change != nil {
		change(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	return f
}

func (f *fixture) decrypt(uid uint32, outcome string) {
	f.metrics.ObserveEvent(pipeline.Event{Kind: pipeline.EventDecrypt, Outcome: outcome,
		KeyID: "a-1", Duration: time.Millisecond, Ref: pipeline.MessageRef{
			User: "alice@example.org", Mailbox: "INBOX", UIDValidity: 1, UID: uid}})
}

// request describes one call to the server.
type request struct {
	method, path string
	remote       string // default 203.0.113.1:40000
	bearer       string
	cookie       *http.Cookie
	form         string // POST body, form-encoded
	header       map[string]string
}

func (f *fixture) do(r request) *http.Response {
	f.t.Helper()
	if r.method == "" {
		r.method = http.MethodGet
	}
	var body io.Reader
	if r.form != "" {
		body = strings.NewReader(r.form)
	}
	req := httptest.NewRequest(r.method, "http://admin.test"+r.path, body)
	req.RemoteAddr = r.remote
	if req.RemoteAddr == "" {
		req.RemoteAddr = "203.0.113.1:40000"
	}
	if r.form != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if r.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+r.bearer)
	}
	if r.cookie != nil {
		req.AddCookie(r.cookie)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	return rec.Result()
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// login posts the token and returns the session cookie.
func (f *fixture) login() *http.Cookie {
	f.t.Helper()
	resp := f.do(request{method: http.MethodPost, path: "/login", form: "token=" + testToken})
	if resp.StatusCode != http.StatusSeeOther {
		f.t.Fatalf("login: %s", resp.Status)
	}
	for _, c := range resp.Cookies() {
		if c.Name == cookieName {
			return c
		}
	}
	f.t.Fatal("login set no session cookie")
	return nil
}

var errBroken = errors.New("broken on purpose")
