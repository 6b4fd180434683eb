package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/smimeproxy/smimeproxy/config"
	"github.com/smimeproxy/smimeproxy/keystore"
	"github.com/smimeproxy/smimeproxy/smime/cms"
)

func init() {
	register("demo", command{
		summary: "run the proxy on a built-in mailbox with sample S/MIME mail",
		run:     runDemo,
	})
}

const (
	demoUser     = "alice@demo.example"
	demoPassword = "demo-password"
)

func runDemo(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("demo", flag.ContinueOnError)
	flags.SetOutput(stderr)
	listen := flags.String("listen", "127.0.0.1:1143", "IMAP `address` the proxy listens on")
	adminListen := flags.String("admin-listen", "127.0.0.1:9143", "`address` of the dashboard; \"\" turns it off")
	logLevel := flags.String("log-level", "info", "log `level`: trace, debug, info, warn, error")
	if err := flags.Parse(args); err != nil {
		return 2
	}

	dir, err := os.MkdirTemp("", "smimeproxy-demo-")
	if err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return 1
	}
	defer os.RemoveAll(dir)

	cfg, token, err := setUpDemo(dir, *listen, *adminListen, *logLevel)
	if err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return 1
	}
	log := newLogger(cfg.Log, stderr)
	vault, err := openVault(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return 1
	}
	p, err := startProxy(cfg, vault, log)
	if err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return 1
	}
	stopAdmin, err := startAdmin(cfg, p, vault, log)
	if err != nil {
		p.close()
		fmt.Fprintln(stderr, "demo:", err)
		return 1
	}
	defer stopAdmin()

	addr := p.addrs[0]
	fmt.Fprintf(stdout, `
smimeproxy demo is running.

  IMAP      %s  (STARTTLS with a self-signed certificate; plain LOGIN allowed on loopback)
  login     %s / %s
  INBOX     5 sample messages: plain, S/MIME AES-256-CBC, S/MIME AES-128-GCM,
            S/MIME to someone else (stays encrypted), plain with a forged status header

  try       curl -s "imap://%s/INBOX;UID=2" --user %s:%s
%s
Press Ctrl-C to stop.
`, addr, demoUser, demoPassword, addr, demoUser, demoPassword, dashboardLine(cfg, token))

	waitForShutdown(p, log)
	return 0
}

func dashboardLine(cfg *config.Config, token string) string {
	if !cfg.Admin.Enabled() {
		return ""
	}
	return fmt.Sprintf("  dashboard http://%s/  (token %s)\n", cfg.Admin.Listen, token)
}

// setUpDemo writes everything a real deployment has on disk (certificate,
// master key, vault, dashboard token, config) into dir, starts the
// built-in mailbox server and returns the config that points at both, and
// the dashboard token.
func setUpDemo(dir, listen, adminListen, logLevel string) (*config.Config, string, error) {
	demoKey, demoCert, err := selfSigned("Alice Demo", demoUser)
	if err != nil {
		return nil, "", err
	}
	_, otherCert, err := selfSigned("Bob Elsewhere", "bob@elsewhere.example")
	if err != nil {
		return nil, "", err
	}

	certFile, keyFile, err := writeServerCert(dir)
	if err != nil {
		return nil, "", err
	}
	masterKeyFile := filepath.Join(dir, "master.key")
	if _, err := keystore.InitMasterKey(masterKeyFile); err != nil {
		return nil, "", err
	}
	masterKey, err := keystore.LoadMasterKey(masterKeyFile)
	if err != nil {
		return nil, "", err
	}
	vaultDir := filepath.Join(dir, "vault")
	vault, err := keystore.OpenFileVault(vaultDir, masterKey)
	if err != nil {
		return nil, "", err
	}
	if _, err := vault.Add(demoUser, demoCert, demoKey); err != nil {
		return nil, "", err
	}

	messages, err := demoMessages(demoCert, otherCert)
	if err != nil {
		return nil, "", err
	}
	upstream, err := startDemoMailbox(messages)
	if err != nil {
		return nil, "", err
	}
	token := hex.EncodeToString(randomBytes(16))
	tokenFile := filepath.Join(dir, "admin.token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		return nil, "", err
	}

	cfg := config.Defaults()
	cfg.IMAP.Listen = listen
	cfg.IMAP.Upstream = upstream
	cfg.IMAP.UpstreamTLS = config.UpstreamTLSNone
	cfg.IMAP.AllowInsecureAuth = true
	cfg.TLS = config.TLS{CertFile: certFile, KeyFile: keyFile}
	cfg.Keystore = config.Keystore{Path: vaultDir, MasterKeyFile: masterKeyFile}
	cfg.Log.Level = logLevel
	cfg.Status.AuthservID = "smimeproxy.demo.example"
	cfg.Trust.Dir = filepath.Join(dir, "trust")
	cfg.Revocation.CacheDir = filepath.Join(dir, "revocation")
	if adminListen != "" {
		cfg.Admin.Listen = adminListen
		cfg.Admin.TokenFile = tokenFile
	}
	return &cfg, token, nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// startDemoMailbox runs an in-memory IMAP server on loopback holding the
// sample messages for the demo user.
func startDemoMailbox(messages [][]byte) (string, error) {
	mem := imapmemserver.New()
	user := imapmemserver.NewUser(demoUser, demoPassword)
	if err := user.Create("INBOX", nil); err != nil {
		return "", err
	}
	for _, msg := range messages {
		if _, err := user.Append("INBOX", literal{strings.NewReader(string(msg)), int64(len(msg))}, &imap.AppendOptions{}); err != nil {
			return "", err
		}
	}
	mem.AddUser(user)

	server := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapMove: {}, imap.CapUIDPlus: {}, imap.CapNamespace: {}},
		InsecureAuth: true,
		Logger:       discardLogger{},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	go server.Serve(ln)
	return ln.Addr().String(), nil
}

type literal struct {
	io.Reader
	size int64
}

func (l literal) Size() int64 { return l.size }

type discardLogger struct{}

func (discardLogger) Printf(string, ...interface{}) {}

func demoMessages(demoCert, otherCert *x509.Certificate) ([][]byte, error) {
	date := time.Now().Add(-time.Hour).Format(time.RFC1123Z)
	header := func(n int, subject string) string {
		return "From: Carol Sender <carol@partner.example>\r\n" +
			"To: Alice Demo <" + demoUser + ">\r\n" +
			"Subject: " + subject + "\r\n" +
			"Date: " + date + "\r\n" +
			fmt.Sprintf("Message-ID: <demo-%d@partner.example>\r\n", n) +
			"MIME-Version: 1.0\r\n"
	}
	inner := func(text string) []byte {
		return []byte("Content-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n")
	}
	encrypted := func(n int, subject string, content []byte, to *x509.Certificate, cipher string) ([]byte, error) {
		der, err := cms.Encrypt(content, []*x509.Certificate{to}, cms.EncryptOptions{Cipher: cipher})
		if err != nil {
			return nil, err
		}
		smimeType := "enveloped-data"
		if strings.HasSuffix(cipher, "-gcm") {
			smimeType = "authEnveloped-data"
		}
		return []byte(header(n, subject) +
			"Content-Type: application/pkcs7-mime; smime-type=" + smimeType + "; name=smime.p7m\r\n" +
			"Content-Transfer-Encoding: base64\r\n" +
			"Content-Disposition: attachment; filename=smime.p7m\r\n\r\n" +
			wrap76(base64.StdEncoding.EncodeToString(der))), nil
	}

	plain := []byte(header(1, "Plain hello") + "Content-Type: text/plain\r\n\r\nThis message was never encrypted.\r\n")
	cbc, err := encrypted(2, "Encrypted quarterly figures", inner("Revenue is up 12%. Keep this confidential."), demoCert, "aes-256-cbc")
	if err != nil {
		return nil, err
	}
	gcm, err := encrypted(3, "Encrypted with AES-GCM", inner("S/MIME 4.0 authenticated encryption works too."), demoCert, "aes-128-gcm")
	if err != nil {
		return nil, err
	}
	notOurs, err := encrypted(4, "Encrypted for someone else", inner("Only Bob can read this."), otherCert, "aes-256-cbc")
	if err != nil {
		return nil, err
	}
	forged := []byte(header(5, "Trust me") + "X-SMIME-Status: decrypted; cipher=aes-256-cbc\r\n" +
		"Content-Type: text/plain\r\n\r\nThe sender wrote a status header; the proxy removes it.\r\n")
	return [][]byte{plain, cbc, gcm, notOurs, forged}, nil
}

func wrap76(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76])
		b.WriteString("\r\n")
		s = s[76:]
	}
	b.WriteString(s)
	b.WriteString("\r\n")
	return b.String()
}

func generateRSA() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, 2048)
}
