package admin

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"
)

// cookieName is the browser session cookie. It holds a random id, never
// the token.
const cookieName = "smimeproxy_admin"

// maxLogins bounds the number of browser sessions kept; past it the one
// closest to expiry is dropped.
const maxLogins = 1000

// logins are the browser sessions opened with the token. Ids are 256-bit
// random values; only their digests are stored.
type logins struct {
	mu      sync.Mutex
	ttl     time.Duration
	now     func() time.Time
	expires map[[sha256.Size]byte]time.Time
}

func newLogins(ttl time.Duration, now func() time.Time) *logins {
	return &logins{ttl: ttl, now: now, expires: make(map[[sha256.Size]byte]time.Time)}
}

// create opens a session and returns its id and expiry.
func (l *logins) create() (string, time.Time) {
	var raw [32]byte
	rand.Read(raw[:]) // never fails (crypto/rand since Go 1.24)
	id := base64.RawURLEncoding.EncodeToString(raw[:])
	expiry := l.now().Add(l.ttl)

	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.expires) >= maxLogins {
		l.evict()
	}
	l.expires[sha256.Sum256([]byte(id))] = expiry
	return id, expiry
}

// valid reports whether id names a live session.
func (l *logins) valid(id string) bool {
	if id == "" {
		return false
	}
	key := sha256.Sum256([]byte(id))
	l.mu.Lock()
	defer l.mu.Unlock()
	expiry, ok := l.expires[key]
	if ok && !l.now().Before(expiry) {
		delete(l.expires, key)
		return false
	}
	return ok
}

func (l *logins) remove(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.expires, sha256.Sum256([]byte(id)))
}

// evict drops expired sessions, or else the one that expires first.
func (l *logins) evict() {
	now := l.now()
	var first [sha256.Size]byte
	var firstExpiry time.Time
	for key, expiry := range l.expires {
		if !now.Before(expiry) {
			delete(l.expires, key)
			continue
		}
		if firstExpiry.IsZero() || expiry.Before(firstExpiry) {
			first, firstExpiry = key, expiry
		}
	}
	if len(l.expires) >= maxLogins {
		delete(l.expires, first)
	}
}
