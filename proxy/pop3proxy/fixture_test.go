package pop3proxy

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
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
	t        testing.TB
	up       *fakeServer
	server   *Server
	addr     string // plaintext listener
	tlsAddr  string // implicit TLS listener
	cert     *x509.Certificate
	other    *x509.Certificate
	otherKey *rsa.PrivateKey
	vault    *keystore.FileVault
	clientTL *tls.Config
}

type fixtureOptions struct {
	insecureAuth bool
	maxSessions  int
	setup        func(*fakeServer)
	// emptyMaildrop leaves the maildrop empty, for benchmarks.
	emptyMaildrop bool
	// noOutputCache disables the pipeline's cache of whole messages.
	noOutputCache bool
	observe       func(proto, cmd string, d time.Duration, err error)
}

func newFixture(t testing.TB, opts fixtureOptions) *fixture {
	t.Helper()
	f := &fixture{t: t, up: newFakeServer(t, testUser, testPassword)}
	key, cert := newTestCert(t, "Alice", testUser)
	f.otherKey, f.other = newTestCert(t, "Bob", "bob@example.org")
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
	f.vault = vault
	if !opts.emptyMaildrop {
		f.fillMaildrop()
	}
	if opts.setup != nil {
		opts.setup(f.up)
	}

	serverTLS, clientTLS := newTLSPair(t)
	f.clientTL = clientTLS
	pipe := pipelineForBench()
	if opts.noOutputCache {
		pipe = pipeline.New(pipeline.Options{AuthServID: authservID})
	}
	f.server = New(Options{FrontOptions: proxy.FrontOptions{
		Upstream: proxy.Upstream{Address: f.up.addr, TLS: proxy.UpstreamTLSNone,
			Timeout: 5 * time.Second},
		TLSConfig:    serverTLS,
		InsecureAuth: opts.insecureAuth,
		Pipeline:     pipe,
		Vault:        vault,
		MaxSessions:  opts.maxSessions,

		ObserveUpstream: opts.observe,
	}})
	f.addr = serveOn(t, f.server.Serve)
	f.tlsAddr = serveOn(t, f.server.ServeTLS)
	t.Cleanup(func() { f.server.Close() })
	return f
}

func pipelineForBench() *pipeline.Pipeline {
	return pipeline.New(pipeline.Options{AuthServID: authservID, CacheBytes: 1 << 20})
}

func serveOn(t testing.TB, serve func(net.Listener) error) string {
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
	der, err := cms.Encrypt([]byte(inner), []*x509.Certificate{to},
		cms.EncryptOptions{Cipher: "aes-256-cbc"})
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
	pair := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	server = &tls.Config{Certificates: []tls.Certificate{pair}}
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

func stat(t *testing.T, c *Client) (int, int64) { return statB(t, c) }

func statB(t testing.TB, c *Client) (int, int64) {
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
