package revocation

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestOCSP(t *testing.T) {
	p := newPKI(t)
	unknownCert := p.makeCert(t, "nobody", false, p.inter, "")
	s := newService(t, Options{Mode: ModeOCSP, CacheDir: t.TempDir()}, &clock{t: testNow})
	ctx := context.Background()

	if r := s.Check(ctx, p.chain(p.good)); r.Status != Good || r.Source != "ocsp" {
		t.Fatalf("good: %+v", r)
	}
	r := s.Check(ctx, p.chain(p.bad))
	if r.Status != Revoked || !r.RevokedAt.Equal(p.revoked) || r.Reason != "keyCompromise" ||
		r.Source != "ocsp" {
		t.Fatalf("bad: %+v", r)
	}
	r = s.Check(ctx, p.chain(unknownCert))
	if r.Status != Unknown || !errors.Is(r.Err, ErrOCSPUnknown) {
		t.Fatalf("unknown: %+v", r)
	}

	// Cached until nextUpdate (testNow+6h): no more requests, also from disk.
	before := p.hits.Load()
	s.Check(ctx, p.chain(p.good))
	s.Check(ctx, p.chain(p.bad))
	s2 := newService(t, Options{Mode: ModeOCSP, CacheDir: s.opts.CacheDir}, &clock{t: testNow})
	if r := s2.Check(ctx, p.chain(p.bad)); r.Status != Revoked {
		t.Fatalf("from disk: %+v", r)
	}
	if n := p.hits.Load() - before; n != 0 {
		t.Errorf("%d requests with a warm cache", n)
	}
	// After nextUpdate the responder is asked again.
	s.opts.Now = (&clock{t: testNow.Add(7 * time.Hour)}).Now
	s.Check(ctx, p.chain(p.good))
	if p.hits.Load() == before {
		t.Error("expired response reused")
	}
}

func TestOCSPUndelegatedResponder(t *testing.T) {
	p := newPKI(t)
	p.responder = p.makeCert(t, "not a responder", false, p.inter, "")
	s := newService(t, Options{Mode: ModeOCSP}, &clock{t: testNow})
	r := s.Check(context.Background(), p.chain(p.bad))
	if r.Status != Unknown || !errors.Is(r.Err, ErrBadOCSP) {
		t.Fatalf("%+v", r)
	}
}

func TestModeBoth(t *testing.T) {
	p := newPKI(t)
	delete(p.files, "/inter.crl") // the CRL is gone; OCSP still answers
	s := newService(t, Options{Mode: ModeBoth}, &clock{t: testNow})
	ctx := context.Background()
	if r := s.Check(ctx, p.chain(p.bad)); r.Status != Revoked || r.Source != "ocsp" {
		t.Fatalf("bad: %+v", r)
	}
	if r := s.Check(ctx, p.chain(p.good)); r.Status != Good {
		t.Fatalf("good: %+v", r)
	}

	p.srv.Close()
	s = newService(t, Options{Mode: ModeBoth}, &clock{t: testNow})
	r := s.Check(ctx, p.chain(p.good))
	if r.Status != Unknown || !strings.Contains(r.Err.Error(), "crl: ") ||
		!strings.Contains(r.Err.Error(), "ocsp: ") {
		t.Fatalf("down: %+v", r)
	}
}

// TestModeBothCRLFirst: with a current CRL, OCSP is not asked.
func TestModeBothCRLFirst(t *testing.T) {
	p := newPKI(t)
	s := newService(t, Options{Mode: ModeBoth}, &clock{t: testNow})
	if r := s.Check(context.Background(), p.chain(p.good)); r.Status != Good ||
		r.Source != "crl" || p.hits.Load() != 2 {
		t.Fatalf("%+v, %d requests", r, p.hits.Load())
	}
}

func TestPruneOCSP(t *testing.T) {
	p := newPKI(t)
	clk := &clock{t: testNow}
	s := newService(t, Options{Mode: ModeOCSP}, clk)
	s.Check(context.Background(), p.chain(p.good))
	if len(s.ocsp) != 2 {
		t.Fatalf("%d responses cached", len(s.ocsp))
	}
	s.pruneOCSP()
	clk.Set(testNow.Add(7 * time.Hour))
	if len(s.ocsp) != 2 {
		t.Fatal("pruned current responses")
	}
	s.pruneOCSP()
	if len(s.ocsp) != 0 {
		t.Fatalf("%d expired responses kept", len(s.ocsp))
	}
}
