package revocation

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCRLGoodAndRevoked(t *testing.T) {
	p := newPKI(t)
	clk := &clock{t: testNow}
	s := newService(t, Options{CacheDir: t.TempDir()}, clk)
	ctx := context.Background()

	r := s.Check(ctx, p.chain(p.good))
	if r.Status != Good || r.Source != "crl" || r.Err != nil {
		t.Fatalf("good: %+v", r)
	}
	r = s.Check(ctx, p.chain(p.bad))
	if r.Status != Revoked || !r.RevokedAt.Equal(p.revoked) || r.Reason != "keyCompromise" {
		t.Fatalf("bad: %+v", r)
	}
	if n := p.hits.Load(); n != 2 {
		t.Errorf("%d requests, want 2 (one per CRL)", n)
	}
}

// TestWarmCacheNoNetwork: once the CRLs are cached, checks do not touch the
// network, neither in this Service nor in a new one over the same cache dir.
func TestWarmCacheNoNetwork(t *testing.T) {
	p := newPKI(t)
	clk := &clock{t: testNow}
	dir := t.TempDir()
	s := newService(t, Options{CacheDir: dir}, clk)
	ctx := context.Background()
	s.Check(ctx, p.chain(p.good))
	before := p.hits.Load()
	for range 100 {
		if r := s.Check(ctx, p.chain(p.bad)); r.Status != Revoked {
			t.Fatal(r)
		}
		if r := s.Check(ctx, p.chain(p.good)); r.Status != Good {
			t.Fatal(r)
		}
	}
	s2 := newService(t, Options{CacheDir: dir}, clk)
	if r := s2.Check(ctx, p.chain(p.bad)); r.Status != Revoked {
		t.Fatal(r)
	}
	if n := p.hits.Load() - before; n != 0 {
		t.Errorf("%d requests with a warm cache", n)
	}
}

func TestCRLServerDown(t *testing.T) {
	p := newPKI(t)
	p.srv.Close()
	s := newService(t, Options{Timeout: 2 * time.Second}, &clock{t: testNow})
	r := s.Check(context.Background(), p.chain(p.good))
	if r.Status != Unknown || !errors.Is(r.Err, ErrUnreachable) || r.Source != "crl" {
		t.Fatalf("%+v", r)
	}
	t.Log(r.Err)
}

func TestCRLNotFound(t *testing.T) {
	p := newPKI(t)
	p.setFile("/inter.crl", nil)
	delete(p.files, "/inter.crl")
	s := newService(t, Options{}, &clock{t: testNow})
	r := s.Check(context.Background(), p.chain(p.good))
	if r.Status != Unknown || !errors.Is(r.Err, ErrUnreachable) {
		t.Fatalf("%+v", r)
	}
}

func TestCRLForged(t *testing.T) {
	p := newPKI(t)
	// Same issuer name, another key: what an attacker on the path could serve.
	fake := p.makeCert(t, "Test Issuing CA", true, nil, "")
	p.publish(t, "/inter.crl", fake, testNow.Add(-time.Hour), testNow.Add(time.Hour))
	s := newService(t, Options{}, &clock{t: testNow})
	r := s.Check(context.Background(), p.chain(p.bad))
	if r.Status != Unknown || !errors.Is(r.Err, ErrBadCRL) {
		t.Fatalf("%+v", r)
	}
	// Without the key identifier hint, the signature check catches it.
	list, err := parseCRL(p.files["/inter.crl"])
	if err != nil {
		t.Fatal(err)
	}
	list.AuthorityKeyId = nil
	if err := verifyCRL(list, p.inter.cert); !errors.Is(err, ErrBadCRL) ||
		!strings.Contains(err.Error(), "signature") {
		t.Fatalf("err = %v", err)
	}
}

func TestCRLTooLarge(t *testing.T) {
	p := newPKI(t)
	s := newService(t, Options{MaxCRLBytes: 100}, &clock{t: testNow})
	r := s.Check(context.Background(), p.chain(p.good))
	if r.Status != Unknown || !errors.Is(r.Err, ErrTooLarge) {
		t.Fatalf("%+v", r)
	}
}

func TestCRLStale(t *testing.T) {
	p := newPKI(t)
	p.publish(t, "/inter.crl", p.inter, testNow.Add(-48*time.Hour), testNow.Add(-time.Hour))
	s := newService(t, Options{}, &clock{t: testNow})
	r := s.Check(context.Background(), p.chain(p.good))
	if r.Status != Unknown || !errors.Is(r.Err, ErrStale) {
		t.Fatalf("%+v", r)
	}
}

func TestNoSource(t *testing.T) {
	p := newPKI(t)
	bare := p.makeCert(t, "bare", false, p.inter, "")
	bare.cert.OCSPServer = nil
	for _, mode := range []Mode{ModeCRL, ModeOCSP, ModeBoth} {
		s := newService(t, Options{Mode: mode}, &clock{t: testNow})
		r := s.Check(context.Background(), []*x509.Certificate{bare.cert, p.inter.cert,
			p.root.cert})
		if r.Status != Good || r.Source != "none" || r.Err != nil {
			t.Errorf("%s: %+v", mode, r)
		}
	}
	// ModeBoth: no CRL distribution point, but an OCSP responder.
	ocspOnly := p.makeCert(t, "ocsp-only", false, p.inter, "")
	p.setOCSP(ocspOnly.cert, 1) // revoked
	s := newService(t, Options{Mode: ModeBoth}, &clock{t: testNow})
	if r := s.Check(context.Background(), p.chain(ocspOnly)); r.Status != Revoked {
		t.Errorf("ocsp only: %+v", r)
	}
}

func TestModeOff(t *testing.T) {
	p := newPKI(t)
	s := newService(t, Options{Mode: ModeOff}, &clock{t: testNow})
	r := s.Check(context.Background(), p.chain(p.bad))
	if r.Status != Good || r.Source != "off" || p.hits.Load() != 0 {
		t.Fatalf("%+v, %d requests", r, p.hits.Load())
	}
	if _, err := New(Options{Mode: "sometimes"}); err == nil {
		t.Error("bad mode accepted")
	}
}

// TestSingleFlight: concurrent checks on a cold cache fetch each CRL once.
func TestSingleFlight(t *testing.T) {
	p := newPKI(t)
	p.delay = 50 * time.Millisecond
	s := newService(t, Options{}, &clock{t: testNow})
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if r := s.Check(context.Background(), p.chain(p.good)); r.Status != Good {
				t.Error(r)
			}
		})
	}
	wg.Wait()
	if n := p.hits.Load(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

// TestIntermediateRevoked: the root's CRL revokes the issuing CA.
func TestIntermediateRevoked(t *testing.T) {
	p := newPKI(t)
	p.publish(t, "/root.crl", p.root, testNow.Add(-time.Hour), testNow.Add(time.Hour),
		p.inter.cert)
	s := newService(t, Options{}, &clock{t: testNow})
	r := s.Check(context.Background(), p.chain(p.good))
	if r.Status != Revoked {
		t.Fatalf("%+v", r)
	}
}

// TestRefreshBeforeNextUpdate: the background refresh fetches a CRL again
// before it expires, and the new CRL answers from then on.
func TestRefreshBeforeNextUpdate(t *testing.T) {
	p := newPKI(t)
	clk := &clock{t: testNow}
	s := newService(t, Options{CacheDir: t.TempDir()}, clk)
	ctx := context.Background()
	s.Check(ctx, p.chain(p.good))
	if n := s.RefreshDue(ctx); n != 0 {
		t.Fatalf("refreshed %d CRLs right after fetching", n)
	}

	// The CA revokes alice in its next CRL.
	next := testNow.Add(23 * time.Hour)
	p.publish(t, "/inter.crl", p.inter, next, next.Add(24*time.Hour), p.bad.cert, p.good.cert)
	p.publish(t, "/root.crl", p.root, next, next.Add(24*time.Hour))
	// nextUpdate is testNow+24h; the refresh lead is at most a fifth of the
	// validity plus jitter (under 8h here).
	clk.Set(testNow.Add(23*time.Hour + 59*time.Minute))
	before := p.hits.Load()

	runCtx, cancel := context.WithCancel(ctx)
	s.opts.RefreshInterval = 5 * time.Millisecond
	done := make(chan struct{})
	go func() { s.Run(runCtx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for p.hits.Load()-before < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if n := p.hits.Load() - before; n < 2 {
		t.Fatalf("%d refresh requests", n)
	}
	if r := s.Check(ctx, p.chain(p.good)); r.Status != Revoked {
		t.Fatalf("after refresh: %+v", r)
	}
}

func TestRefreshKeepsOldOnFailure(t *testing.T) {
	p := newPKI(t)
	clk := &clock{t: testNow}
	s := newService(t, Options{}, clk)
	ctx := context.Background()
	s.Check(ctx, p.chain(p.bad))
	p.srv.Close()
	clk.Set(testNow.Add(23*time.Hour + 59*time.Minute))
	if n := s.RefreshDue(ctx); n != 0 {
		t.Fatalf("refreshed %d", n)
	}
	if r := s.Check(ctx, p.chain(p.bad)); r.Status != Revoked {
		t.Fatalf("old CRL not used: %+v", r)
	}
	clk.Set(testNow.Add(25 * time.Hour))
	if r := s.Check(ctx, p.chain(p.bad)); r.Status != Unknown {
		t.Fatalf("expired CRL used: %+v", r)
	}
}

// TestOlderCRLRefused: a replayed older CRL does not replace a newer one.
func TestOlderCRLRefused(t *testing.T) {
	p := newPKI(t)
	clk := &clock{t: testNow}
	s := newService(t, Options{}, clk)
	ctx := context.Background()
	s.Check(ctx, p.chain(p.bad))
	p.publish(t, "/inter.crl", p.inter, testNow.Add(-2*time.Hour), testNow.Add(48*time.Hour))
	u := p.bad.cert.CRLDistributionPoints[0]
	if _, err := s.fetchCRL(ctx, u, p.inter.cert); !errors.Is(err, ErrOlder) {
		t.Fatalf("err = %v", err)
	}
	if r := s.Check(ctx, p.chain(p.bad)); r.Status != Revoked {
		t.Fatal(r)
	}
}

func TestRedirectToHTTPSRefused(t *testing.T) {
	p := newPKI(t)
	mux := http.NewServeMux()
	mux.Handle("/", http.RedirectHandler("https://example.invalid/x.crl", http.StatusFound))
	p.srv.Config.Handler = mux
	s := newService(t, Options{}, &clock{t: testNow})
	r := s.Check(context.Background(), p.chain(p.good))
	if r.Status != Unknown || !errors.Is(r.Err, ErrUnreachable) {
		t.Fatalf("%+v", r)
	}
}

func TestHTTPURLs(t *testing.T) {
	got := httpURLs([]string{"ldap://x/cn=a", "https://a/b.crl", "HTTP://a/c.crl", "http:///x",
		"http://b/d.crl"})
	if len(got) != 2 || got[0] != "HTTP://a/c.crl" || got[1] != "http://b/d.crl" {
		t.Fatal(got)
	}
}

func BenchmarkCheckWarm(b *testing.B) {
	p := newPKI(b)
	s := newService(b, Options{}, &clock{t: testNow})
	ctx := context.Background()
	chain := p.chain(p.good)
	s.Check(ctx, chain)
	before := p.hits.Load()
	for b.Loop() {
		if r := s.Check(ctx, chain); r.Status != Good {
			b.Fatal(r)
		}
	}
	if p.hits.Load() != before {
		b.Fatal("network used on a warm cache")
	}
}

// TestCancelledCallerStopsWaiting: a caller whose context ends gets Unknown
// at once; the download goes on and fills the cache for the next message.
func TestCancelledCallerStopsWaiting(t *testing.T) {
	p := newPKI(t)
	p.delay = 200 * time.Millisecond
	s := newService(t, Options{}, &clock{t: testNow})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	r := s.Check(ctx, p.chain(p.bad))
	if r.Status != Unknown || !errors.Is(r.Err, context.DeadlineExceeded) ||
		time.Since(start) > 150*time.Millisecond {
		t.Fatalf("%+v after %v", r, time.Since(start))
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.RLock()
		n := len(s.byURL)
		s.mu.RUnlock()
		if n == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.srv.Close()
	if r := s.Check(context.Background(), p.chain(p.bad)); r.Status != Revoked {
		t.Fatalf("cache not filled: %+v", r)
	}
}

// TestRefreshBackoff: when the CA has not published a newer CRL yet, the
// next refresh is not at the next tick.
func TestRefreshBackoff(t *testing.T) {
	p := newPKI(t)
	clk := &clock{t: testNow}
	s := newService(t, Options{}, clk)
	ctx := context.Background()
	s.Check(ctx, p.chain(p.good))
	clk.Set(testNow.Add(23 * time.Hour))
	if n := s.RefreshDue(ctx); n != 2 {
		t.Fatalf("refreshed %d", n)
	}
	if n := s.RefreshDue(ctx); n != 0 {
		t.Fatalf("refreshed %d again at once", n)
	}
	clk.Set(testNow.Add(23*time.Hour + 20*time.Minute))
	if n := s.RefreshDue(ctx); n != 2 {
		t.Fatalf("refreshed %d after a quarter of the remaining hour", n)
	}
}

// BenchmarkBaselineECDSAVerify is one P-256 signature check, the least a
// signature verification costs, to compare BenchmarkCheckWarm with.
func BenchmarkBaselineECDSAVerify(b *testing.B) {
	p := newPKI(b)
	for b.Loop() {
		if err := p.good.cert.CheckSignatureFrom(p.inter.cert); err != nil {
			b.Fatal(err)
		}
	}
}
