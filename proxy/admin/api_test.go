package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

func (f *fixture) getJSON(path string, v any) {
	f.t.Helper()
	resp := f.do(request{path: path, bearer: testToken})
	if resp.StatusCode != 200 {
		f.t.Fatalf("%s: %s", path, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		f.t.Errorf("%s: content type %q", path, ct)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		f.t.Fatalf("%s: %v", path, err)
	}
}

func TestAPISessions(t *testing.T) {
	f := newFixture(t, nil)
	var got struct {
		Count    int           `json:"count"`
		Sessions []sessionView `json:"sessions"`
	}
	f.getJSON("/api/sessions", &got)
	want := sessionView{ID: "s1", Proto: "imap", User: "alice@example.org",
		Remote: "192.0.2.7:50123", Mailbox: "INBOX", Since: f.clock.t.Add(-90 * time.Second),
		Duration: 90}
	if got.Count != 1 || len(got.Sessions) != 1 || got.Sessions[0] != want {
		t.Errorf("sessions: %+v", got)
	}
	f.registry.Remove("s1")
	f.getJSON("/api/sessions", &got)
	if got.Count != 0 || got.Sessions == nil {
		t.Errorf("no sessions: %+v (want an empty list, not null)", got)
	}
}

func TestAPIStats(t *testing.T) {
	f := newFixture(t, nil)
	f.decrypt(1, "decrypted")
	f.decrypt(2, "no-key")
	var got struct {
		Decrypt []struct {
			Label string `json:"label"`
			Total int    `json:"total"`
		} `json:"decrypt"`
		Signature []any `json:"signature"`
	}
	f.getJSON("/api/stats", &got)
	totals := map[string]int{}
	for _, c := range got.Decrypt {
		totals[c.Label] = c.Total
	}
	if totals["decrypted"] != 1 || totals["no-key"] != 1 || totals["corrupt"] != 0 ||
		len(got.Signature) != 7 {
		t.Errorf("stats: %+v", got)
	}
}

func TestAPIEvents(t *testing.T) {
	f := newFixture(t, nil)
	for uid := uint32(1); uid <= 60; uid++ {
		f.decrypt(uid, "decrypted")
	}
	var got struct {
		Events []struct {
			Kind, User, Mailbox, Outcome string
			UID                          uint32
			KeyID                        string `json:"key_id"`
		} `json:"events"`
	}
	f.getJSON("/api/events", &got)
	if len(got.Events) != 50 || got.Events[0].UID != 60 {
		t.Fatalf("default: %d events, first %+v", len(got.Events), got.Events[0])
	}
	e := got.Events[0]
	if e.Kind != "decrypt" || e.User != "alice@example.org" || e.Mailbox != "INBOX" ||
		e.Outcome != "decrypted" || e.KeyID != "a-1" {
		t.Errorf("event %+v", e)
	}
	f.getJSON("/api/events?limit=5", &got)
	if len(got.Events) != 5 {
		t.Errorf("limit=5: %d", len(got.Events))
	}
	for _, bad := range []string{"0", "-1", "x"} {
		resp := f.do(request{path: "/api/events?limit=" + bad, bearer: testToken})
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("limit=%s: %s", bad, resp.Status)
		}
	}
}

type fakeTrust struct{ anchors []Anchor }

func (f fakeTrust) TrustAnchors(context.Context) ([]Anchor, error) { return f.anchors, nil }

type fakeRevocation struct{ err error }

func (f fakeRevocation) CRLs(context.Context) ([]CRL, error) { return nil, f.err }

func TestAPICertificates(t *testing.T) {
	f := newFixture(t, nil)
	var got certificatesView
	f.getJSON("/api/certificates", &got)
	exp := got.Vault.Expiring
	if got.WindowDays != 30 || got.Vault.Total != 3 || len(exp) != 2 {
		t.Fatalf("certificates: %+v", got)
	}
	// Soonest first; expired ones are listed with negative days.
	if exp[0].ID != "c-1" || exp[0].DaysLeft != -2 || exp[1].ID != "a-old" || exp[1].DaysLeft != 10 {
		t.Errorf("expiring: %+v", exp)
	}
	if got.Trust.Configured || got.Revocation.Configured || got.Trust.Anchors == nil {
		t.Errorf("sources should be not configured, with empty lists: %+v %+v",
			got.Trust, got.Revocation)
	}

	// The vault listing is cached.
	f.getJSON("/api/certificates", &got)
	if n := f.vault.lists.Load(); n != 1 {
		t.Errorf("vault listed %d times", n)
	}
}

func TestAPICertificatesSources(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.Trust = fakeTrust{anchors: []Anchor{{Subject: "CN=Root", Kind: "root"}}}
		o.Revocation = fakeRevocation{err: errBroken}
	})
	f.vault.err = errBroken
	var got certificatesView
	f.getJSON("/api/certificates", &got)
	anchors := got.Trust.Anchors
	if !got.Trust.Configured || len(anchors) != 1 || anchors[0].Subject != "CN=Root" {
		t.Errorf("trust: %+v", got.Trust)
	}
	if !got.Revocation.Configured || got.Revocation.Error != sourceFailed {
		t.Errorf("revocation: %+v", got.Revocation)
	}
	if got.Vault.Error != sourceFailed {
		t.Errorf("vault: %+v", got.Vault)
	}
}

func TestAPIOverview(t *testing.T) {
	f := newFixture(t, nil)
	f.clock.advance(time.Hour)
	var got overview
	f.getJSON("/api/overview", &got)
	if got.Version != "v9.9.9" || got.UptimeSec != 3600 || got.GoVersion == "" ||
		got.Ready.Status != "ready" {
		t.Errorf("overview: %+v", got)
	}
}

func TestDaysLeft(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		d    time.Duration
		want int
	}{{36 * time.Hour, 1}, {24 * time.Hour, 1}, {time.Hour, 0}, {-time.Hour, -1},
		{-24 * time.Hour, -1}, {-25 * time.Hour, -2}} {
		if got := daysLeft(now, now.Add(c.d)); got != c.want {
			t.Errorf("daysLeft(%v) = %d, want %d", c.d, got, c.want)
		}
	}
}
