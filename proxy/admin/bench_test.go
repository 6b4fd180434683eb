package admin

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkScrape is the CPU cost of one /metrics scrape, after traffic
// that filled every decrypt outcome and many command histograms: at one
// scrape a second, its ns/op is the share of a second of one core that
// scraping takes from mail traffic.
func BenchmarkScrape(b *testing.B) {
	f := newFixture(b, nil)
	for i := range 1000 {
		f.decrypt(uint32(i), []string{"decrypted", "no-key", "corrupt"}[i%3])
		for _, cmd := range []string{"FETCH", "SELECT", "LOGIN", "STORE", "SEARCH", "LIST"} {
			f.metrics.ObserveUpstream("imap", cmd, time.Duration(i)*time.Microsecond, nil)
		}
	}
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.RemoteAddr = "127.0.0.1:1"
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(fmt.Sprint(rec.Code))
		}
	}
}

// BenchmarkObserve is the cost the metrics add to each upstream command
// and each decryption.
func BenchmarkObserve(b *testing.B) {
	f := newFixture(b, nil)
	b.ReportAllocs()
	for i := range b.N {
		f.metrics.ObserveUpstream("imap", "FETCH", time.Millisecond, nil)
		f.decrypt(uint32(i), "decrypted")
	}
}
