package metrics

import (
	"slices"
	"time"
)

// Rates are counted in 10-second slots over the last five minutes: fine
// enough for a dashboard that refreshes every few seconds, and a fixed 30
// slots per series whatever the traffic.
const (
	slotSeconds = 10
	slotCount   = 30
	rateWindow  = slotSeconds * slotCount * time.Second
)

// window counts events in total and per recent slot.
type window struct {
	total uint64
	slots [slotCount]uint64
	stamp [slotCount]int64 // which 10-second period each slot holds
}

func (w *window) add(now time.Time, n uint64) {
	period := now.Unix() / slotSeconds
	i := period % slotCount
	if w.stamp[i] != period {
		w.stamp[i], w.slots[i] = period, 0
	}
	w.slots[i] += n
	w.total += n
}

// recent is the count over the last five minutes.
func (w *window) recent(now time.Time) uint64 {
	period := now.Unix() / slotSeconds
	var sum uint64
	for i, stamp := range w.stamp {
		if age := period - stamp; age >= 0 && age < slotCount {
			sum += w.slots[i]
		}
	}
	return sum
}

// latencySamples is how many recent durations a reservoir keeps: enough
// for a stable p99, little memory (8 KB).
const latencySamples = 1024

// reservoir keeps the last n durations for percentiles. Prometheus
// histograms answer the same question over any window with
// histogram_quantile; the dashboard has no Prometheus server to ask.
type reservoir struct {
	samples []time.Duration
	next    int
	count   uint64
}

func newReservoir(n int) *reservoir {
	return &reservoir{samples: make([]time.Duration, 0, n)}
}

func (r *reservoir) add(d time.Duration) {
	r.count++
	if len(r.samples) < cap(r.samples) {
		r.samples = append(r.samples, d)
		return
	}
	r.samples[r.next] = d
	r.next = (r.next + 1) % len(r.samples)
}

// quantiles returns the nearest-rank percentiles of the kept samples, in
// the order asked; zeros when there are none.
func (r *reservoir) quantiles(qs ...float64) []time.Duration {
	out := make([]time.Duration, len(qs))
	if len(r.samples) == 0 {
		return out
	}
	sorted := slices.Clone(r.samples)
	slices.Sort(sorted)
	for i, q := range qs {
		rank := int(q*float64(len(sorted))+0.999999) - 1
		out[i] = sorted[min(max(rank, 0), len(sorted)-1)]
	}
	return out
}
