package pop3proxy

import (
	"bytes"
	"crypto/md5"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestListSizesMatchRetr(t *testing.T) {
	f := newFixture(t, fixtureOptions{insecureAuth: true})
	c := f.dial(f.addr, true)

	n, total := stat(t, c)
	list, err := c.List()
	if err != nil {
		t.Fatal(err)
	}
	if n != maildropSz || len(list) != maildropSz {
		t.Fatalf("STAT says %d messages, LIST %d, want %d", n, len(list), maildropSz)
	}
	var sum int64
	for _, e := range list {
		msg, err := c.Retr(e.Num)
		if err != nil {
			t.Fatalf("RETR %d: %v", e.Num, err)
		}
		if int64(len(msg)) != e.Size {
			t.Errorf("message %d: LIST says %d, RETR gave %d", e.Num, e.Size, len(msg))
		}
		one, err := c.Cmd("LIST %d", e.Num)
		if err != nil || one != strconv.Itoa(e.Num)+" "+strconv.FormatInt(e.Size, 10) {
			t.Errorf("LIST %d = %q, %v", e.Num, one, err)
		}
		sum += int64(len(msg))
	}
	if sum != total {
		t.Errorf("STAT total %d, RETR lengths add up to %d", total, sum)
	}
}

func TestRetrDecryptsAndAnnotates(t *testing.T) {
	f := newFixture(t, fixtureOptions{insecureAuth: true})
	c := f.dial(f.addr, true)

	secret := retr(t, c, msgSecret)
	for _, want := range []string{secretText, "X-SMIME-Status: decrypted",
		"\r\n.a line with a leading dot\r\n", "Subject: secret\r\n"} {
		if !strings.Contains(secret, want) {
			t.Errorf("decrypted message lacks %q:\n%s", want, secret)
		}
	}
	if got := retr(t, c, msgPlain); got != plainMessage {
		t.Errorf("plain message changed:\n%q", got)
	}
	if got := retr(t, c, msgForBob); !strings.Contains(got, "not-decrypted; reason=no-key") {
		t.Errorf("message for bob: no no-key status:\n%.300s", got)
	}
	forged := retr(t, c, msgForged)
	if strings.Count(forged, "X-SMIME-Status") != 0 {
		t.Errorf("forged status header survived:\n%s", forged)
	}
	dotted := "Subject: dots\r\n\r\n.\r\n..leading dots\r\n.\r\nend\r\n"
	if got := retr(t, c, msgDotted); got != dotted {
		t.Errorf("dotted message = %q", got)
	}
}

func retr(t *testing.T, c *Client, n int) string {
	t.Helper()
	msg, err := c.Retr(n)
	if err != nil {
		t.Fatalf("RETR %d: %v", n, err)
	}
	return string(msg)
}

func TestTopMatchesRetrHead(t *testing.T) {
	f := newFixture(t, fixtureOptions{insecureAuth: true})
	c := f.dial(f.addr, true)
	for n := 1; n <= maildropSz; n++ {
		whole := retr(t, c, n)
		for _, k := range []int{0, 1, 2, 1000} {
			head, err := c.Top(n, k)
			if err != nil {
				t.Fatalf("TOP %d %d: %v", n, k, err)
			}
			if want := string(top([]byte(whole), k)); string(head) != want {
				t.Errorf("TOP %d %d = %q, want %q", n, k, head, want)
			}
		}
	}
	// TOP before RETR, on a fresh session: the same answer.
	c2 := f.dial(f.addr, true)
	head, err := c2.Top(msgSecret, 1)
	if err != nil || !strings.HasSuffix(string(head), "\r\n\r\n"+secretText+"\r\n") {
		t.Errorf("TOP %d 1 in a new session = %q, %v", msgSecret, head, err)
	}
}

func TestUIDLPassedThrough(t *testing.T) {
	f := newFixture(t, fixtureOptions{insecureAuth: true})
	c := f.dial(f.addr, true)
	list, err := c.UIDL()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"uidl-plain", "uidl-secret", "uidl-bob", "uidl-forged", "uidl-dotted"}
	for i, e := range list {
		if e.Num != i+1 || e.UIDL != want[i] {
			t.Errorf("UIDL line %d = %d %s, want %d %s", i, e.Num, e.UIDL, i+1, want[i])
		}
	}
	if one, err := c.Cmd("UIDL 2"); err != nil || one != "2 uidl-secret" {
		t.Errorf("UIDL 2 = %q, %v", one, err)
	}
}

func TestDeleAndQuitDeletesUpstream(t *testing.T) {
	f := newFixture(t, fixtureOptions{insecureAuth: true})
	c := f.dial(f.addr, true)
	if _, err := c.Cmd("DELE 1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Cmd("RETR 1"); err == nil {
		t.Error("RETR of a deleted message succeeded")
	}
	if n, _ := stat(t, c); n != maildropSz-1 {
		t.Errorf("STAT after DELE: %d messages", n)
	}
	if _, err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, f.server)
	if got := f.up.count(); got != maildropSz-1 {
		t.Errorf("upstream has %d messages after DELE+QUIT, want %d", got, maildropSz-1)
	}
}

func TestDeleAndRsetKeeps(t *testing.T) {
	f := newFixture(t, fixtureOptions{insecureAuth: true})
	c := f.dial(f.addr, true)
	for _, cmd := range []string{"DELE 1", "DELE 2", "RSET"} {
		if _, err := c.Cmd("%s", cmd); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
	}
	if n, _ := stat(t, c); n != maildropSz {
		t.Errorf("STAT after RSET: %d messages", n)
	}
	if _, err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, f.server)
	if got := f.up.count(); got != maildropSz {
		t.Errorf("upstream has %d messages after DELE+RSET+QUIT", got)
	}
}

func TestDroppedClientDeletesNothing(t *testing.T) {
	f := newFixture(t, fixtureOptions{insecureAuth: true})
	c := f.dial(f.addr, true)
	if _, err := c.Cmd("DELE 1"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	waitIdle(t, f.server)
	f.up.mu.Lock()
	quits := f.up.quits
	f.up.mu.Unlock()
	if got := f.up.count(); got != maildropSz || quits != 0 {
		t.Errorf("after a dropped client: %d messages upstream, %d QUITs", got, quits)
	}
}

func waitIdle(t testing.TB, s *Server) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.Sessions() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions still live", s.Sessions())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWrongPasswordRelayed(t *testing.T) {
	f := newFixture(t, fixtureOptions{insecureAuth: true})
	c := f.dial(f.addr, false)
	if _, err := c.User(testUser); err != nil {
		t.Fatal(err)
	}
	_, err := c.Pass("wrong")
	var refusal *Error
	want := "[AUTH] Invalid user name or password (fake)."
	if !errors.As(err, &refusal) || refusal.Text != want {
		t.Fatalf("PASS wrong = %v, want the upstream's -ERR text", err)
	}
	if _, err := c.Cmd("STAT"); err == nil {
		t.Error("STAT allowed after a failed login")
	}
	// The session stays usable: a second try succeeds.
	if _, err := c.User(testUser); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pass(testPassword); err != nil {
		t.Fatalf("second PASS: %v", err)
	}
}

func TestAuthPlainAndLoginAndAPOP(t *testing.T) {
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + testUser + "\x00" + testPassword))
	withAPOP := func(s *fakeServer) { s.apop = true }
	f := newFixture(t, fixtureOptions{insecureAuth: true, setup: withAPOP})

	c := f.dial(f.addr, false)
	if _, err := c.Cmd("AUTH PLAIN %s", plain); err != nil {
		t.Errorf("AUTH PLAIN with initial response: %v", err)
	}
	c = f.dial(f.addr, false)
	if err := c.send("AUTH PLAIN"); err != nil {
		t.Fatal(err)
	}
	if err := c.readChallenge(); err != nil {
		t.Fatalf("no challenge: %v", err)
	}
	if _, err := c.Cmd("%s", plain); err != nil {
		t.Errorf("AUTH PLAIN after a challenge: %v", err)
	}
	c = f.dial(f.addr, false)
	if _, err := c.AuthLogin(testUser, testPassword); err != nil {
		t.Errorf("AUTH LOGIN: %v", err)
	}
	c = f.dial(f.addr, false)
	stamp := apopTimestamp(c.Greeting())
	if stamp == "" {
		t.Fatalf("greeting %q has no APOP timestamp", c.Greeting())
	}
	sum := md5.Sum([]byte(stamp + testPassword))
	if _, err := c.APOP(testUser, hex.EncodeToString(sum[:])); err != nil {
		t.Errorf("APOP: %v", err)
	}
	if n, _ := stat(t, c); n != maildropSz {
		t.Errorf("STAT after APOP: %d", n)
	}
	c = f.dial(f.addr, false)
	if _, err := c.Cmd("AUTH PLAIN *"); err == nil {
		t.Error("AUTH PLAIN with a bad response succeeded")
	}
}

func TestSTLSRequiredForPlaintextAuth(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	c := f.dial(f.addr, false)
	caps, err := c.Capa()
	if err != nil {
		t.Fatal(err)
	}
	if !caps.Has("STLS") || caps.Has("USER") || caps.Has("SASL") {
		t.Errorf("CAPA before STLS = %v, want STLS and neither USER nor SASL", caps)
	}
	if _, err := c.User(testUser); err == nil || !strings.Contains(err.Error(), "[AUTH]") {
		t.Errorf("USER without TLS = %v, want -ERR [AUTH]", err)
	}
	if _, err := c.Cmd("AUTH PLAIN AGFsaWNlAHNlY3JldA=="); err == nil {
		t.Error("AUTH without TLS succeeded")
	}
	if err := c.StartTLS(t.Context(), f.clientTL); err != nil {
		t.Fatalf("STLS: %v", err)
	}
	caps, err = c.Capa()
	if err != nil {
		t.Fatal(err)
	}
	if caps.Has("STLS") || !caps.Has("USER") || !caps.HasSASL("PLAIN") {
		t.Errorf("CAPA after STLS = %v", caps)
	}
	if _, err := c.User(testUser); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pass(testPassword); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(retr(t, c, msgSecret), secretText) {
		t.Error("not decrypted over STLS")
	}
}

func TestImplicitTLS(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	c := f.dial(f.tlsAddr, true)
	if !strings.Contains(retr(t, c, msgSecret), secretText) {
		t.Error("not decrypted over implicit TLS")
	}
}

func TestUpstreamDropMidRetr(t *testing.T) {
	f := newFixture(t, fixtureOptions{insecureAuth: true})
	f.up.dropAt.Store(msgPlain)
	c := f.dial(f.addr, true)
	_, err := c.Retr(msgPlain)
	var refusal *Error
	if !errors.As(err, &refusal) {
		t.Fatalf("RETR with upstream dropping = %v, want -ERR", err)
	}
	if _, err := c.Cmd("NOOP"); err == nil || isRefusal(err) {
		t.Errorf("session still open after the upstream dropped: %v", err)
	}
}

func TestSecondSessionFetchesNoMessages(t *testing.T) {
	f := newFixture(t, fixtureOptions{insecureAuth: true})
	c := f.dial(f.addr, true)
	_, first := stat(t, c)
	// One TOP per message, one RETR per changed message (secret, bob,
	// forged).
	if tops, retrs := f.up.tops.Load(), f.up.retrs.Load(); tops != maildropSz || retrs != 3 {
		t.Errorf("first STAT: %d TOP and %d RETR upstream, want %d and 3", tops, retrs, maildropSz)
	}
	c.Quit()

	f.up.tops.Store(0)
	f.up.retrs.Store(0)
	c = f.dial(f.addr, true)
	_, second := stat(t, c)
	if second != first {
		t.Errorf("second STAT total %d, first %d", second, first)
	}
	if tops, retrs := f.up.tops.Load(), f.up.retrs.Load(); tops != 0 || retrs != 0 {
		t.Errorf("second STAT: %d TOP and %d RETR upstream, want none", tops, retrs)
	}
}

func TestClientCommandErrors(t *testing.T) {
	f := newFixture(t, fixtureOptions{insecureAuth: true})
	c := f.dial(f.addr, false)
	for _, cmd := range []string{"STAT", "RETR 1", "BOGUS", "PASS x"} {
		if _, err := c.Cmd("%s", cmd); !isRefusal(err) {
			t.Errorf("%s before login = %v, want -ERR", cmd, err)
		}
	}
	if _, err := c.Cmd("USER %s", strings.Repeat("x", maxCommandLine+10)); !isRefusal(err) {
		t.Errorf("over-long line = %v, want -ERR", err)
	}
	c = f.dial(f.addr, true)
	for _, cmd := range []string{"RETR 0", "RETR 99", "RETR x", "TOP 1", "TOP 1 -1", "LIST 9",
		"USER again"} {
		if _, err := c.Cmd("%s", cmd); !isRefusal(err) {
			t.Errorf("%s = %v, want -ERR", cmd, err)
		}
	}
	if _, err := c.Cmd("NOOP"); err != nil {
		t.Errorf("NOOP: %v", err)
	}
}

func TestShutdownTellsIdleClients(t *testing.T) {
	f := newFixture(t, fixtureOptions{insecureAuth: true})
	c := f.dial(f.addr, true)
	done := make(chan error, 1)
	go func() { done <- f.server.Shutdown("going away") }()
	line, err := readLine(c.r, maxResponseLine)
	if err != nil || line != "-ERR [SYS/TEMP] going away" {
		t.Errorf("idle client read %q, %v", line, err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	if _, err := c.r.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("connection still open after Shutdown: %v", err)
	}
	if got := f.up.count(); got != maildropSz {
		t.Errorf("upstream has %d messages after Shutdown", got)
	}
}

func TestMaxSessions(t *testing.T) {
	f := newFixture(t, fixtureOptions{insecureAuth: true, maxSessions: 1})
	f.dial(f.addr, true)
	conn, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	line, _ := io.ReadAll(conn)
	if !bytes.HasPrefix(line, []byte("-ERR [SYS/TEMP]")) {
		t.Errorf("second session got %q", line)
	}
}

// TestKeyImportRefreshesSizes: a size learnt while the user had no key
// for a message must not outlive the import of that key.
func TestKeyImportRefreshesSizes(t *testing.T) {
	f := newFixture(t, fixtureOptions{insecureAuth: true, noOutputCache: true})
	listed := func() (int64, string) {
		c := f.dial(f.addr, true)
		defer c.Quit()
		text, err := c.Cmd("LIST %d", msgForBob)
		if err != nil {
			t.Fatal(err)
		}
		size, _ := strconv.ParseInt(strings.Fields(text)[1], 10, 64)
		msg := retr(t, c, msgForBob)
		if int64(len(msg)) != size {
			t.Errorf("LIST %d, RETR %d bytes", size, len(msg))
		}
		return size, msg
	}
	before, msg := listed()
	if !strings.Contains(msg, "reason=no-key") {
		t.Fatalf("before the import: %.200s", msg)
	}
	if _, err := f.vault.Add(testUser, f.other, f.otherKey); err != nil {
		t.Fatal(err)
	}
	after, msg := listed()
	if !strings.Contains(msg, secretText) || after == before {
		t.Errorf("after the import: size %d (was %d), message:\n%.300s", after, before, msg)
	}
}

// TestSTLSDropsPlaintextSentAhead: commands a client (or an attacker in
// the path) sends after STLS in the clear must not run as if they came
// under TLS.
func TestSTLSDropsPlaintextSentAhead(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	conn, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c, err := NewClient(conn, ClientOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.send("STLS\r\nCAPA"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.readStatus(); err != nil {
		t.Fatalf("STLS: %v", err)
	}
	tlsConn := tls.Client(conn, f.clientTL)
	if err := tlsConn.Handshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	c.setConn(tlsConn)
	if _, err := c.Cmd("NOOP"); !isRefusal(err) || !strings.Contains(err.Error(), "state") {
		t.Errorf("first answer under TLS = %v, want the -ERR for NOOP, not a CAPA", err)
	}
}

// TestObserveUpstream: every upstream command is reported by name only.
func TestObserveUpstream(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	observe := func(proto, cmd string, _ time.Duration, _ error) {
		mu.Lock()
		defer mu.Unlock()
		if proto != "pop3" {
			t.Errorf("proto %q", proto)
		}
		seen[cmd]++
	}
	f := newFixture(t, fixtureOptions{insecureAuth: true, observe: observe})
	c := f.dial(f.addr, true)
	stat(t, c)
	retr(t, c, msgPlain)
	c.Quit()
	waitIdle(t, f.server)
	mu.Lock()
	defer mu.Unlock()
	for _, cmd := range []string{"CONNECT", "USER", "PASS", "UIDL", "LIST", "TOP",
		"RETR", "QUIT"} {
		if seen[cmd] == 0 {
			t.Errorf("no %s observed: %v", cmd, seen)
		}
	}
	for cmd := range seen {
		if strings.Contains(cmd, " ") || strings.Contains(cmd, testPassword) {
			t.Errorf("observed command label %q", cmd)
		}
	}
}

// TestPlainUpstream: a server with no CAPA, or with neither TOP nor SASL,
// still gets consistent sizes, TOP and AUTH PLAIN (as USER/PASS).
func TestPlainUpstream(t *testing.T) {
	for name, caps := range map[string][]string{"no CAPA": nil, "USER only": {"USER"}} {
		t.Run(name, func(t *testing.T) {
			setCaps := func(s *fakeServer) { s.caps = caps }
			f := newFixture(t, fixtureOptions{insecureAuth: true, setup: setCaps})
			c := f.dial(f.addr, false)
			plain := base64.StdEncoding.EncodeToString(
				[]byte("\x00" + testUser + "\x00" + testPassword))
			if _, err := c.Cmd("AUTH PLAIN %s", plain); err != nil {
				t.Fatalf("AUTH PLAIN: %v", err)
			}
			list, err := c.List()
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range list {
				msg := retr(t, c, e.Num)
				if int64(len(msg)) != e.Size {
					t.Errorf("message %d: LIST %d, RETR %d", e.Num, e.Size, len(msg))
				}
				head, err := c.Top(e.Num, 1)
				if err != nil || string(head) != string(top([]byte(msg), 1)) {
					t.Errorf("message %d: TOP = %q, %v", e.Num, head, err)
				}
			}
		})
	}
}
