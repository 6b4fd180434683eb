package integration

import (
	"testing"
	"time"
)

// TestUpstreamLost: when Dovecot drops one user's session (doveadm kick),
// that client learns it promptly instead of hanging, another user's session
// on the same proxy keeps working, and the user can log in again.
func TestUpstreamLost(t *testing.T) {
	f := newFixture(t, proxyOptions{})
	bob := loginInbox(t, f.px.addr, userBob)
	alice := loginInbox(t, f.px.addr, userAlice)

	if _, err := run(f.dv.dir, nil, "doveadm", "-c", f.dv.conf, "kick", userBob); err != nil {
		t.Fatal(err)
	}
	// doveadm kick returns before Dovecot's imap process is gone, so the
	// first NOOPs may still succeed; within seconds one must fail or the
	// proxy must close the connection.
	deadline := time.After(15 * time.Second)
	for lost := false; !lost; {
		noop := make(chan error, 1)
		go func() { noop <- bob.Noop().Wait() }()
		select {
		case err := <-noop:
			lost = err != nil
		case <-bob.Closed():
			lost = true
		case <-deadline:
			t.Fatal("bob's session still answers 15s after its upstream session was kicked")
		}
		if !lost {
			time.Sleep(100 * time.Millisecond)
		}
	}

	checkDecrypts(t, alice, "enc-aes256")
	again := loginInbox(t, f.px.addr, userBob)
	if err := again.Noop().Wait(); err != nil {
		t.Errorf("NOOP after logging in again: %v", err)
	}
}
