package pop3proxy

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"math/big"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smimeproxy/smimeproxy/keystore"
	"github.com/smimeproxy/smimeproxy/proxy"
	"github.com/smimeproxy/smimeproxy/proxy/pipeline"
	"github.com/smimeproxy/smimeproxy/smime/cms"
)

const (
	testUser     = "alice@example.org"
	testPassword = "alice pop3 secret"
	authservID   = "proxy.test.example"
	secretText   = "The launch code is 0000."
)

// fixture is a fake mailbox server with a maildrop of plain and
// encrypted messages, a vault holding the user's key, and the proxy.
type fixture struct {
	t        *testing.T
	up       *fakeServer
	server   *Server
	addr     string // plaintext listener
	tlsAddr  string // implicit TLS listener
	cert     *x509.Certificate
	other    *x509.Certificate
	clientTL *tls.Config
}

type fixtureOptions struct {
	insecureAuth bool
	maxSessions  int
	setup        func(*fakeServer)
}

func newFixture(t *testing.T, opts fixtureOptions) *fixture {
	t.Helper()
	f := &fixture{t: t, up: newFakeServer(t, testUser, testPassword)}
	key, cert := newTestCert(t, "Alice", testUser)
	_, f.other = newTestCert(t, "Bob", "bob@example.org")
	f.cert = cert

	masterKey := make([]byte, 32)
	rand.Read(masterKey)
	vault, err := keystore.OpenFileVault(t.TempDir(), masterKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vault.Add(testUser, cert, key); err != nil {
		t.Fatal(err)
	}
	f.fillMaildrop()
	if opts.setup != nil {
		opts.setup(f.up)
	}

	serverTLS, clientTLS := newTLSPair(t)
	f.clientTL = clientTLS
	f.server = New(Options{
		Upstream:     proxy.Upstream{Address: f.up.addr, TLS: proxy.UpstreamTLSNone, Timeout: 5 * time.Second},
		TLSConfig:    serverTLS,
		InsecureAuth: opts.insecureAuth,
		Pipeline:     pipeline.New(pipeline.Options{AuthServID: authservID, CacheBytes: 1 << 20}),
		Vault:        vault,
		MaxSessions:  opts.maxSessions,
	})
	f.addr = serveOn(t, f.server.Serve)
	f.tlsAddr = serveOn(t, f.server.ServeTLS)
	t.Cleanup(func() { f.server.Close() })
	return f
}

func serveOn(t *testing.T, serve func(net.Listener) error) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go serve(ln)
	return ln.Addr().String()
}

// The maildrop: numbers 1 to 5.
const (
	msgPlain   = 1
	msgSecret  = 2
	msgForBob  = 3
	msgForged  = 4
	msgDotted  = 5
	maildropSz = 5
)

func (f *fixture) fillMaildrop() {
	f.up.add("uidl-plain", plainMessage)
	f.up.add("uidl-secret", encryptedMessage(f.t, f.cert, "secret", secretInner))
	f.up.add("uidl-bob", encryptedMessage(f.t, f.other, "for-bob", secretInner))
	f.up.add("uidl-forged", "From: x@example.net\r\nX-SMIME-Status: decrypted\r\n"+
		"Subject: forged\r\n\r\nI claim to be decrypted.\r\n")
	f.up.add("uidl-dotted", "Subject: dots\r\n\r\n.\r\n..leading dots\r\n.\r\nend\r\n")
}

const plainMessage = "From: Carol <carol@example.net>\r\n" +
	"To: Alice <alice@example.org>\r\n" +
	"Subject: plain\r\n" +
	"Message-ID: <plain@example.net>\r\n" +
	"Content-Type: text/plain\r\n" +
	"\r\n" +
	"Nothing secret here.\r\nLine two.\r\nLine three.\r\n"

const secretInner = "Content-Type: text/plain; charset=utf-8\r\n" +
	"\r\n" +
	secretText + "\r\n" +
	".a line with a leading dot\r\n" +
	"last line\r\n"

func encryptedMessage(t testing.TB, to *x509.Certificate, subject, inner string) string {
	t.Helper()
	der, err := cms.Encrypt([]byte(inner), []*x509.Certificate{to}, cms.EncryptOptions{Cipher: "aes-256-cbc"})
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString(der)
	var body strings.Builder
	for len(b64) > 76 {
		body.WriteString(b64[:76] + "\r\n")
		b64 = b64[76:]
	}
	body.WriteString(b64 + "\r\n")
	return "From: Carol <carol@example.net>\r\n" +
		"To: Alice <alice@example.org>\r\n" +
		"Subject: " + subject + "\r\n" +
		"Message-ID: <" + subject + "@example.net>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\n" +
		"Content-Transfer-Encoding: base64\r\n" +
		"\r\n" + body.String()
}

func newTestCert(t testing.TB, name, email string) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber:   big.NewInt(time.Now().UnixNano()),
		Subject:        pkix.Name{CommonName: name},
		EmailAddresses: []string{email},
		NotBefore:      time.Now().Add(-time.Hour),
		NotAfter:       time.Now().Add(24 * time.Hour),
		KeyUsage:       x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

// newTLSPair makes a self-signed server certificate for 127.0.0.1 and a
// client configuration that trusts it.
func newTLSPair(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	client = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	return server, client
}

// dial connects a POP3 client to addr; login logs in with USER/PASS.
func (f *fixture) dial(addr string, login bool) *Client {
	f.t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		f.t.Fatal(err)
	}
	if addr == f.tlsAddr {
		conn = tls.Client(conn, f.clientTL)
	}
	c, err := NewClient(conn, ClientOptions{Timeout: 10 * time.Second})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { c.Close() })
	if login {
		if _, err := c.User(testUser); err != nil {
			f.t.Fatalf("USER: %v", err)
		}
		if _, err := c.Pass(testPassword); err != nil {
			f.t.Fatalf("PASS: %v", err)
		}
	}
	return c
}

func stat(t *testing.T, c *Client) (int, int64) {
	t.Helper()
	text, err := c.Cmd("STAT")
	if err != nil {
		t.Fatalf("STAT: %v", err)
	}
	fields := strings.Fields(text)
	n, _ := strconv.Atoi(fields[0])
	size, _ := strconv.ParseInt(fields[1], 10, 64)
	return n, size
}

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
	if got := retr(t, c, msgDotted); got != "Subject: dots\r\n\r\n.\r\n..leading dots\r\n.\r\nend\r\n" {
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

func waitIdle(t *testing.T, s *Server) {
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
	if !errors.As(err, &refusal) || refusal.Text != "[AUTH] Invalid user name or password (fake)." {
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
	f := newFixture(t, fixtureOptions{insecureAuth: true, setup: func(s *fakeServer) { s.apop = true }})

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
