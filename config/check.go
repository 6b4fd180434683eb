package config

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// check validates the decoded values, fills the defaults that depend on other
// keys, and records warnings for insecure choices.
func check(c *collector, cfg *Config, tree map[string]any, dir string, opts Options) {
	resolvePaths(cfg, dir)
	checkProxy(c, "imap", &cfg.IMAP, &cfg.TLS)
	checkProxy(c, "pop3", &cfg.POP3, &cfg.TLS)
	checkListeners(c, cfg)
	checkServerTLS(c, &cfg.TLS, opts)
	checkKeystore(c, &cfg.Keystore, tree, opts)
	checkLog(c, &cfg.Log)
	checkStatus(c, &cfg.Status)
	checkLimits(c, cfg)
	checkTrust(c, &cfg.Trust, dir)
	checkRevocation(c, &cfg.Revocation, dir)
	checkAdmin(c, cfg, dir, opts)
}

// resolvePaths makes relative file paths relative to the config's directory.
func resolvePaths(cfg *Config, dir string) {
	for _, p := range []*string{
		&cfg.IMAP.UpstreamCAFile, &cfg.POP3.UpstreamCAFile,
		&cfg.TLS.CertFile, &cfg.TLS.KeyFile,
		&cfg.Keystore.Path, &cfg.Keystore.MasterKeyFile,
	} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
}

func checkProxy(c *collector, sec string, p *Proxy, t *TLS) {
	checkEnum(c, sec+".upstream_tls", string(p.UpstreamTLS), "none", "starttls", "implicit")
	checkPositive(c, sec+".upstream_timeout", int64(p.UpstreamTimeout))
	checkPositive(c, sec+".max_sessions", int64(p.MaxSessions))
	if !p.Enabled() {
		if p.Upstream != "" {
			c.warn(sec+".upstream", "no %s listener is set (listen, tls_listen), so %s is off",
				sec, strings.ToUpper(sec))
		}
		return
	}
	checkListen(c, sec+".listen", p.Listen)
	checkListen(c, sec+".tls_listen", p.TLSListen)
	checkUpstream(c, sec, p)
	checkClientTLS(c, sec, p, t)
}

// checkClientTLS applies the rule: tls_listen needs a certificate; a plain
// listen without one cannot offer STARTTLS, so it only makes sense with
// allow_insecure_auth.
func checkClientTLS(c *collector, sec string, p *Proxy, t *TLS) {
	if p.TLSListen != "" && !t.Enabled() {
		c.problem(sec+".tls_listen", "needs a certificate: set tls.cert_file and tls.key_file")
	}
	if p.Listen != "" && !t.Enabled() && !p.AllowInsecureAuth {
		c.problem(sec+".listen", "without tls.cert_file and tls.key_file this listener "+
			"cannot offer STARTTLS and every login on it would be refused; "+
			"configure [tls] or set %s.allow_insecure_auth = true", sec)
	}
	if p.Listen != "" && !t.Enabled() && !isLoopback(hostOf(p.Listen)) {
		c.warn(sec+".listen", "%s is not a loopback address and offers no TLS: "+
			"passwords and mail cross the network in the clear", p.Listen)
	}
	if p.AllowInsecureAuth {
		c.warn(sec+".allow_insecure_auth", "is true: clients may log in without TLS, "+
			"sending their passwords in the clear")
	}
}

func checkUpstream(c *collector, sec string, p *Proxy) {
	key := sec + ".upstream"
	if p.Upstream == "" {
		c.problem(key, "required when [%s] has a listener: the mailbox server's host:port", sec)
	} else if checkHostPort(c, key, p.Upstream, false) {
		host := hostOf(p.Upstream)
		if p.UpstreamServerName == "" {
			p.UpstreamServerName = host
		}
		if p.UpstreamTLS == UpstreamTLSNone && !isLoopback(host) {
			c.warn(sec+".upstream_tls", `is "none" to %s, which is not a loopback address: `+
				"passwords and mail cross the network in the clear", p.Upstream)
		}
	}
	if p.UpstreamCAFile == "" {
		return
	}
	if p.UpstreamTLS == UpstreamTLSNone {
		c.warn(sec+".upstream_ca_file", `is ignored because upstream_tls is "none"`)
	}
	checkCAFile(c, sec+".upstream_ca_file", p.UpstreamCAFile)
}

func checkListen(c *collector, key, addr string) {
	if addr != "" {
		checkHostPort(c, key, addr, true)
	}
}

// checkHostPort checks "host:port" with a numeric port. Listen addresses may
// leave the host empty (all interfaces) and use port 0 (any free port).
func checkHostPort(c *collector, key, addr string, listen bool) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		c.problem(key, "%q is not host:port (IPv6: [::1]:143)", addr)
		return false
	}
	n, err := strconv.ParseUint(port, 10, 16)
	switch {
	case err != nil:
		c.problem(key, "%q: port must be a number from 1 to 65535", addr)
	case n == 0 && !listen:
		c.problem(key, "%q: port must not be 0", addr)
	case host == "" && !listen:
		c.problem(key, "%q: host is missing", addr)
	default:
		return true
	}
	return false
}

// checkListeners requires at least one listener and no address used twice.
func checkListeners(c *collector, cfg *Config) {
	seen := map[string]string{}
	for _, l := range []struct{ key, addr string }{
		{"imap.listen", cfg.IMAP.Listen}, {"imap.tls_listen", cfg.IMAP.TLSListen},
		{"pop3.listen", cfg.POP3.Listen}, {"pop3.tls_listen", cfg.POP3.TLSListen},
	} {
		if l.addr == "" || strings.HasSuffix(l.addr, ":0") {
			continue // off, or a free port chosen at start: cannot clash
		}
		if other, dup := seen[l.addr]; dup {
			c.problem(l.key, "%q is already used by %s", l.addr, other)
		}
		seen[l.addr] = l.key
	}
	if !cfg.IMAP.Enabled() && !cfg.POP3.Enabled() {
		c.problem("imap.listen", "no listener is set: set at least one of imap.listen, "+
			"imap.tls_listen, pop3.listen, pop3.tls_listen")
	}
}

func checkKeystore(c *collector, k *Keystore, tree map[string]any, opts Options) {
	if k.Path == "" {
		c.problem("keystore.path", "must not be empty: the key vault's directory")
	} else if fi, err := os.Stat(k.Path); err == nil && !fi.IsDir() {
		c.problem("keystore.path", "%q is not a directory", k.Path)
	}
	fileSet := isDefined(tree, "keystore", "master_key_file")
	switch {
	case fileSet && k.MasterKeyEnv != "":
		c.problem("keystore.master_key_env", "set both master_key_file and master_key_env; "+
			"keep only one")
	case k.MasterKeyEnv != "":
		checkMasterKeyEnv(c, k.MasterKeyEnv, opts)
	case !fileSet:
		k.MasterKeyFile = DefaultMasterKeyFile
		checkMasterKeyFile(c, k.MasterKeyFile, opts)
	case k.MasterKeyFile == "":
		c.problem("keystore.master_key_file", "must not be empty; "+
			"or remove it and set master_key_env")
	default:
		checkMasterKeyFile(c, k.MasterKeyFile, opts)
	}
}

func checkMasterKeyEnv(c *collector, name string, opts Options) {
	const key = "keystore.master_key_env"
	if strings.ContainsAny(name, "= \t") {
		c.problem(key, "%q is not an environment variable name", name)
		return
	}
	if opts.MasterKeyMayBeMissing {
		return
	}
	value := opts.Getenv(name)
	if value == "" {
		c.problem(key, "environment variable %s is not set", name)
	} else if err := checkMasterKeyText([]byte(value)); err != nil {
		c.problem(key, "environment variable %s %v", name, err)
	}
}

func checkLog(c *collector, l *Log) {
	checkEnum(c, "log.level", l.Level, logLevels...)
	checkEnum(c, "log.format", l.Format, "text", "json")
}

// checkStatus fills and checks authserv-id, a token in Authentication-Results
// (RFC 8601 section 2.2): no spaces, no ';', no quotes, no controls.
func checkStatus(c *collector, s *Status) {
	if s.AuthservID == "" {
		s.AuthservID = hostname()
		return
	}
	for _, r := range s.AuthservID {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`;"()<>@,:\/[]?=`, r) {
			c.problem("status.authserv_id", "%q must be a host name or a token without "+
				"spaces or special characters", s.AuthservID)
			return
		}
	}
}

func hostname() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}

func checkLimits(c *collector, cfg *Config) {
	if cfg.Cache.DecryptedMaxBytes < 0 {
		c.problem("cache.decrypted_max_bytes", "must not be negative (0 disables the cache)")
	}
	checkPositive(c, "smime.max_message_bytes", cfg.SMIME.MaxMessageBytes)
	if d := cfg.SMIME.MaxNestingDepth; d < 1 || d > 64 {
		c.problem("smime.max_nesting_depth", "%d is out of range: must be from 1 to 64", d)
	}
}

func checkPositive(c *collector, key string, n int64) {
	if n <= 0 {
		c.problem(key, "must be greater than 0")
	}
}

func checkEnum(c *collector, key, value string, allowed ...string) {
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	c.problem(key, "%q is not allowed: use one of %s", value, quoteList(allowed))
}

func quoteList(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}

func isDefined(tree map[string]any, table, key string) bool {
	t, ok := tree[table].(map[string]any)
	if !ok {
		return false
	}
	_, ok = t[key]
	return ok
}

func hostOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}

// isLoopback is true for "localhost" and loopback IPs; an empty host (all
// interfaces) and other names are not.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
