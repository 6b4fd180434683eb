package metrics

import (
	"slices"
	"time"
)

// Stats is the dashboard's view of the counters, in JSON.
type Stats struct {
	Since         time.Time `json:"since"`
	RateWindowSec int       `json:"rate_window_seconds"`
	Decrypt       []Count   `json:"decrypt"`   // decryption outcomes, fixed order
	Signature     []Count   `json:"signature"` // signature results, fixed order
	ForgedRemoved uint64    `json:"forged_status_removed"`
	SessionsTotal []Count   `json:"sessions_total"` // by protocol
	Upstream      []Latency `json:"upstream"`       // by protocol
	DecryptTime   Latency   `json:"decrypt_time"`
}

// Count is one counter: its total since start and its rate per minute over
// the last five minutes (or since start, if that is shorter).
type Count struct {
	Label     string  `json:"label"`
	Total     uint64  `json:"total"`
	PerMinute float64 `json:"per_minute"`
}

// Latency summarises the most recent durations of one kind.
type Latency struct {
	Label   string  `json:"label"`
	Count   uint64  `json:"count"`   // observations since start
	Samples int     `json:"samples"` // how many recent ones the percentiles use
	P50MS   float64 `json:"p50_ms"`
	P99MS   float64 `json:"p99_ms"`
}

// Stats returns the current figures.
func (m *Metrics) Stats() Stats {
	now := m.opts.Now()
	m.mu.Lock()
	defer m.mu.Unlock()

	st := Stats{
		Since:         m.startedAt,
		RateWindowSec: int(rateWindow / time.Second),
		Decrypt:       m.counts(now, "decrypt/", decryptOutcomes),
		Signature:     m.counts(now, "signature/", signatureResults),
		ForgedRemoved: m.forgedN,
		DecryptTime:   latencyOf("decrypt", m.decryptLat),
	}
	for _, p := range protocols {
		st.SessionsTotal = append(st.SessionsTotal, Count{Label: p, Total: m.starts[p]})
		if r, ok := m.latency[p]; ok {
			st.Upstream = append(st.Upstream, latencyOf(p, r))
		}
	}
	return st
}

// counts lists the allowed labels in order, then "other" if it ever
// happened.
func (m *Metrics) counts(now time.Time, prefix string, labels []string) []Count {
	span := min(now.Sub(m.startedAt), rateWindow)
	minutes := max(span, slotSeconds*time.Second).Minutes()
	out := make([]Count, 0, len(labels)+1)
	for _, label := range slices.Concat(labels, []string{labelOther}) {
		c := Count{Label: label}
		if w, ok := m.rates[prefix+label]; ok {
			c.Total = w.total
			c.PerMinute = float64(w.recent(now)) / minutes
		}
		if label != labelOther || c.Total > 0 {
			out = append(out, c)
		}
	}
	return out
}

func latencyOf(label string, r *reservoir) Latency {
	q := r.quantiles(0.5, 0.99)
	return Latency{
		Label:   label,
		Count:   r.count,
		Samples: len(r.samples),
		P50MS:   float64(q[0].Microseconds()) / 1000,
		P99MS:   float64(q[1].Microseconds()) / 1000,
	}
}

// Recent returns up to limit audit events, newest first.
func (m *Metrics) Recent(limit int) []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.recent.newest(limit)
}
