package imapproxy

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/smimeproxy/smimeproxy/keystore"
	"github.com/smimeproxy/smimeproxy/proxy"
	"github.com/smimeproxy/smimeproxy/proxy/pipeline"
	"github.com/smimeproxy/smimeproxy/smime/cms"
)

const (
	testUser     = "alice@example.org"
	testPassword = "alice-secret"
	authservID   = "proxy.test.example"
)

// fixture is an in-memory mailbox server, a vault holding the test user's
// key, and the proxy in front of them.
type fixture struct {
	t        testing.TB
	upstream string // address of the in-memory IMAP server
	proxy    string // address of the proxy
	server   *Server
	mem      *imapmemserver.User
	cert     *x509.Certificate
	other    *x509.Certificate
	otherKey *rsa.PrivateKey
	vault    *keystore.FileVault
}

type fixtureOptions struct {
	insecureAuth bool
	noCache      bool
}

func newFixture(t testing.TB, opts fixtureOptions) *fixture {
	t.Helper()
	f := &fixture{t: t}

	key, cert := newTestCert(t, "Alice", testUser)
	otherKey, other := newTestCert(t, "Bob", "bob@example.org")
	f.cert, f.other, f.otherKey = cert, other, otherKey

	masterKey := make([]byte, 32)
	rand.Read(masterKey)
	vault, err := keystore.OpenFileVault(t.TempDir(), masterKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vault.Add(testUser, cert, key); err != nil {
		t.Fatal(err)
	}
	f.vault = vault

	f.mem = imapmemserver.NewUser(testUser, testPassword)
	if err := f.mem.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem := imapmemserver.New()
	mem.AddUser(f.mem)
	upstream := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapMove: {}, imap.CapUIDPlus: {}, imap.CapNamespace: {}},
		InsecureAuth: true,
		Logger:       log.New(io.Discard, "", 0),
	})
	f.upstream = serveOnLoopback(t, upstream.Serve)
	t.Cleanup(func() { upstream.Close() })

	cacheBytes := int64(1 << 20)
	if opts.noCache {
		cacheBytes = 0
	}
	f.server = New(Options{FrontOptions: proxy.FrontOptions{
		Upstream:     proxy.Upstream{Address: f.upstream, TLS: proxy.UpstreamTLSNone, Timeout: 5 * time.Second},
		InsecureAuth: opts.insecureAuth,
		Pipeline:     pipeline.New(pipeline.Options{AuthServID: authservID, CacheBytes: cacheBytes}),
		Vault:        vault,
	}})
	f.proxy = serveOnLoopback(t, f.server.Serve)
	t.Cleanup(func() { f.server.Close() })
	return f
}

func serveOnLoopback(t testing.TB, serve func(net.Listener) error) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go serve(ln)
	return ln.Addr().String()
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

// deliver appends msg to the upstream INBOX directly, as a mail server's
// delivery agent would.
func (f *fixture) deliver(msg string) {
	f.t.Helper()
	if _, err := f.mem.Append("INBOX", memLiteral{strings.NewReader(msg), int64(len(msg))}, &imap.AppendOptions{}); err != nil {
		f.t.Fatal(err)
	}
}

type memLiteral struct {
	io.Reader
	size int64
}

func (l memLiteral) Size() int64 { return l.size }

func (f *fixture) dial(addr string, login bool) *imapclient.Client {
	f.t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { c.Close() })
	if login {
		if err := c.Login(testUser, testPassword).Wait(); err != nil {
			f.t.Fatalf("login: %v", err)
		}
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			f.t.Fatalf("select: %v", err)
		}
	}
	return c
}

const plainMessage = "From: Carol <carol@example.net>\r\n" +
	"To: Alice <alice@example.org>\r\n" +
	"Subject: plain\r\n" +
	"Date: Mon, 30 Nov 2026 10:00:00 +0000\r\n" +
	"Message-ID: <plain@example.net>\r\n" +
	"Content-Type: text/plain\r\n" +
	"\r\n" +
	"Nothing secret here.\r\n"

func encryptedMessage(t testing.TB, to *x509.Certificate, subject, inner string) string {
	t.Helper()
	der, err := cms.Encrypt([]byte(inner), []*x509.Certificate{to}, cms.EncryptOptions{Cipher: "aes-256-cbc"})
	if err != nil {
		t.Fatal(err)
	}
	return "From: Carol <carol@example.net>\r\n" +
		"To: Alice <alice@example.org>\r\n" +
		"Subject: " + subject + "\r\n" +
		"Date: Mon, 30 Nov 2026 10:00:00 +0000\r\n" +
		"Message-ID: <" + subject + "@example.net>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\n" +
		"Content-Transfer-Encoding: base64\r\n" +
		"\r\n" +
		base64.StdEncoding.EncodeToString(der) + "\r\n"
}

const secretInner = "Content-Type: multipart/mixed; boundary=b1\r\n" +
	"\r\n" +
	"--b1\r\n" +
	"Content-Type: text/plain\r\n" +
	"\r\n" +
	"The launch code is 0000.\r\n" +
	"--b1\r\n" +
	"Content-Type: text/csv; name=figures.csv\r\n" +
	"\r\n" +
	"q1,q2\r\n1,2\r\n" +
	"--b1--\r\n"

func fetchOne(t *testing.T, c *imapclient.Client, uid imap.UID, options *imap.FetchOptions) *imapclient.FetchMessageBuffer {
	t.Helper()
	msgs, err := c.Fetch(imap.UIDSetNum(uid), options).Collect()
	if err != nil {
		t.Fatalf("fetch uid %d: %v", uid, err)
	}
	if len(msgs) != 1 {
		t.Fatalf("fetch uid %d: got %d messages", uid, len(msgs))
	}
	return msgs[0]
}

func TestPlainMessagePassesThroughByteForByte(t *testing.T) {
	f := newFixture(t, fixtureOptions{insecureAuth: true})
	f.deliver(plainMessage)
	c := f.dial(f.proxy, true)

	whole := &imap.FetchItemBodySection{}
	msg := fetchOne(t, c, 1, &imap.FetchOptions{RFC822Size: true, BodySection: []*imap.FetchItemBodySection{whole}})
	if got := string(msg.FindBodySection(whole)); got != plainMessage {
		t.Errorf("BODY[] through the proxy differs from the original:\n%q", got)
	}
	if msg.RFC822Size != int64(len(plainMessage)) {
		t.Errorf("RFC822.SIZE = %d, want %d", msg.RFC822Size, len(plainMessage))
	}
}

func TestEncryptedMessageIsDecryptedConsistently(t *testing.T) {
	f := newFixture(t, fixtureOptions{insecureAuth: true})
	original := encryptedMessage(t, f.cert, "secret", secretInner)
	f.deliver(original)
	c := f.dial(f.proxy, true)

	whole := &imap.FetchItemBodySection{Peek: true}
	header := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
	text := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierText, Peek: true}
	part1 := &imap.FetchItemBodySection{Part: []int{1}, Peek: true}
	part2mime := &imap.FetchItemBodySection{Part: []int{2}, Specifier: imap.PartSpecifierMIME, Peek: true}
	slice := &imap.FetchItemBodySection{Peek: true, Partial: &imap.SectionPartial{Offset: 10, Size: 50}}
	msg := fetchOne(t, c, 1, &imap.FetchOptions{
		UID:           true,
		RFC822Size:    true,
		Envelope:      true,
		BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
		BodySection:   []*imap.FetchItemBodySection{whole, header, text, part1, part2mime, slice},
	})

	body := msg.FindBodySection(whole)
	if !bytes.Contains(body, []byte("The launch code is 0000.")) {
		t.Fatalf("BODY[] is not decrypted:\n%s", body)
	}
	if n := bytes.Count(body, []byte("X-SMIME-Status:")); n != 1 {
		t.Errorf("BODY[] has %d X-SMIME-Status fields, want 1", n)
	}
	if !bytes.Contains(body, []byte("X-SMIME-Status: decrypted")) {
		t.Errorf("status header does not say decrypted:\n%s", body[:headerLength(body)])
	}
	if msg.RFC822Size != int64(len(body)) {
		t.Errorf("RFC822.SIZE = %d, len(BODY[]) = %d", msg.RFC822Size, len(body))
	}
	headerAndText := append(append([]byte{}, msg.FindBodySection(header)...), msg.FindBodySection(text)...)
	if !bytes.Equal(headerAndText, body) {
		t.Errorf("BODY[HEADER] + BODY[TEXT] != BODY[]")
	}
	if got, want := string(msg.FindBodySection(slice)), string(body[10:60]); got != want {
		t.Errorf("BODY[]<10.50> = %q, want %q", got, want)
	}
	if got := string(msg.FindBodySection(part1)); got != "The launch code is 0000." {
		t.Errorf("BODY[1] = %q", got)
	}
	if got := string(msg.FindBodySection(part2mime)); !strings.Contains(got, "text/csv") {
		t.Errorf("BODY[2.MIME] = %q", got)
	}
	mp, ok := msg.BodyStructure.(*imap.BodyStructureMultiPart)
	if !ok || mp.Subtype != "mixed" || len(mp.Children) != 2 {
		t.Errorf("BODYSTRUCTURE = %#v, want multipart/mixed with 2 parts", msg.BodyStructure)
	}
	if msg.Envelope == nil || msg.Envelope.Subject != "secret" {
		t.Errorf("ENVELOPE = %+v, want the outer subject", msg.Envelope)
	}
	for _, kept := range []string{"From: Carol", "Message-ID: <secret@example.net>", "Date: Mon, 30 Nov 2026"} {
		if !bytes.Contains(body, []byte(kept)) {
			t.Errorf("decrypted message lost outer header %q", kept)
		}
	}
	if bytes.Contains(body, []byte("application/pkcs7-mime")) {
		t.Errorf("decrypted message still names the S/MIME content type")
	}
}

func TestUpstreamKeepsEncryptedOriginal(t *testing.T) {
	f := newFixture(t, fixtureOptions{insecureAuth: true})
	original := encryptedMessage(t, f.cert, "secret", secretInner)
	f.deliver(original)

	fetchOne(t, f.dial(f.proxy, true), 1, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}})

	whole := &imap.FetchItemBodySection{Peek: true}
	direct := fetchOne(t, f.dial(f.upstream, true), 1, &imap.FetchOptions{Flags: true, BodySection: []*imap.FetchItemBodySection{whole}})
	if got := string(direct.FindBodySection(whole)); got != original {
		t.Errorf("the mailbox server's copy changed")
	}
	if !containsFlag(direct.Flags, imap.FlagSeen) {
		t.Errorf("a non-peek BODY[] through the proxy did not set \\Seen upstream")
	}
}

func containsFlag(flags []imap.Flag, want imap.Flag) bool {
	for _, f := range flags {
		if f == want {
			return true
		}
	}
	return false
}

func TestMessageForAnotherUserStaysEncrypted(t *testing.T) {
	f := newFixture(t, fixtureOptions{insecureAuth: true})
	original := encryptedMessage(t, f.other, "notours", "Content-Type: text/plain\r\n\r\nfor Bob\r\n")
	f.deliver(original)
	c := f.dial(f.proxy, true)

	whole := &imap.FetchItemBodySection{Peek: true}
	msg := fetchOne(t, c, 1, &imap.FetchOptions{RFC822Size: true, BodySection: []*imap.FetchItemBodySection{whole}})
	body := string(msg.FindBodySection(whole))
	if !strings.Contains(body, "X-SMIME-Status: not-decrypted; reason=no-key") {
		t.Errorf("status does not say no-key:\n%s", body)
	}
	originalBody := original[strings.Index(original, "\r\n\r\n"):]
	if !strings.HasSuffix(body, originalBody) {
		t.Errorf("the encrypted body was not passed on unchanged")
	}
	if msg.RFC822Size != int64(len(body)) {
		t.Errorf("RFC822.SIZE = %d, len(BODY[]) = %d", msg.RFC822Size, len(body))
	}
}

func TestForgedStatusHeaderIsRemoved(t *testing.T) {
	f := newFixture(t, fixtureOptions{insecureAuth: true})
	forged := "X-SMIME-Status: decrypted; cipher=aes-256-cbc\r\n" + plainMessage
	f.deliver(forged)
	c := f.dial(f.proxy, true)

	whole := &imap.FetchItemBodySection{Peek: true}
	msg := fetchOne(t, c, 1, &imap.FetchOptions{RFC822Size: true, BodySection: []*imap.FetchItemBodySection{whole}})
	body := string(msg.FindBodySection(whole))
	if strings.Contains(body, "X-SMIME-Status: decrypted") {
		t.Errorf("forged status header reached the client:\n%s", body)
	}
	if msg.RFC822Size != int64(len(body)) {
		t.Errorf("RFC822.SIZE = %d, len(BODY[]) = %d", msg.RFC822Size, len(body))
	}
}

func TestLoginFailureIsRelayed(t *testing.T) {
	f := newFixture(t, fixtureOptions{insecureAuth: true})

	direct := f.dial(f.upstream, false).Login(testUser, "wrong").Wait()
	viaProxy := f.dial(f.proxy, false).Login(testUser, "wrong").Wait()
	var directErr, proxyErr *imap.Error
	if !errors.As(direct, &directErr) || !errors.As(viaProxy, &proxyErr) {
		t.Fatalf("want IMAP errors, got direct %v, proxy %v", direct, viaProxy)
	}
	if *proxyErr != *directErr {
		t.Errorf("proxy answered %+v, the server said %+v", *proxyErr, *directErr)
	}
}

func TestPlaintextLoginRefusedWithoutTLS(t *testing.T) {
	f := newFixture(t, fixtureOptions{insecureAuth: false})
	c := f.dial(f.proxy, false)
	caps, err := c.Capability().Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !caps.Has(imap.CapLoginDisabled) {
		t.Errorf("capabilities %v lack LOGINDISABLED", caps)
	}
	if err := c.Login(testUser, testPassword).Wait(); err == nil {
		t.Errorf("LOGIN over plaintext succeeded")
	}
}

func TestIdleDeliversNewMessage(t *testing.T) {
	f := newFixture(t, fixtureOptions{insecureAuth: true})
	f.deliver(plainMessage)

	exists := make(chan uint32, 4)
	c, err := imapclient.DialInsecure(f.proxy, &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(data *imapclient.UnilateralDataMailbox) {
				if data.NumMessages != nil {
					exists <- *data.NumMessages
				}
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(testUser, testPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	// The in-memory server reports only changes made while its IDLE runs,
	// and the client cannot see when the proxy's upstream IDLE has begun.
	time.Sleep(300 * time.Millisecond)
	f.deliver(plainMessage)
	select {
	case n := <-exists:
		if n != 2 {
			t.Errorf("EXISTS %d, want 2", n)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("no EXISTS during IDLE")
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestStoreAndExpungeReachUpstream(t *testing.T) {
	f := newFixture(t, fixtureOptions{insecureAuth: true})
	f.deliver(plainMessage)
	f.deliver(plainMessage)
	c := f.dial(f.proxy, true)

	store := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}
	if err := c.Store(imap.UIDSetNum(1), store, nil).Close(); err != nil {
		t.Fatal(err)
	}
	expunged, err := c.Expunge().Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(expunged) != 1 || expunged[0] != 1 {
		t.Errorf("EXPUNGE reported %v, want [1]", expunged)
	}
	status, err := f.dial(f.upstream, true).Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if *status.NumMessages != 1 {
		t.Errorf("upstream holds %d messages, want 1", *status.NumMessages)
	}
}

func TestUpstreamDownGivesBye(t *testing.T) {
	f := newFixture(t, fixtureOptions{insecureAuth: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := ln.Addr().String()
	ln.Close()
	s := New(Options{FrontOptions: proxy.FrontOptions{
		Upstream: proxy.Upstream{Address: deadAddr, TLS: proxy.UpstreamTLSNone, Timeout: time.Second},
		Pipeline: pipeline.New(pipeline.Options{}),
		Vault:    nil,
	}})
	addr := serveOnLoopback(t, s.Serve)
	defer s.Close()
	_ = f

	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.WaitGreeting(); err == nil {
		t.Errorf("greeting succeeded with the mailbox server down")
	}
}

// TestKeyImportTakesEffect: a message that did not decrypt opens in the
// next session once the key it needs is in the vault, although the first
// result is still in the cache.
func TestKeyImportTakesEffect(t *testing.T) {
	f := newFixture(t, fixtureOptions{insecureAuth: true})
	f.deliver(encryptedMessage(t, f.other, "later", "Content-Type: text/plain\r\n\r\nreadable now\r\n"))
	whole := &imap.FetchItemBodySection{Peek: true}
	options := &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{whole}}

	before := string(fetchOne(t, f.dial(f.proxy, true), 1, options).FindBodySection(whole))
	if !strings.Contains(before, "reason=no-key") {
		t.Fatalf("before the import:\n%s", before)
	}
	if _, err := f.vault.Add(testUser, f.other, f.otherKey); err != nil {
		t.Fatal(err)
	}
	after := string(fetchOne(t, f.dial(f.proxy, true), 1, options).FindBodySection(whole))
	if !strings.Contains(after, "readable now") {
		t.Errorf("after the import the message still does not open:\n%s", after)
	}
}
