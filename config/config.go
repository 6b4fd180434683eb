package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/BurntSushi/toml"
)

// UpstreamTLS says how the proxy secures its connection to the mailbox server.
type UpstreamTLS string

// The accepted upstream_tls values.
const (
	UpstreamTLSNone     UpstreamTLS = "none"     // plaintext; warned about unless loopback
	UpstreamTLSStartTLS UpstreamTLS = "starttls" // RFC 3501 section 6.2.1, RFC 2595
	UpstreamTLSImplicit UpstreamTLS = "implicit" // TLS from the first byte (RFC 8314)
)

// Config is a loaded, checked configuration with defaults filled in.
type Config struct {
	// Path is the absolute path of the file it was loaded from.
	Path string `toml:"-"`

	IMAP       Proxy      `toml:"imap"`
	POP3       Proxy      `toml:"pop3"`
	TLS        TLS        `toml:"tls"`
	Keystore   Keystore   `toml:"keystore"`
	Log        Log        `toml:"log"`
	Status     Status     `toml:"status"`
	Cache      Cache      `toml:"cache"`
	SMIME      SMIME      `toml:"smime"`
	Trust      Trust      `toml:"trust"`
	Revocation Revocation `toml:"revocation"`
	Admin      Admin      `toml:"admin"`

	warnings []Problem
}

// Proxy is one proxied protocol: [imap] or [pop3]. Both have the same keys.
type Proxy struct {
	Listen             string        `toml:"listen"`     // plaintext + STARTTLS; "" = off
	TLSListen          string        `toml:"tls_listen"` // implicit TLS; "" = off
	Upstream           string        `toml:"upstream"`   // host:port of the mailbox server
	UpstreamTLS        UpstreamTLS   `toml:"upstream_tls"`
	UpstreamCAFile     string        `toml:"upstream_ca_file"`     // "" = system roots
	UpstreamServerName string        `toml:"upstream_server_name"` // filled from Upstream
	AllowInsecureAuth  bool          `toml:"allow_insecure_auth"`
	UpstreamTimeout    time.Duration `toml:"upstream_timeout"`
	MaxSessions        int           `toml:"max_sessions"`
}

// Enabled reports whether the section has a listener.
func (p *Proxy) Enabled() bool { return p.Listen != "" || p.TLSListen != "" }

// TLS is the client-facing certificate, shared by all listeners.
type TLS struct {
	CertFile string `toml:"cert_file"` // PEM chain, leaf first
	KeyFile  string `toml:"key_file"`  // PEM private key
}

// Enabled reports whether a certificate is configured.
func (t *TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// Keystore locates the key vault and its master key. Exactly one of
// MasterKeyFile and MasterKeyEnv is set after Load.
type Keystore struct {
	Path          string `toml:"path"`
	MasterKeyFile string `toml:"master_key_file"`
	MasterKeyEnv  string `toml:"master_key_env"` // name of the variable, not the key
}

// Log configures the hclog logger.
type Log struct {
	Level  string `toml:"level"`  // one of trace, debug, info, warn, error
	Format string `toml:"format"` // "text" or "json"
	Audit  bool   `toml:"audit"`  // one line per decryption
}

// Status configures the X-SMIME-Status and Authentication-Results handling.
type Status struct {
	// AuthservID names this proxy (RFC 8601 section 2.5); default: host name.
	AuthservID string `toml:"authserv_id"`
	// SubjectTag prefixes the Subject with "[signed]", "[signed: INVALID]"
	// or "[decrypted]" for clients that show no header fields; default false.
	SubjectTag bool `toml:"subject_tag"`
}

// Cache bounds the in-memory cache of decrypted messages.
type Cache struct {
	DecryptedMaxBytes int64 `toml:"decrypted_max_bytes"` // 0 disables the cache
}

// SMIME bounds the work spent on one S/MIME message.
type SMIME struct {
	MaxMessageBytes int64 `toml:"max_message_bytes"`
	MaxNestingDepth int   `toml:"max_nesting_depth"`
	// AllowSHA1 and AllowMD5 accept signatures with those digests as "pass"
	// instead of "policy"; default false (both have practical collisions).
	AllowSHA1 bool `toml:"allow_sha1"`
	AllowMD5  bool `toml:"allow_md5"`
}

// Default values. The example config states the same.
const (
	DefaultIMAPListen        = "127.0.0.1:1143"
	DefaultUpstreamTimeout   = 30 * time.Second
	DefaultMaxSessions       = 1000
	DefaultKeystorePath      = "/var/lib/smimeproxy/vault"
	DefaultMasterKeyFile     = "/etc/smimeproxy/master.key"
	DefaultDecryptedMaxBytes = 256 << 20
	DefaultMaxMessageBytes   = 100 << 20
	DefaultMaxNestingDepth   = 8
)

// Defaults returns the configuration an empty file gives, before the checks
// (an empty file is not valid: [imap] upstream has no default). The master
// key file default is applied by Load only when master_key_env is not set.
func Defaults() Config {
	proxy := Proxy{
		UpstreamTLS:     UpstreamTLSStartTLS,
		UpstreamTimeout: DefaultUpstreamTimeout,
		MaxSessions:     DefaultMaxSessions,
	}
	imap := proxy
	imap.Listen = DefaultIMAPListen
	return Config{
		IMAP:     imap,
		POP3:     proxy,
		Keystore: Keystore{Path: DefaultKeystorePath},
		Log:      Log{Level: "info", Format: "text", Audit: true},
		Cache:    Cache{DecryptedMaxBytes: DefaultDecryptedMaxBytes},
		SMIME: SMIME{
			MaxMessageBytes: DefaultMaxMessageBytes,
			MaxNestingDepth: DefaultMaxNestingDepth,
		},
		Trust:      defaultTrust(),
		Revocation: defaultRevocation(),
	}
}

// Options changes how LoadWith checks a file. The zero value is what Load uses.
type Options struct {
	// MasterKeyMayBeMissing accepts a master_key_file that does not exist yet
	// and an unset master_key_env variable: for `keys init`, which creates the
	// file.
	MasterKeyMayBeMissing bool

	// Getenv reads environment variables; nil means os.Getenv.
	Getenv func(string) string

	// Now is the clock for certificate expiry warnings; nil means time.Now.
	Now func() time.Time
}

// Load reads, parses and checks the config file at path. On failure the error
// is an *Error listing every problem found.
func Load(path string) (*Config, error) {
	return LoadWith(path, Options{})
}

// LoadWith is Load with options.
func LoadWith(path string, opts Options) (*Config, error) {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return nil, &Error{Problems: []Problem{{File: path, Message: readError(err)}}}
	}
	return parse(path, abs, data, opts)
}

func parse(name, abs string, data []byte, opts Options) (*Config, error) {
	var tree map[string]any
	if _, err := toml.Decode(string(data), &tree); err != nil {
		return nil, &Error{Problems: []Problem{syntaxProblem(name, err)}}
	}
	c := &collector{file: name, lines: keyLines(data)}
	cfg := Defaults()
	cfg.Path = abs
	decodeTable(c, "", tree, &cfg)
	check(c, &cfg, tree, filepath.Dir(abs), opts)
	if len(c.problems) > 0 {
		return nil, &Error{Problems: sorted(c.problems)}
	}
	cfg.warnings = sorted(c.warnings)
	return &cfg, nil
}

// Warnings returns insecure choices found by Load, one line each, formatted
// like problems; serve logs them at start.
func (c *Config) Warnings() []string {
	out := make([]string, len(c.warnings))
	for i, w := range c.warnings {
		out[i] = w.String()
	}
	return out
}

func syntaxProblem(name string, err error) Problem {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return Problem{File: name, Line: pe.Position.Line, Message: "syntax error: " + pe.Message}
	}
	return Problem{File: name, Message: fmt.Sprintf("syntax error: %v", err)}
}
