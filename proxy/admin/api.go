package admin

import (
	"encoding/json"
	"net/http"
	"runtime"
	"strconv"
	"time"
)

// writeJSON answers with v as JSON.
func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		s.log.Error("admin api: encode", "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(data, '\n'))
}

type overview struct {
	Version   string      `json:"version"`
	Revision  string      `json:"revision,omitempty"`
	GoVersion string      `json:"go_version"`
	Started   time.Time   `json:"started"`
	Now       time.Time   `json:"now"`
	UptimeSec int64       `json:"uptime_seconds"`
	Ready     readyReport `json:"ready"`
}

// apiOverview: GET /api/overview, the build and the readiness checks.
func (s *Server) apiOverview(w http.ResponseWriter, r *http.Request) {
	now := s.opts.Now()
	started := s.opts.Metrics.Started()
	s.writeJSON(w, http.StatusOK, overview{
		Version:   s.opts.Version,
		Revision:  s.opts.Revision,
		GoVersion: runtime.Version(),
		Started:   started,
		Now:       now,
		UptimeSec: int64(now.Sub(started) / time.Second),
		Ready:     s.ready.report(r.Context()),
	})
}

type sessionView struct {
	ID       string    `json:"id"`
	Proto    string    `json:"proto"`
	User     string    `json:"user"` // "" until login
	Remote   string    `json:"remote"`
	Mailbox  string    `json:"mailbox"` // "" when none selected
	Since    time.Time `json:"since"`
	Duration int64     `json:"duration_seconds"`
}

// apiSessions: GET /api/sessions, the live client sessions, oldest first.
func (s *Server) apiSessions(w http.ResponseWriter, r *http.Request) {
	now := s.opts.Now()
	list := []sessionView{}
	if s.opts.Sessions != nil {
		for _, info := range s.opts.Sessions.Snapshot() {
			list = append(list, sessionView{
				ID: info.ID, Proto: info.Proto, User: info.User, Remote: info.Remote,
				Mailbox: info.Mailbox, Since: info.Since,
				Duration: int64(now.Sub(info.Since) / time.Second),
			})
		}
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"count": len(list), "sessions": list})
}

// apiStats: GET /api/stats, counters, rates and latencies.
func (s *Server) apiStats(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, http.StatusOK, s.opts.Metrics.Stats())
}

// Events listed: 50 unless ?limit= asks for 1 to 200.
const (
	defaultEvents = 50
	maxEvents     = 200
)

// apiEvents: GET /api/events?limit=N, recent audit events, newest first.
func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request) {
	limit := defaultEvents
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			http.Error(w, "limit must be a positive integer", http.StatusBadRequest)
			return
		}
		limit = min(n, maxEvents)
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"events": s.opts.Metrics.Recent(limit)})
}

// apiCertificates: GET /api/certificates, vault certificates that expire
// soon, trust anchors and CRLs.
func (s *Server) apiCertificates(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, http.StatusOK, s.certificates(r.Context()))
}
