package config

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Admin configures the HTTP admin server: dashboard, JSON API, Prometheus
// metrics and health checks. It is off unless listen is set.
type Admin struct {
	Listen    string `toml:"listen"`     // host:port; "" = off
	TokenFile string `toml:"token_file"` // file holding the access token
	TokenEnv  string `toml:"token_env"`  // or: NAME of a variable holding it
	CertFile  string `toml:"cert_file"`  // HTTPS certificate (PEM chain); "" = HTTP
	KeyFile   string `toml:"key_file"`   // its PEM private key
}

// MinAdminTokenLen is the shortest admin token accepted: a token is the
// only thing between the network and the dashboard, so it must not be
// guessable (`openssl rand -hex 32` makes a good one).
const MinAdminTokenLen = 16

// ErrAdminToken reports an admin token that cannot be used.
var ErrAdminToken = errors.New("config: bad admin token")

// Enabled reports whether the admin server is configured.
func (a *Admin) Enabled() bool { return a.Listen != "" }

// HTTPS reports whether the admin server serves TLS.
func (a *Admin) HTTPS() bool { return a.CertFile != "" }

// Token reads the admin token from token_file or from the variable named
// by token_env (getenv nil: os.Getenv), without surrounding white space.
// The error never contains the token.
func (a *Admin) Token(getenv func(string) string) ([]byte, error) {
	var token []byte
	switch {
	case a.TokenEnv != "":
		if getenv == nil {
			getenv = os.Getenv
		}
		token = []byte(strings.TrimSpace(getenv(a.TokenEnv)))
	case a.TokenFile != "":
		data, err := os.ReadFile(a.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("%w: %s", ErrAdminToken, readError(err))
		}
		token = bytes.TrimSpace(data)
	default:
		return nil, fmt.Errorf("%w: set admin.token_file or admin.token_env", ErrAdminToken)
	}
	if len(token) < MinAdminTokenLen {
		return nil, fmt.Errorf("%w: it has %d characters, want at least %d "+
			"(`openssl rand -hex 32` makes one)", ErrAdminToken, len(token), MinAdminTokenLen)
	}
	return token, nil
}

// ServerTLSConfig returns the admin server's TLS settings, or nil for
// plain HTTP.
func (a *Admin) ServerTLSConfig() (*tls.Config, error) {
	if !a.HTTPS() {
		return nil, nil
	}
	pair, err := tls.LoadX509KeyPair(a.CertFile, a.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("config: admin cert_file %q: %w", a.CertFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

// checkAdmin resolves the section's paths and checks it: an address, one
// token source that yields a usable token, both HTTPS files or neither.
func checkAdmin(c *collector, cfg *Config, dir string, opts Options) {
	a := &cfg.Admin
	for _, p := range []*string{&a.TokenFile, &a.CertFile, &a.KeyFile} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	if !a.Enabled() {
		if a.TokenFile != "" || a.TokenEnv != "" || a.CertFile != "" || a.KeyFile != "" {
			c.warn("admin.listen", "is empty, so the admin server is off")
		}
		return
	}
	if checkHostPort(c, "admin.listen", a.Listen, true) {
		checkAdminClash(c, cfg)
	}
	checkAdminToken(c, a, opts)
	checkAdminTLS(c, a)
}

func checkAdminClash(c *collector, cfg *Config) {
	if strings.HasSuffix(cfg.Admin.Listen, ":0") {
		return
	}
	for _, l := range []struct{ key, addr string }{
		{"imap.listen", cfg.IMAP.Listen}, {"imap.tls_listen", cfg.IMAP.TLSListen},
		{"pop3.listen", cfg.POP3.Listen}, {"pop3.tls_listen", cfg.POP3.TLSListen},
	} {
		if l.addr == cfg.Admin.Listen {
			c.problem("admin.listen", "%q is already used by %s", l.addr, l.key)
		}
	}
}

func checkAdminToken(c *collector, a *Admin, opts Options) {
	switch {
	case a.TokenFile != "" && a.TokenEnv != "":
		c.problem("admin.token_env", "set both token_file and token_env; keep only one")
		return
	case a.TokenFile == "" && a.TokenEnv == "":
		c.problem("admin.token_file", "required when admin.listen is set "+
			"(or admin.token_env): the token that opens the dashboard and /metrics")
		return
	case a.TokenEnv != "" && strings.ContainsAny(a.TokenEnv, "= \t"):
		c.problem("admin.token_env", "%q is not an environment variable name", a.TokenEnv)
		return
	}
	key := "admin.token_env"
	if a.TokenFile != "" {
		key = "admin.token_file"
		if !checkReadable(c, key, a.TokenFile) || !checkPrivate(c, key, a.TokenFile) {
			return
		}
	}
	token, err := a.Token(opts.Getenv)
	clear(token)
	if err != nil {
		c.problem(key, "%s", strings.TrimPrefix(err.Error(), ErrAdminToken.Error()+": "))
	}
}

// checkPrivate wants a secret file that group and others cannot read.
func checkPrivate(c *collector, key, path string) bool {
	fi, err := os.Stat(path)
	if err != nil || runtime.GOOS == "windows" || fi.Mode().Perm()&0o077 == 0 {
		return true
	}
	c.problem(key, "%q may be read or written by group or others (mode %04o); chmod 600 it",
		path, fi.Mode().Perm())
	return false
}

func checkAdminTLS(c *collector, a *Admin) {
	switch {
	case a.CertFile == "" && a.KeyFile == "":
		if !isLoopback(hostOf(a.Listen)) {
			c.warn("admin.listen", "%s is not a loopback address and admin.cert_file is "+
				"not set: the token and the dashboard cross the network in the clear", a.Listen)
		}
		return
	case a.CertFile == "":
		c.problem("admin.cert_file", "required when admin.key_file is set")
		return
	case a.KeyFile == "":
		c.problem("admin.key_file", "required when admin.cert_file is set")
		return
	}
	certOK := checkReadable(c, "admin.cert_file", a.CertFile)
	keyOK := checkReadable(c, "admin.key_file", a.KeyFile)
	if !certOK || !keyOK {
		return
	}
	if _, err := tls.LoadX509KeyPair(a.CertFile, a.KeyFile); err != nil {
		c.problem("admin.cert_file", "cannot load with admin.key_file: %v", err)
	}
}
