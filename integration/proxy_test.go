package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// proxyOptions vary the proxy's config between tests.
type proxyOptions struct {
	// strictAuth sets allow_insecure_auth = false: LOGIN only after STARTTLS.
	strictAuth bool
	// cacheBytes is [cache] decrypted_max_bytes; 0 keeps the default.
	cacheBytes int64
	// noCache disables the decrypted-message cache.
	noCache bool
	// upstreamTLS is imap.upstream_tls; "" means "starttls".
	upstreamTLS string
	// jsonLog sets [log] format = "json".
	jsonLog bool
	// extraConfig is appended to the config file (e.g. an [admin] section).
	extraConfig string
}

// proxyWatchdog bounds how long one test may keep a proxy running.
const proxyWatchdog = 2 * time.Minute

// proxy is a running smimeproxy child process.
type proxy struct {
	dir     string
	conf    string
	logPath string
	addr    string // plaintext + STARTTLS listener
	tlsAddr string // implicit TLS listener
	cmd     *exec.Cmd
	exited  chan struct{}
}

// vaultKeys says whose keys the tests import: alice has a current and an
// older key, bob one, carol none.
var vaultKeys = []struct{ user, id string }{
	{userAlice, idAlice},
	{userAlice, idAliceOld},
	{userBob, idBob},
}

// startProxy configures smimeproxy in front of d, imports the test keys,
// starts `smimeproxy serve` and stops it when the test ends.
func startProxy(tb testing.TB, d *dovecot, opts proxyOptions) *proxy {
	tb.Helper()
	requireBinary(tb)
	p := &proxy{dir: testDir(tb)}
	p.conf = filepath.Join(p.dir, "smimeproxy.toml")
	p.logPath = filepath.Join(p.dir, "smimeproxy.log")
	ports, err := freePorts(2)
	if err != nil {
		tb.Fatal(err)
	}
	p.addr, p.tlsAddr = loopback(ports[0]), loopback(ports[1])
	if err := os.WriteFile(p.conf, []byte(p.config(d, opts)), 0o600); err != nil {
		tb.Fatal(err)
	}
	p.smimeproxy(tb, "keys", "init", "-config", p.conf)
	for _, k := range vaultKeys {
		p.smimeproxy(tb, "keys", "import", "-config", p.conf, "-user", k.user,
			"-p12", env.pki.ids[k.id].p12, "-password-file", env.pki.p12Password)
	}
	p.start(tb)
	if err := waitPort(p.addr, 15*time.Second, p.exited); err != nil {
		tb.Fatalf("smimeproxy serve: %v\n%s", err, readFile(p.logPath))
	}
	return p
}

func (p *proxy) config(d *dovecot, opts proxyOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[imap]\nlisten = %q\ntls_listen = %q\nupstream = %q\n",
		p.addr, p.tlsAddr, d.imapAddr)
	upstreamTLS := opts.upstreamTLS
	if upstreamTLS == "" {
		upstreamTLS = "starttls"
	}
	fmt.Fprintf(&b, "upstream_tls = %q\nupstream_ca_file = %q\n", upstreamTLS, env.pki.caCert)
	fmt.Fprintf(&b, "allow_insecure_auth = %t\nupstream_timeout = \"30s\"\n", !opts.strictAuth)
	fmt.Fprintf(&b, "\n[tls]\ncert_file = %q\nkey_file = %q\n",
		env.pki.serverCert, env.pki.serverKey)
	fmt.Fprintf(&b, "\n[keystore]\npath = %q\nmaster_key_file = %q\n",
		filepath.Join(p.dir, "vault"), filepath.Join(p.dir, "master.key"))
	format := "text"
	if opts.jsonLog {
		format = "json"
	}
	fmt.Fprintf(&b, "\n[log]\nlevel = \"debug\"\nformat = %q\naudit = true\n", format)
	fmt.Fprintf(&b, "\n[status]\nauthserv_id = %q\n", authservID)
	switch {
	case opts.noCache:
		b.WriteString("\n[cache]\ndecrypted_max_bytes = 0\n")
	case opts.cacheBytes > 0:
		fmt.Fprintf(&b, "\n[cache]\ndecrypted_max_bytes = %d\n", opts.cacheBytes)
	}
	b.WriteString(opts.extraConfig)
	return b.String()
}

// smimeproxy runs a one-shot subcommand and fails the test if it fails.
func (p *proxy) smimeproxy(tb testing.TB, args ...string) []byte {
	tb.Helper()
	out, err := run(p.dir, nil, env.binary, args...)
	if err != nil {
		tb.Fatalf("smimeproxy: %v", err)
	}
	return out
}

func (p *proxy) start(tb testing.TB) {
	tb.Helper()
	logFile, err := os.Create(p.logPath)
	if err != nil {
		tb.Fatal(err)
	}
	p.cmd = exec.Command(env.binary, "serve", "-config", p.conf)
	p.cmd.Dir = p.dir
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("start smimeproxy: %v", err)
	}
	p.exited = make(chan struct{})
	go func() {
		_ = p.cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	// A proxy that stops answering would leave the test waiting on its
	// client until go test's timeout, without the proxy's log; a watchdog
	// stops it earlier so that the test fails with the log. Benchmarks may
	// run long on purpose.
	var watchdog *time.Timer
	if _, isTest := tb.(*testing.T); isTest {
		watchdog = time.AfterFunc(proxyWatchdog, func() {
			fmt.Fprintf(os.Stderr, "integration: smimeproxy (pid %d) still running after %v, "+
				"stopping it\n", p.pid(), proxyWatchdog)
			_ = p.cmd.Process.Kill()
		})
	}
	tb.Cleanup(func() {
		if watchdog != nil {
			watchdog.Stop()
		}
		p.stop(tb)
	})
}

// stop ends the proxy; a proxy that died on its own (a crash) fails the test.
func (p *proxy) stop(tb testing.TB) {
	select {
	case <-p.exited:
		tb.Errorf("smimeproxy exited during the test: %v", p.cmd.ProcessState)
	default:
		stopProcess(p.cmd.Process, p.exited)
	}
	if tb.Failed() {
		tb.Logf("smimeproxy log:\n%s", readFile(p.logPath))
	}
}

// pid is the proxy's process id, for /proc lookups.
func (p *proxy) pid() int { return p.cmd.Process.Pid }

// fixture is Dovecot with the corpus in alice's INBOX, and a proxy on it.
type fixture struct {
	dv *dovecot
	px *proxy
}

func newFixture(tb testing.TB, opts proxyOptions) *fixture {
	tb.Helper()
	requireBinary(tb)
	dv := startDovecot(tb)
	dv.deliverCorpus(tb, userAlice)
	return &fixture{dv: dv, px: startProxy(tb, dv, opts)}
}
