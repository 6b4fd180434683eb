package metrics

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/smimeproxy/smimeproxy/proxy"
	"github.com/smimeproxy/smimeproxy/proxy/pipeline"
)

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newClock() *clock { return &clock{t: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)} }

func ref(user string, uid uint32) pipeline.MessageRef {
	return pipeline.MessageRef{User: user, Mailbox: "INBOX", UIDValidity: 7, UID: uid}
}

// feed sends a fixed mix of events: 2 decrypted, 1 no-key, 1 with an
// outcome we do not know, 2 signatures, 1 forged-status removing 2 fields,
// 1 event of an unknown kind.
func feed(m *Metrics) {
	user := "alice@example.org"
	m.ObserveEvent(pipeline.Event{Kind: pipeline.EventDecrypt, Ref: ref(user, 1),
		Outcome: "decrypted", KeyID: "k1", Duration: 2 * time.Millisecond})
	m.ObserveEvent(pipeline.Event{Kind: pipeline.EventDecrypt, Ref: ref(user, 2),
		Outcome: "decrypted", KeyID: "k1", Duration: 4 * time.Millisecond})
	m.ObserveEvent(pipeline.Event{Kind: pipeline.EventDecrypt, Ref: ref(user, 3),
		Outcome: "no-key", Duration: time.Millisecond})
	m.ObserveEvent(pipeline.Event{Kind: pipeline.EventDecrypt, Ref: ref(user, 4),
		Outcome: "msg-<1234@example.org>"})
	m.ObserveEvent(pipeline.Event{Kind: "verify", Ref: ref(user, 5), Outcome: "pass"})
	m.ObserveEvent(pipeline.Event{Kind: pipeline.EventVerify, Ref: ref(user, 6), Outcome: "bob@evil",
		Reason: "issuer-untrusted"})
	m.ObserveEvent(pipeline.Event{Kind: pipeline.EventForgedStatus, Ref: ref(user, 7), Count: 2})
	m.ObserveEvent(pipeline.Event{Kind: "quantum-check", Ref: ref(user, 8), Outcome: "x"})
}

func gather(t *testing.T, m *Metrics) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	families, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			t.Fatal(err)
		}
	}
	text := buf.String()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	parsed, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, text)
	}
	return parsed, text
}

// value returns the value of the series of family name whose labels
// include want.
func value(t *testing.T, families map[string]*dto.MetricFamily, name string,
	want map[string]string) float64 {
	t.Helper()
	f, ok := families[name]
	if !ok {
		t.Fatalf("no metric family %s", name)
	}
	for _, m := range f.Metric {
		if hasLabels(m, want) {
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	t.Fatalf("%s%v: no such series", name, want)
	return 0
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	found := 0
	for _, l := range m.Label {
		if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
			found++
		}
	}
	return found == len(want)
}

func TestExposition(t *testing.T) {
	c := newClock()
	reg := proxy.NewRegistry()
	reg.Add(proxy.SessionInfo{ID: "s1", Proto: "imap", User: "alice@example.org", Since: c.t})
	reg.Add(proxy.SessionInfo{ID: "s2", Proto: "imap", Since: c.t})
	m := New(Options{Version: "1.2.3", Revision: "abc", Sessions: reg, Now: c.now})
	feed(m)
	m.ObserveUpstream("imap", "CONNECT", 3*time.Millisecond, nil)
	m.ObserveUpstream("imap", "CONNECT", 3*time.Millisecond, errors.New("refused"))
	m.ObserveUpstream("imap", "UID FETCH", 20*time.Millisecond, nil)
	m.ObserveUpstream("imap", "FETCH", 30*time.Millisecond, nil)
	m.ObserveUpstream("imap", "X-ALICE-SECRET", time.Millisecond, nil)
	m.ObserveUpstream("gopher", "SELECT", time.Millisecond, nil)

	fams, text := gather(t, m)
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"smimeproxy_decrypt_total", map[string]string{"outcome": "decrypted"}, 2},
		{"smimeproxy_decrypt_total", map[string]string{"outcome": "no-key"}, 1},
		{"smimeproxy_decrypt_total", map[string]string{"outcome": "corrupt"}, 0},
		{"smimeproxy_decrypt_total", map[string]string{"outcome": "other"}, 1},
		{"smimeproxy_signature_total", map[string]string{"result": "pass"}, 1},
		{"smimeproxy_signature_total", map[string]string{"result": "fail"}, 0},
		{"smimeproxy_signature_total", map[string]string{"result": "other"}, 1},
		{"smimeproxy_forged_status_removed_total", nil, 2},
		{"smimeproxy_audit_events_total", map[string]string{"kind": "decrypt"}, 4},
		{"smimeproxy_audit_events_total", map[string]string{"kind": "other"}, 1},
		{"smimeproxy_sessions", map[string]string{"proto": "imap"}, 2},
		{"smimeproxy_sessions", map[string]string{"proto": "pop3"}, 0},
		{"smimeproxy_sessions_total", map[string]string{"proto": "imap"}, 1},
		{"smimeproxy_decrypt_duration_seconds", nil, 4},
		{"smimeproxy_upstream_command_duration_seconds",
			map[string]string{"proto": "imap", "cmd": "FETCH"}, 2},
		{"smimeproxy_upstream_command_duration_seconds",
			map[string]string{"proto": "imap", "cmd": "OTHER"}, 1},
		{"smimeproxy_upstream_command_duration_seconds",
			map[string]string{"proto": "other", "cmd": "SELECT"}, 1},
		{"smimeproxy_upstream_command_errors_total",
			map[string]string{"proto": "imap", "cmd": "CONNECT"}, 1},
		{"smimeproxy_build_info", map[string]string{"version": "1.2.3", "revision": "abc"}, 1},
	}
	for _, c := range checks {
		if got := value(t, fams, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// Users, message ids and unknown values never become label values.
	for _, leak := range []string{"alice", "1234", "evil", "quantum", "gopher", "SECRET"} {
		if strings.Contains(text, leak) {
			t.Errorf("exposition contains %q:\n%s", leak, text)
		}
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("runtime metric %s missing", name)
		}
	}
}

func TestStats(t *testing.T) {
	c := newClock()
	m := New(Options{Now: c.now, NoRuntimeCollectors: true})
	c.advance(time.Minute)
	feed(m)
	m.ObserveUpstream("imap", "CONNECT", time.Millisecond, nil)
	for i := 1; i <= 100; i++ {
		m.ObserveUpstream("imap", "FETCH", time.Duration(i)*time.Millisecond, nil)
	}
	st := m.Stats()

	counts := map[string]Count{}
	for _, c := range st.Decrypt {
		counts[c.Label] = c
	}
	if got := counts["decrypted"]; got.Total != 2 || got.PerMinute != 2 {
		t.Errorf("decrypted = %+v, want total 2, 2 per minute over the first minute", got)
	}
	if counts["other"].Total != 1 || counts["corrupt"].Total != 0 {
		t.Errorf("decrypt counts: %+v", st.Decrypt)
	}
	if st.Decrypt[0].Label != "decrypted" || len(st.Decrypt) != len(decryptOutcomes)+1 {
		t.Errorf("decrypt labels not in fixed order with other last: %+v", st.Decrypt)
	}
	if st.ForgedRemoved != 2 || st.SessionsTotal[0] != (Count{Label: "imap", Total: 1}) {
		t.Errorf("forged %d, sessions %+v", st.ForgedRemoved, st.SessionsTotal)
	}
	up := st.Upstream[0]
	if up.Label != "imap" || up.Count != 101 || up.P50MS != 50 || up.P99MS != 99 {
		t.Errorf("upstream latency %+v, want 101 commands, p50 50 ms, p99 99 ms", up)
	}
	if st.DecryptTime.Count != 4 || st.DecryptTime.P99MS != 4 {
		t.Errorf("decrypt time %+v", st.DecryptTime)
	}

	// Ten minutes later the rate window is empty, the totals stay.
	c.advance(10 * time.Minute)
	st = m.Stats()
	if st.Decrypt[0].Total != 2 || st.Decrypt[0].PerMinute != 0 {
		t.Errorf("after 10 minutes: %+v", st.Decrypt[0])
	}
}

func TestRecent(t *testing.T) {
	c := newClock()
	m := New(Options{Now: c.now, RecentEvents: 3, NoRuntimeCollectors: true})
	for uid := uint32(1); uid <= 5; uid++ {
		m.ObserveEvent(pipeline.Event{Kind: pipeline.EventDecrypt, Ref: ref("bob", uid),
			Outcome: "no-key", KeyID: "kb", Cipher: "aes-128-cbc"})
	}
	got := m.Recent(10)
	if len(got) != 3 || got[0].UID != 5 || got[2].UID != 3 {
		t.Fatalf("recent = %+v, want uids 5, 4, 3", got)
	}
	ev := got[0]
	if ev.User != "bob" || ev.Mailbox != "INBOX" || ev.Outcome != "no-key" ||
		ev.KeyID != "kb" || !ev.Time.Equal(c.t) {
		t.Errorf("event %+v", ev)
	}
	if one := m.Recent(1); len(one) != 1 || one[0].UID != 5 {
		t.Errorf("Recent(1) = %+v", one)
	}
}

func TestCommandLabel(t *testing.T) {
	for in, want := range map[string]string{
		"FETCH": "FETCH", "uid fetch": "FETCH", "AUTHENTICATE PLAIN": "AUTHENTICATE",
		"RETR": "RETR", "": "OTHER", "XYZZY": "OTHER", "UID": "OTHER",
	} {
		if got := commandLabel(in); got != want {
			t.Errorf("commandLabel(%q) = %q, want %q", in, got, want)
		}
	}
}
