package revocation

import (
	"context"
	"time"
)

// Run fetches CRLs again before their nextUpdate until ctx is done, looking
// every RefreshInterval, and drops expired OCSP responses from memory. A
// failed refresh is retried at the next look; the old CRL keeps answering
// until it expires.
func (s *Service) Run(ctx context.Context) {
	if s.opts.Mode == ModeOff {
		return
	}
	t := time.NewTicker(s.opts.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.RefreshDue(ctx)
			s.pruneOCSP()
		}
	}
}

// RefreshDue fetches every fetched CRL whose planned refresh time has come
// and whose issuer is known (it has answered a check since it was loaded).
// It returns how many were renewed.
func (s *Service) RefreshDue(ctx context.Context) int {
	now := s.opts.Now()
	s.mu.RLock()
	var due []*crlRecord
	for _, r := range s.byURL {
		r.mu.Lock()
		ok := r.issuer != nil && !r.refreshAt.IsZero() && !now.Before(r.refreshAt)
		r.mu.Unlock()
		if ok {
			due = append(due, r)
		}
	}
	s.mu.RUnlock()
	n := 0
	for _, r := range due {
		if ctx.Err() != nil {
			break
		}
		r.mu.Lock()
		issuer := r.issuer
		r.mu.Unlock()
		if _, err := s.fetchCRL(ctx, r.url, issuer); err != nil {
			s.log.Warn("CRL refresh failed; retrying", "url", r.url, "error", err)
			continue
		}
		n++
	}
	return n
}

// pruneOCSP forgets expired OCSP responses, so that memory holds only the
// signers seen recently.
// TODO(revocation-cache): expired files in the disk cache are not removed.
func (s *Service) pruneOCSP() {
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, r := range s.ocsp {
		if !now.Before(r.expires) {
			delete(s.ocsp, k)
		}
	}
}
