package imapproxy

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// TestObserveUpstream: the hook hears of the connection and of each
// relayed command, with its outcome.
func TestObserveUpstream(t *testing.T) {
	f := newFixture(t, fixtureOptions{insecureAuth: true})
	f.deliver(plainMessage)
	var mu sync.Mutex
	var seen []string
	opts := f.server.opts
	opts.ObserveUpstream = func(proto, cmd string, d time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, fmt.Sprintf("%s %s ok=%t", proto, cmd, err == nil && d > 0))
	}
	srv := New(opts)
	addr := serveOnLoopback(t, srv.Serve)
	t.Cleanup(func() { srv.Close() })

	c := f.dial(addr, true)
	fetchOne(t, c, 1, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
	bad, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if err := bad.Login(testUser, "wrong").Wait(); err == nil {
		t.Fatal("login with a wrong password succeeded")
	}

	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{"imap CONNECT ok=true", "imap LOGIN ok=true",
		"imap SELECT ok=true", "imap FETCH ok=true", "imap LOGIN ok=false"} {
		if !slices.Contains(seen, want) {
			t.Errorf("observer did not see %q; saw %q", want, seen)
		}
	}
}
