package metrics

import (
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/smimeproxy/smimeproxy/proxy"
	"github.com/smimeproxy/smimeproxy/proxy/pipeline"
)

// Options configure Metrics. The zero value works.
type Options struct {
	// Version is the program's version, for smimeproxy_build_info.
	Version string
	// Revision is the source revision it was built from; "" if unknown.
	Revision string
	// Sessions, if set, feeds the smimeproxy_sessions gauge.
	Sessions *proxy.Registry
	// RecentEvents is how many audit events the dashboard keeps; zero
	// means 200.
	RecentEvents int
	// Now is the clock for rates and event times. Nil: time.Now.
	Now func() time.Time
	// NoRuntimeCollectors leaves out the process and Go runtime metrics
	// (tests that compare whole outputs).
	NoRuntimeCollectors bool
}

// Metrics holds the Prometheus collectors and the dashboard's figures. It
// is safe for concurrent use; its Observe methods are cheap enough to call
// on every command.
type Metrics struct {
	opts      Options
	startedAt time.Time
	registry  *prometheus.Registry

	decrypt         map[string]prometheus.Counter // by outcome label
	signature       map[string]prometheus.Counter // by result label
	events          *prometheus.CounterVec
	forged          prometheus.Counter
	sessionsTotal   *prometheus.CounterVec
	decryptDuration prometheus.Histogram
	upstream        *prometheus.HistogramVec
	upstreamErrors  *prometheus.CounterVec

	mu         sync.Mutex
	rates      map[string]*window // "decrypt/<outcome>", "signature/<result>"
	forgedN    uint64
	starts     map[string]uint64     // sessions started, by protocol label
	latency    map[string]*reservoir // upstream commands, by protocol label
	decryptLat *reservoir
	recent     *ring
}

// New makes the collectors and registers them in a registry of their own
// (no package globals), with the process and Go runtime collectors.
func New(opts Options) *Metrics {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RecentEvents <= 0 {
		opts.RecentEvents = 200
	}
	m := &Metrics{
		opts:       opts,
		registry:   prometheus.NewRegistry(),
		rates:      make(map[string]*window),
		starts:     make(map[string]uint64),
		latency:    make(map[string]*reservoir),
		decryptLat: newReservoir(latencySamples),
		recent:     newRing(opts.RecentEvents),
	}
	m.startedAt = opts.Now()
	m.registerCounters()
	m.registerHistograms()
	m.registerGauges()
	if !opts.NoRuntimeCollectors {
		m.registry.MustRegister(collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return m
}

// Buckets in seconds: an upstream command takes from a millisecond (NOOP
// on loopback) to many seconds (FETCH of large mail); a decryption from a
// fraction of a millisecond (AES of a short mail) to seconds.
var (
	upstreamBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1,
		2.5, 5, 10, 30}
	decryptBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25,
		.5, 1, 2.5, 5}
)

func (m *Metrics) registerCounters() {
	decrypt := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smimeproxy_decrypt_total",
		Help: "S/MIME enveloped messages handled, by outcome (decrypted or why not).",
	}, []string{"outcome"})
	signature := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smimeproxy_signature_total",
		Help: "S/MIME signatures checked, by RFC 7281 result.",
	}, []string{"result"})
	m.decrypt = precreate(decrypt, decryptOutcomes)
	m.signature = precreate(signature, signatureResults)
	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smimeproxy_audit_events_total",
		Help: "Audit events, by kind.",
	}, []string{"kind"})
	m.forged = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "smimeproxy_forged_status_removed_total",
		Help: "Incoming status header fields that claimed to be ours and were removed.",
	})
	m.sessionsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smimeproxy_sessions_total",
		Help: "Client sessions started (upstream connection opened), by protocol.",
	}, []string{"proto"})
	m.upstreamErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smimeproxy_upstream_command_errors_total",
		Help: "Upstream commands that failed or were refused, by protocol and command.",
	}, []string{"proto", "cmd"})
	for _, p := range protocols {
		m.sessionsTotal.WithLabelValues(p)
	}
	m.registry.MustRegister(decrypt, signature, m.events, m.forged, m.sessionsTotal,
		m.upstreamErrors)
}

// precreate makes the counter of each allowed value (and "other") so that
// they are exported as 0 before the first event.
func precreate(vec *prometheus.CounterVec, values []string) map[string]prometheus.Counter {
	out := make(map[string]prometheus.Counter, len(values)+1)
	for _, v := range slices.Concat(values, []string{labelOther}) {
		out[v] = vec.WithLabelValues(v)
	}
	return out
}

func (m *Metrics) registerHistograms() {
	m.decryptDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "smimeproxy_decrypt_duration_seconds",
		Help:    "Time to decrypt one S/MIME message, whatever the outcome.",
		Buckets: decryptBuckets,
	})
	m.upstream = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "smimeproxy_upstream_command_duration_seconds",
		Help:    "Time the mailbox server took to complete a command, by protocol and command.",
		Buckets: upstreamBuckets,
	}, []string{"proto", "cmd"})
	m.registry.MustRegister(m.decryptDuration, m.upstream)
}

func (m *Metrics) registerGauges() {
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "smimeproxy_build_info",
		Help: "Always 1; the labels name the running build.",
		ConstLabels: prometheus.Labels{"version": m.opts.Version,
			"revision": m.opts.Revision},
	})
	build.Set(1)
	m.registry.MustRegister(build, sessionsCollector{m.opts.Sessions})
}

// Gatherer is what the /metrics handler serves.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.registry }

// Started is when the metrics began counting: the process start, for
// uptime.
func (m *Metrics) Started() time.Time { return m.startedAt }

// ObserveEvent counts one audit event from the pipeline
// (pipeline.Options.Observer). Kinds it does not know are counted under
// smimeproxy_audit_events_total{kind="other"} and listed as they are.
func (m *Metrics) ObserveEvent(ev pipeline.Event) {
	if ev.Time.IsZero() {
		ev.Time = m.opts.Now()
	}
	m.events.WithLabelValues(oneOf(ev.Kind, eventKinds)).Inc()
	switch ev.Kind {
	case pipeline.EventDecrypt:
		outcome := oneOf(ev.Outcome, decryptOutcomes)
		m.decrypt[outcome].Inc()
		m.decryptDuration.Observe(ev.Duration.Seconds())
	case pipeline.EventForgedStatus:
		m.forged.Add(float64(max(ev.Count, 1)))
	case pipeline.EventVerify:
		m.signature[oneOf(ev.Outcome, signatureResults)].Inc()
	}
	m.record(ev)
}

// record updates the dashboard's figures under the lock.
func (m *Metrics) record(ev pipeline.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch ev.Kind {
	case pipeline.EventDecrypt:
		m.rate("decrypt/"+oneOf(ev.Outcome, decryptOutcomes)).add(ev.Time, 1)
		m.decryptLat.add(ev.Duration)
	case pipeline.EventForgedStatus:
		m.forgedN += uint64(max(ev.Count, 1))
	case pipeline.EventVerify:
		m.rate("signature/"+oneOf(ev.Outcome, signatureResults)).add(ev.Time, 1)
	}
	m.recent.push(recentEvent(ev))
}

func (m *Metrics) rate(key string) *window {
	w, ok := m.rates[key]
	if !ok {
		w = &window{}
		m.rates[key] = w
	}
	return w
}

// ObserveUpstream records how long the mailbox server took to complete one
// command (imapproxy.Options.ObserveUpstream). cmd "CONNECT" is the
// connection and greeting of a new session, so a successful one also
// counts a session started.
func (m *Metrics) ObserveUpstream(proto, cmd string, d time.Duration, err error) {
	proto = oneOf(proto, protocols)
	cmd = commandLabel(cmd)
	m.upstream.WithLabelValues(proto, cmd).Observe(d.Seconds())
	if err != nil {
		m.upstreamErrors.WithLabelValues(proto, cmd).Inc()
	}
	if cmd == "CONNECT" && err == nil {
		m.sessionsTotal.WithLabelValues(proto).Inc()
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if cmd == "CONNECT" && err == nil {
		m.starts[proto]++
	}
	r, ok := m.latency[proto]
	if !ok {
		r = newReservoir(latencySamples)
		m.latency[proto] = r
	}
	r.add(d)
}

// sessionsCollector reports the live sessions per protocol at scrape time,
// from the registry the fronts keep anyway.
type sessionsCollector struct{ registry *proxy.Registry }

var sessionsDesc = prometheus.NewDesc("smimeproxy_sessions",
	"Client sessions open now, by protocol.", []string{"proto"}, nil)

func (c sessionsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- sessionsDesc }

func (c sessionsCollector) Collect(ch chan<- prometheus.Metric) {
	counts := make(map[string]int, len(protocols)+1)
	for _, p := range protocols {
		counts[p] = 0
	}
	if c.registry != nil {
		for _, s := range c.registry.Snapshot() {
			counts[oneOf(s.Proto, protocols)]++
		}
	}
	for proto, n := range counts {
		ch <- prometheus.MustNewConstMetric(sessionsDesc, prometheus.GaugeValue,
			float64(n), proto)
	}
}
