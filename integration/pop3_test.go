package integration

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smimeproxy/smimeproxy/proxy/pop3proxy"
	"github.com/smimeproxy/smimeproxy/smime/cms"
)

// pop3Proxy is smimeproxy serving POP3 (and IMAP, which its config
// requires) in front of a Dovecot.
type pop3Proxy struct {
	*proxy
	pop3Addr  string // plaintext + STLS
	pop3sAddr string // implicit TLS
}

// startPOP3Proxy is startProxy with a [pop3] section in front of d's POP3
// listener, upgraded upstream with STLS unless opts.upstreamTLS says
// otherwise.
func startPOP3Proxy(tb testing.TB, d *dovecot, opts proxyOptions) *pop3Proxy {
	tb.Helper()
	requireBinary(tb)
	p := &pop3Proxy{proxy: &proxy{dir: testDir(tb)}}
	p.conf = filepath.Join(p.dir, "smimeproxy.toml")
	p.logPath = filepath.Join(p.dir, "smimeproxy.log")
	ports, err := freePorts(4)
	if err != nil {
		tb.Fatal(err)
	}
	p.addr, p.tlsAddr = loopback(ports[0]), loopback(ports[1])
	p.pop3Addr, p.pop3sAddr = loopback(ports[2]), loopback(ports[3])
	upstreamTLS := opts.upstreamTLS
	if upstreamTLS == "" {
		upstreamTLS = "starttls"
	}
	conf := p.config(d, opts) + fmt.Sprintf("\n[pop3]\nlisten = %q\ntls_listen = %q\n"+
		"upstream = %q\nupstream_tls = %q\nupstream_ca_file = %q\n"+
		"allow_insecure_auth = %t\n", p.pop3Addr, p.pop3sAddr, d.pop3Addr, upstreamTLS,
		env.pki.caCert, !opts.strictAuth)
	if _, isBench := tb.(*testing.B); isBench {
		// A line per command at debug level is not what production pays.
		conf = strings.Replace(conf, `level = "debug"`, `level = "info"`, 1)
	}
	if err := os.WriteFile(p.conf, []byte(conf), 0o600); err != nil {
		tb.Fatal(err)
	}
	p.smimeproxy(tb, "keys", "init", "-config", p.conf)
	for _, k := range vaultKeys {
		p.smimeproxy(tb, "keys", "import", "-config", p.conf, "-user", k.user,
			"-p12", env.pki.ids[k.id].p12, "-password-file", env.pki.p12Password)
	}
	p.start(tb)
	if err := waitPort(p.pop3Addr, 15*time.Second, p.exited); err != nil {
		tb.Fatalf("smimeproxy serve has no POP3 listener (is pop3proxy wired into serve?): "+
			"%v\n%s", err, readFile(p.logPath))
	}
	return p
}

// pop3Fixture is Dovecot with the corpus in alice's INBOX and the proxy.
type pop3Fixture struct {
	dv *dovecot
	px *pop3Proxy
}

func newPOP3Fixture(tb testing.TB, opts proxyOptions) *pop3Fixture {
	tb.Helper()
	requireBinary(tb)
	dv := startDovecot(tb)
	dv.deliverCorpus(tb, userAlice)
	return &pop3Fixture{dv: dv, px: startPOP3Proxy(tb, dv, opts)}
}

// pop3Dial connects a POP3 client; with implicit, over TLS from the start.
func pop3Dial(tb testing.TB, addr string, implicit bool) *pop3proxy.Client {
	tb.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	if implicit {
		conn = tls.Client(conn, clientTLS(tb))
	}
	c, err := pop3proxy.NewClient(conn, pop3proxy.ClientOptions{Timeout: time.Minute})
	if err != nil {
		tb.Fatalf("greeting from %s: %v", addr, err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

func pop3Login(tb testing.TB, addr, user string) *pop3proxy.Client {
	tb.Helper()
	c := pop3Dial(tb, addr, false)
	if _, err := c.User(user); err != nil {
		tb.Fatalf("USER at %s: %v", addr, err)
	}
	if _, err := c.Pass(testUsers[user]); err != nil {
		tb.Fatalf("PASS at %s: %v", addr, err)
	}
	return c
}

var messageIDField = regexp.MustCompile(`(?im)^Message-ID:\s*<([^>]+)>`)

// corpusMessage finds the corpus message a retrieved message is.
func corpusMessage(tb testing.TB, msg []byte) *testMessage {
	tb.Helper()
	m := messageIDField.FindSubmatch(msg[:pop3HeaderEnd(msg)])
	if m == nil {
		tb.Fatalf("retrieved message has no Message-ID:\n%.400s", msg)
	}
	for _, c := range env.corpus.messages {
		if c.messageID() == string(m[1]) {
			return c
		}
	}
	tb.Fatalf("Message-ID %s is not in the corpus", m[1])
	return nil
}

func pop3HeaderEnd(msg []byte) int {
	if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		return i + 4
	}
	return len(msg)
}

// pop3Top is RFC 1939 TOP applied to a retrieved message.
func pop3Top(msg []byte, lines int) []byte {
	end := pop3HeaderEnd(msg)
	for ; lines > 0 && end < len(msg); lines-- {
		i := bytes.IndexByte(msg[end:], '\n')
		if i < 0 {
			return msg
		}
		end += i + 1
	}
	return msg[:end]
}

// checkRetrieved checks one message read through the proxy against the
// corpus and Dovecot's own copy.
func checkRetrieved(tb testing.TB, got, direct []byte) {
	tb.Helper()
	m := corpusMessage(tb, got)
	status := statusOf(got)
	switch {
	case m.name == "plain-forged-status":
		if strings.HasPrefix(status, "decrypted") {
			tb.Errorf("%s: the sender's forged status reaches the client", m.name)
		}
		if !bytes.Equal(got[pop3HeaderEnd(got):], direct[pop3HeaderEnd(direct):]) {
			tb.Errorf("%s: body changed", m.name)
		}
	case !m.smime():
		if !bytes.Equal(got, direct) {
			tb.Errorf("%s: plain message differs from Dovecot's RETR", m.name)
		}
	case !strings.HasPrefix(status, m.status):
		tb.Errorf("%s: X-SMIME-Status %q, want %q", m.name, status, m.status)
	case m.decrypts() && !bytes.Contains(got, bytes.TrimSpace(innerBody(m))):
		tb.Errorf("%s: decrypted body not found", m.name)
	}
}

func statusOf(msg []byte) string {
	re := regexp.MustCompile(`(?m)^X-SMIME-Status: ([^\r\n]*)`)
	if m := re.FindSubmatch(msg[:pop3HeaderEnd(msg)]); m != nil {
		return string(m[1])
	}
	return ""
}

// innerBody is the body of the encrypted entity, which the decrypted
// message carries unchanged.
func innerBody(m *testMessage) []byte {
	return m.inner[pop3HeaderEnd(m.inner):]
}

func TestPOP3RetrieveThroughProxy(t *testing.T) {
	f := newPOP3Fixture(t, proxyOptions{})
	direct := pop3Login(t, f.dv.pop3Addr, userAlice)
	c := pop3Login(t, f.px.pop3Addr, userAlice)

	list, err := c.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(env.corpus.messages) {
		t.Fatalf("LIST has %d messages, delivered %d", len(list), len(env.corpus.messages))
	}
	statText, err := c.Cmd("STAT")
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, e := range list {
		got, err := c.Retr(e.Num)
		if err != nil {
			t.Fatalf("RETR %d: %v", e.Num, err)
		}
		raw, err := direct.Retr(e.Num)
		if err != nil {
			t.Fatalf("direct RETR %d: %v", e.Num, err)
		}
		if int64(len(got)) != e.Size {
			t.Errorf("message %d: LIST %d, RETR %d bytes", e.Num, e.Size, len(got))
		}
		total += int64(len(got))
		checkRetrieved(t, got, raw)
		for _, k := range []int{0, 3} {
			head, err := c.Top(e.Num, k)
			if err != nil || !bytes.Equal(head, pop3Top(got, k)) {
				t.Errorf("message %d: TOP %d differs from RETR's head (%v)", e.Num, k, err)
			}
		}
	}
	if want := fmt.Sprintf("%d %d", len(list), total); statText != want {
		t.Errorf("STAT = %q, RETR lengths give %q", statText, want)
	}
	proxied, err := c.UIDL()
	if err != nil {
		t.Fatal(err)
	}
	original, err := direct.UIDL()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(proxied) != fmt.Sprint(original) {
		t.Errorf("UIDL through the proxy differs from Dovecot's")
	}
}

func TestPOP3Deletions(t *testing.T) {
	f := newPOP3Fixture(t, proxyOptions{})
	n := len(env.corpus.messages)
	count := func() int { return len(f.dv.maildirFiles(t, userAlice)) }

	c := pop3Login(t, f.px.pop3Addr, userAlice)
	for _, cmd := range []string{"DELE 1", "DELE 2", "RSET"} {
		if _, err := c.Cmd("%s", cmd); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
	}
	if _, err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != n {
		t.Errorf("after DELE+RSET+QUIT: %d messages, want %d", got, n)
	}

	c = pop3Login(t, f.px.pop3Addr, userAlice)
	if _, err := c.Cmd("DELE 1"); err != nil {
		t.Fatal(err)
	}
	c.Close() // no QUIT
	waitFor(t, func() bool { return f.px.pop3Sessions(t) == 0 })
	if got := count(); got != n {
		t.Errorf("after DELE and a dropped connection: %d messages, want %d", got, n)
	}

	c = pop3Login(t, f.px.pop3Addr, userAlice)
	if _, err := c.Cmd("DELE 1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Quit(); err != nil {
		t.Fatalf("QUIT: %v", err)
	}
	if got := count(); got != n-1 {
		t.Errorf("after DELE+QUIT: %d messages, want %d", got, n-1)
	}
}

// pop3Sessions counts the proxy's live POP3 sessions from its log.
func (p *pop3Proxy) pop3Sessions(tb testing.TB) int {
	log := readFile(p.logPath)
	return strings.Count(log, "session started") - strings.Count(log, "session ended")
}

func waitFor(tb testing.TB, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatal("condition not reached in 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPOP3TLS(t *testing.T) {
	f := newPOP3Fixture(t, proxyOptions{strictAuth: true})
	c := pop3Dial(t, f.px.pop3Addr, false)
	if _, err := c.User(userAlice); !isPOP3Refusal(err) {
		t.Errorf("USER before STLS = %v, want -ERR", err)
	}
	if err := c.StartTLS(t.Context(), clientTLS(t)); err != nil {
		t.Fatalf("STLS: %v", err)
	}
	if _, err := c.User(userAlice); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pass(testUsers[userAlice]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Cmd("STAT"); err != nil {
		t.Errorf("STAT after STLS: %v", err)
	}

	c = pop3Dial(t, f.px.pop3sAddr, true)
	if _, err := c.User(userAlice); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pass(testUsers[userAlice]); err != nil {
		t.Fatalf("PASS over implicit TLS: %v", err)
	}
	msg, err := c.Retr(1)
	if err != nil || corpusMessage(t, msg) == nil {
		t.Errorf("RETR over implicit TLS: %v", err)
	}

	// SASL PLAIN (RFC 5034) and LOGIN, both of which Dovecot offers.
	plain := base64.StdEncoding.EncodeToString(
		[]byte("\x00" + userAlice + "\x00" + testUsers[userAlice]))
	c = pop3Dial(t, f.px.pop3sAddr, true)
	if _, err := c.AuthPlain(plain); err != nil {
		t.Errorf("AUTH PLAIN: %v", err)
	}
	c = pop3Dial(t, f.px.pop3sAddr, true)
	if _, err := c.AuthLogin(userAlice, testUsers[userAlice]); err != nil {
		t.Errorf("AUTH LOGIN: %v", err)
	}
	if _, err := c.Cmd("STAT"); err != nil {
		t.Errorf("STAT after AUTH LOGIN: %v", err)
	}
}

func isPOP3Refusal(err error) bool {
	var refusal *pop3proxy.Error
	return errors.As(err, &refusal)
}

func TestPOP3WrongPassword(t *testing.T) {
	f := newPOP3Fixture(t, proxyOptions{})
	wrongPass := func(addr string) string {
		c := pop3Dial(t, addr, false)
		if _, err := c.User(userAlice); err != nil {
			t.Fatal(err)
		}
		_, err := c.Pass("not-the-password")
		var refusal *pop3proxy.Error
		if !errors.As(err, &refusal) {
			t.Fatalf("PASS with a wrong password at %s = %v, want -ERR", addr, err)
		}
		return refusal.Text
	}
	if got, want := wrongPass(f.px.pop3Addr), wrongPass(f.dv.pop3Addr); got != want {
		t.Errorf("proxy says -ERR %q, Dovecot -ERR %q", got, want)
	}
}

// TestPOP3Poplib reads the maildrop with Python's poplib.
func TestPOP3Poplib(t *testing.T) {
	f := newPOP3Fixture(t, proxyOptions{})
	script, err := filepath.Abs("testdata/pop3_poplib.py")
	if err != nil {
		t.Fatal(err)
	}
	out, err := run(t.TempDir(), nil, "python3", script,
		f.px.pop3Addr, userAlice, testUsers[userAlice], env.pki.caCert)
	if err != nil {
		t.Fatal(err)
	}
	var result struct {
		Stat     [2]int64
		Messages []struct {
			Num    int
			Listed int64
			Msg    []byte
			Top    []byte
		}
		STLS bool
	}
	if err := json.Unmarshal(out, &result); err != nil {
		t.Fatalf("poplib output: %v\n%s", err, out)
	}
	if !result.STLS || len(result.Messages) != len(env.corpus.messages) {
		t.Fatalf("poplib: STLS %t, %d messages", result.STLS, len(result.Messages))
	}
	var total int64
	for _, m := range result.Messages {
		msg := m.Msg
		total += int64(len(msg))
		if int64(len(msg)) != m.Listed {
			t.Errorf("poplib message %d: LIST %d, RETR %d bytes", m.Num, m.Listed, len(msg))
		}
		if !bytes.Equal(m.Top, pop3Top(msg, 2)) {
			t.Errorf("poplib message %d: TOP 2 differs from RETR's head", m.Num)
		}
		tm := corpusMessage(t, msg)
		if tm.decrypts() && !bytes.Contains(msg, bytes.TrimSpace(innerBody(tm))) {
			t.Errorf("poplib: %s not decrypted", tm.name)
		}
	}
	if result.Stat[1] != total {
		t.Errorf("poplib STAT total %d, RETR lengths %d", result.Stat[1], total)
	}
}

// TestPOP3Fetchmail lets fetchmail deliver every message to an mbox.
func TestPOP3Fetchmail(t *testing.T) {
	fetchmail, err := exec.LookPath("fetchmail")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("fetchmail is not installed (apt-get install fetchmail)")
		}
		t.Skip("fetchmail is not installed")
	}
	f := newPOP3Fixture(t, proxyOptions{strictAuth: true})
	home := t.TempDir()
	mbox := filepath.Join(home, "mbox")
	host, port, _ := net.SplitHostPort(f.px.pop3Addr)
	rc := fmt.Sprintf("set no syslog\n"+
		"poll %s service %s protocol POP3 uidl auth password\n"+
		"  user %q there with password %q is root here\n"+
		"  sslproto tls1.2+ sslcertck sslcertfile %q sslcommonname localhost\n"+
		"  mda \"/bin/sh -c 'echo ==smimeproxy-msg== >> %s; cat >> %s'\"\n"+
		"  keep fetchall\n", host, port, userAlice, testUsers[userAlice], env.pki.caCert,
		mbox, mbox)
	rcPath := filepath.Join(home, "fetchmailrc")
	if err := os.WriteFile(rcPath, []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(fetchmail, "-f", rcPath, "--nodetach", "-v")
	cmd.Env = append(os.Environ(), "HOME="+home, "FETCHMAILHOME="+home)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("fetchmail: %v\n%s", err, out)
	}
	data, err := os.ReadFile(mbox)
	if err != nil {
		t.Fatalf("fetchmail delivered nothing: %v\n%s", err, out)
	}
	parts := strings.Split(string(data), "==smimeproxy-msg==\n")[1:]
	if len(parts) != len(env.corpus.messages) {
		t.Fatalf("fetchmail delivered %d messages, want %d\n%s", len(parts),
			len(env.corpus.messages), out)
	}
	decrypted := 0
	for _, p := range parts {
		msg := crlf([]byte(p))
		tm := corpusMessage(t, msg)
		if tm.decrypts() {
			if !bytes.Contains(msg, bytes.TrimSpace(innerBody(tm))) {
				t.Errorf("fetchmail: %s not decrypted", tm.name)
			}
			decrypted++
		}
	}
	if decrypted == 0 {
		t.Error("fetchmail: no decrypted message")
	}
}

// TestPOP3Curl retrieves with curl's pop3:// URLs over STLS.
func TestPOP3Curl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	f := newPOP3Fixture(t, proxyOptions{strictAuth: true})
	curl := func(path string) []byte {
		out, err := run(t.TempDir(), nil, "curl", "-sS", "--ssl-reqd", "--cacert",
			env.pki.caCert, "--user", userAlice+":"+testUsers[userAlice],
			"pop3://"+f.px.pop3Addr+path)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	sizes := map[int]int64{}
	for _, line := range strings.Split(strings.TrimSpace(string(curl("/"))), "\n") {
		fields := strings.Fields(line)
		n, _ := strconv.Atoi(fields[0])
		sizes[n], _ = strconv.ParseInt(fields[1], 10, 64)
	}
	if len(sizes) != len(env.corpus.messages) {
		t.Fatalf("curl LIST: %d messages", len(sizes))
	}
	for _, tm := range []string{"enc-aes256", "enc-stream-ber", "wrong-user-bob"} {
		n := f.numberOf(t, tm)
		msg := curl("/" + strconv.Itoa(n))
		if int64(len(msg)) != sizes[n] {
			t.Errorf("curl %s: LIST %d, RETR %d bytes", tm, sizes[n], len(msg))
		}
		want := env.corpus.get(tm)
		if want.decrypts() && !bytes.Contains(msg, bytes.TrimSpace(innerBody(want))) {
			t.Errorf("curl: %s not decrypted", tm)
		}
		if got := statusOf(msg); !strings.HasPrefix(got, want.status) {
			t.Errorf("curl %s: status %q, want %q", tm, got, want.status)
		}
	}
}

// numberOf finds a corpus message's number in Dovecot's POP3 listing.
func (f *pop3Fixture) numberOf(tb testing.TB, name string) int {
	tb.Helper()
	c := pop3Login(tb, f.dv.pop3Addr, userAlice)
	defer c.Quit()
	want := env.corpus.get(name).messageID()
	list, err := c.List()
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range list {
		head, err := c.Top(e.Num, 0)
		if err != nil {
			tb.Fatal(err)
		}
		if m := messageIDField.FindSubmatch(head); m != nil && string(m[1]) == want {
			return e.Num
		}
	}
	tb.Fatalf("%s not in the maildrop", name)
	return 0
}

// BenchmarkPOP3Retr500 retrieves 500 plain 20 KB messages (RETR 1 to 500,
// one at a time) straight from Dovecot, through a bare TCP relay and
// through the proxy, without TLS upstream so that only the hop and the
// proxy's work differ. Issue 5's target: proxy <= 1.25 x direct.
func BenchmarkPOP3Retr500(b *testing.B) {
	requireBinary(b)
	dv := startDovecot(b)
	var total int64
	for i := range 500 {
		msg := plainMessage20K(i)
		total += int64(len(crlf(msg)))
		dv.deliver(b, userAlice, msg)
	}
	px := startPOP3Proxy(b, dv, proxyOptions{upstreamTLS: "none"})
	relay := startRelay(b, dv.pop3Addr)
	for _, bc := range []struct{ name, addr string }{
		{"direct", dv.pop3Addr}, {"relay", relay}, {"proxy", px.pop3Addr},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := pop3Login(b, bc.addr, userAlice)
			retrAll(b, c, 500) // Dovecot's and the proxy's first-time work
			b.SetBytes(total)
			b.ResetTimer()
			for range b.N {
				if n := retrAll(b, c, 500); n != total {
					b.Fatalf("retrieved %d bytes, want %d", n, total)
				}
			}
		})
	}
}

// retrAll retrieves messages 1 to n one after the other and returns the
// bytes read.
func retrAll(b *testing.B, c *pop3proxy.Client, n int) int64 {
	commands := make([]string, n)
	for i := range commands {
		commands[i] = "RETR " + strconv.Itoa(i+1)
	}
	var total int64
	err := c.Batch(commands, 1, func(i int, body []byte, err error) error {
		total += int64(len(body))
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return total
}

// BenchmarkPOP3Stat2000 times a session that logs in and asks STAT on a
// maildrop of 2,000 messages, half of them encrypted to alice: straight
// from Dovecot, through a proxy that has never seen the maildrop (first),
// and through one that has (second). Issue 5's target: second <= 1.5 x
// direct.
func BenchmarkPOP3Stat2000(b *testing.B) {
	requireBinary(b)
	dv := startDovecot(b)
	deliverHalfEncrypted(b, dv, 2000)
	statSession(b, dv.pop3Addr) // let Dovecot index the maildrop

	b.Run("direct", func(b *testing.B) {
		for range b.N {
			statSession(b, dv.pop3Addr)
		}
	})
	b.Run("proxy-first", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			px := startPOP3Proxy(b, dv, proxyOptions{upstreamTLS: "none"})
			b.StartTimer()
			statSession(b, px.pop3Addr)
		}
	})
	b.Run("proxy-second", func(b *testing.B) {
		px := startPOP3Proxy(b, dv, proxyOptions{upstreamTLS: "none"})
		statSession(b, px.pop3Addr)
		b.ResetTimer()
		for range b.N {
			statSession(b, px.pop3Addr)
		}
	})
}

// statSession logs in, asks STAT and quits.
func statSession(b *testing.B, addr string) {
	c := pop3Login(b, addr, userAlice)
	text, err := c.Cmd("STAT")
	if err != nil || !strings.HasPrefix(text, "2000 ") {
		b.Fatalf("STAT at %s = %q, %v", addr, text, err)
	}
	if _, err := c.Quit(); err != nil {
		b.Fatal(err)
	}
}

// deliverHalfEncrypted fills alice's INBOX with n small messages, every
// other one encrypted to her with AES-256-CBC.
func deliverHalfEncrypted(b *testing.B, dv *dovecot, n int) {
	b.Helper()
	certPEM, err := os.ReadFile(env.pki.ids[idAlice].cert)
	if err != nil {
		b.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	if block == nil {
		b.Fatal("alice's certificate: no PEM block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		name := fmt.Sprintf("stat-%d", i)
		inner := "Content-Type: text/plain\r\n\r\n" + strings.Repeat("secret line\r\n", 40)
		if i%2 == 0 {
			dv.deliver(b, userAlice, []byte(outerHeader(name, "alice@example.org")+
				"Content-Type: text/plain\n\n"+strings.Repeat("plain line\n", 40)))
			continue
		}
		der, err := cms.Encrypt([]byte(inner), []*x509.Certificate{cert},
			cms.EncryptOptions{Cipher: "aes-256-cbc"})
		if err != nil {
			b.Fatal(err)
		}
		dv.deliver(b, userAlice, []byte(outerHeader(name, "alice@example.org")+
			"MIME-Version: 1.0\nContent-Type: application/pkcs7-mime; "+
			"smime-type=enveloped-data; name=smime.p7m\n"+
			"Content-Transfer-Encoding: base64\n\n"+
			base64.StdEncoding.EncodeToString(der)+"\n"))
	}
}
