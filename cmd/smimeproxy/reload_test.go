package main

import (
	"bytes"
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/smimeproxy/smimeproxy/config"
)

// TestReloadAppliesWhatItCan: a SIGHUP reload takes over the log level,
// the client-facing certificate and the trust store, names the sections
// that need a restart, and keeps everything when the new file is bad.
func TestReloadAppliesWhatItCan(t *testing.T) {
	e := newTrustEnv(t)
	e.cert(t, "root", true, nil)
	e.cert(t, "root2", true, nil)
	if code, _, stderr := e.run(t, "keys", "init"); code != 0 {
		t.Fatalf("keys init: %s", stderr)
	}
	certA, keyA, err := writeServerCert(mkdir(t, e.dir, "a"))
	if err != nil {
		t.Fatal(err)
	}
	certB, keyB, err := writeServerCert(mkdir(t, e.dir, "b"))
	if err != nil {
		t.Fatal(err)
	}
	base, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	writeConfig := func(extra string) {
		t.Helper()
		if err := os.WriteFile(e.config, append(append([]byte{}, base...), extra...), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeConfig("\n[tls]\ncert_file = \"" + certA + "\"\nkey_file = \"" + keyA + "\"\n")

	cfg, err := config.Load(e.config)
	if err != nil {
		t.Fatal(err)
	}
	vault, err := openVault(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Info})
	p, err := startProxy(cfg, vault, log)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	if n := len(p.obs.trust.store.Load().Roots()); n != 1 {
		t.Fatalf("%d roots at start, want 1", n)
	}

	text := strings.Replace(string(base), `roots = ["root.pem"]`, `roots = ["root.pem", "root2.pem"]`, 1)
	text = strings.Replace(text, `upstream = "127.0.0.1:143"`, `upstream = "127.0.0.1:144"`, 1)
	text += "\n[tls]\ncert_file = \"" + certB + "\"\nkey_file = \"" + keyB + "\"\n[log]\nlevel = \"debug\"\n"
	if err := os.WriteFile(e.config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	p.reload(log)

	if log.GetLevel() != hclog.Debug {
		t.Errorf("log level %s after reload, want debug", log.GetLevel())
	}
	if n := len(p.obs.trust.store.Load().Roots()); n != 2 {
		t.Errorf("%d roots after reload, want 2", n)
	}
	wantB, err := tls.LoadX509KeyPair(certB, keyB)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.cert.cert.Load(); !bytes.Equal(got.Certificate[0], wantB.Certificate[0]) {
		t.Errorf("the client-facing certificate was not replaced")
	}
	if !strings.Contains(logs.String(), "section=imap") {
		t.Errorf("the changed upstream was not reported as needing a restart:\n%s", logs.String())
	}

	writeConfig("\n[imap]\nupstream_tls = \"bogus\"\n")
	p.reload(log)
	if !strings.Contains(logs.String(), "config reload failed") {
		t.Errorf("a bad file was not reported:\n%s", logs.String())
	}
	if p.cfg.IMAP.Upstream != "127.0.0.1:144" || log.GetLevel() != hclog.Debug {
		t.Errorf("a bad file changed the running config")
	}
}

func mkdir(t *testing.T, parent, name string) string {
	t.Helper()
	dir := filepath.Join(parent, name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}
