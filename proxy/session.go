package proxy

import (
	"crypto/rand"
	"encoding/hex"
	"sort"
	"sync"
	"time"
)

// NewSessionID returns a short random identifier that ties together every
// log line and audit event of one client connection.
func NewSessionID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// SessionInfo is what operators may see of a live session: no credentials,
// no message data.
type SessionInfo struct {
	ID      string
	Proto   string
	Remote  string
	User    string
	Mailbox string
	Since   time.Time
}

// Registry tracks live sessions across protocols, for the logs, the
// dashboard and graceful shutdown.
type Registry struct {
	mu       sync.Mutex
	sessions map[string]*SessionInfo
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{sessions: make(map[string]*SessionInfo)}
}

// Add records a new session.
func (r *Registry) Add(info SessionInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sessions[info.ID] = &info
}

// Update changes a live session's record; unknown IDs are ignored.
func (r *Registry) Update(id string, change func(*SessionInfo)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if info, ok := r.sessions[id]; ok {
		change(info)
	}
}

// Remove forgets a session that ended.
func (r *Registry) Remove(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.sessions, id)
}

// Snapshot returns copies of the live sessions, oldest first.
func (r *Registry) Snapshot() []SessionInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	list := make([]SessionInfo, 0, len(r.sessions))
	for _, info := range r.sessions {
		list = append(list, *info)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Since.Before(list[j].Since) })
	return list
}

// Len returns the number of live sessions.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sessions)
}
