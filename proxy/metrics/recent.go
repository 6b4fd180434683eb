package metrics

import (
	"time"

	"github.com/smimeproxy/smimeproxy/proxy/pipeline"
)

// Event is one audit event as the dashboard lists it: who, which message,
// what happened. Never content, never key material: the pipeline's Event
// carries none, and this copies only what names the message and the
// result.
type Event struct {
	Time        time.Time `json:"time"`
	Kind        string    `json:"kind"`
	User        string    `json:"user"`
	Mailbox     string    `json:"mailbox,omitempty"`
	UIDValidity uint32    `json:"uidvalidity,omitempty"`
	UID         uint32    `json:"uid,omitempty"`
	UIDL        string    `json:"uidl,omitempty"`
	Outcome     string    `json:"outcome,omitempty"`
	Reason      string    `json:"reason,omitempty"` // why a signature did not pass
	KeyID       string    `json:"key_id,omitempty"`
	Cipher      string    `json:"cipher,omitempty"`
	Count       int       `json:"count,omitempty"`
	DurationMS  float64   `json:"duration_ms"`
}

// maxFieldLen bounds the strings an event keeps, so that a hostile mailbox
// name cannot make the list large.
const maxFieldLen = 200

func recentEvent(ev pipeline.Event) Event {
	return Event{
		Time:        ev.Time,
		Kind:        clip(ev.Kind),
		User:        clip(ev.Ref.User),
		Mailbox:     clip(ev.Ref.Mailbox),
		UIDValidity: ev.Ref.UIDValidity,
		UID:         ev.Ref.UID,
		UIDL:        clip(ev.Ref.POP3UIDL),
		Outcome:     clip(ev.Outcome),
		Reason:      clip(ev.Reason),
		KeyID:       clip(ev.KeyID),
		Cipher:      clip(ev.Cipher),
		Count:       ev.Count,
		DurationMS:  float64(ev.Duration.Microseconds()) / 1000,
	}
}

func clip(s string) string {
	if len(s) > maxFieldLen {
		return s[:maxFieldLen]
	}
	return s
}

// ring keeps the last n events.
type ring struct {
	events []Event
	next   int
}

func newRing(n int) *ring { return &ring{events: make([]Event, 0, n)} }

func (r *ring) push(ev Event) {
	if len(r.events) < cap(r.events) {
		r.events = append(r.events, ev)
		return
	}
	r.events[r.next] = ev
	r.next = (r.next + 1) % len(r.events)
}

// newest returns up to limit events, newest first.
func (r *ring) newest(limit int) []Event {
	n := min(limit, len(r.events))
	out := make([]Event, 0, n)
	for i := 0; i < n; i++ {
		j := (r.next - 1 - i + 2*len(r.events)) % len(r.events)
		out = append(out, r.events[j])
	}
	return out
}
