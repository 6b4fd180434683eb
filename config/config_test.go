package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

func TestLoadProblems(t *testing.T) {
	tests := []struct {
		name string
		text string
		key  string
		line int // 0: do not check
		msg  string
	}{
		{"syntax", okAll + "[log]\nlevel = \"info\nformat = \"text\"\n", "", 10, "syntax error"},
		{"unknown key suggests", "[imap]\nupstream = \"h:1\"\nupstream_tsl = \"none\"\n" +
			okTLS + okKeystore, "imap.upstream_tsl", 3, `did you mean "imap.upstream_tls"?`},
		{"unknown key other table", "[imap]\nupstream = \"h:1\"\ncert_file = \"x\"\n" +
			okTLS + okKeystore, "imap.cert_file", 3, `did you mean "tls.cert_file"?`},
		{"unknown case", okAll + "[log]\nLevel = \"info\"\n", "log.Level", 10,
			`did you mean "log.level"?`},
		{"unknown table", okAll + "[admni]\nlisten = \"x\"\n", "admni", 9, "unknown table"},
		{"wrong type string", okAll + "[log]\nlevel = 3\n", "log.level", 10,
			"must be a string, not an integer"},
		{"wrong type bool", "[imap]\nupstream = \"h:1\"\nallow_insecure_auth = \"yes\"\n" +
			okTLS + okKeystore, "imap.allow_insecure_auth", 3, "must be true or false"},
		{"wrong type int", okAll + "[cache]\ndecrypted_max_bytes = \"1MB\"\n",
			"cache.decrypted_max_bytes", 10, "must be an integer, not a string"},
		{"wrong type table", "imap = 3\n" + okTLS + okKeystore, "imap", 1, "must be a table"},
		{"bad enum tls", "[imap]\nupstream = \"h:1\"\nupstream_tls = \"ssl\"\n" + okTLS +
			okKeystore, "imap.upstream_tls", 3, `use one of "none", "starttls", "implicit"`},
		{"bad enum level", okAll + "[log]\nlevel = \"verbose\"\n", "log.level", 10,
			`"verbose" is not allowed: use one of "trace", "debug", "info", "warn", "error"`},
		{"bad enum format", okAll + "[log]\nformat = \"xml\"\n", "log.format", 10,
			`use one of "text", "json"`},
		{"bad host port", "[imap]\nupstream = \"mail.example.org\"\n" + okTLS + okKeystore,
			"imap.upstream", 2, "is not host:port"},
		{"bad port", "[imap]\nupstream = \"h:imap\"\n" + okTLS + okKeystore,
			"imap.upstream", 2, "port must be a number"},
		{"upstream port 0", "[imap]\nupstream = \"h:0\"\n" + okTLS + okKeystore,
			"imap.upstream", 2, "port must not be 0"},
		{"bad listen", okTLS + okKeystore + "[imap]\nupstream = \"h:1\"\nlisten = \"1143\"\n",
			"imap.listen", 9, "is not host:port"},
		{"bad duration", "[imap]\nupstream = \"h:1\"\nupstream_timeout = \"30 seconds\"\n" +
			okTLS + okKeystore, "imap.upstream_timeout", 3, "invalid duration"},
		{"duration as int", "[imap]\nupstream = \"h:1\"\nupstream_timeout = 30\n" + okTLS +
			okKeystore, "imap.upstream_timeout", 3, `duration string such as "30s"`},
		{"negative duration", "[imap]\nupstream = \"h:1\"\nupstream_timeout = \"-1s\"\n" +
			okTLS + okKeystore, "imap.upstream_timeout", 3, "greater than 0"},
		{"negative size", okAll + "[cache]\ndecrypted_max_bytes = -1\n",
			"cache.decrypted_max_bytes", 10, "must not be negative"},
		{"zero message size", okAll + "[smime]\nmax_message_bytes = 0\n",
			"smime.max_message_bytes", 10, "greater than 0"},
		{"nesting range", okAll + "[smime]\nmax_nesting_depth = 100\n",
			"smime.max_nesting_depth", 10, "from 1 to 64"},
		{"max sessions", "[imap]\nupstream = \"h:1\"\nmax_sessions = 0\n" + okTLS + okKeystore,
			"imap.max_sessions", 3, "greater than 0"},
		{"cert missing", okIMAP + "[tls]\ncert_file = \"no.pem\"\nkey_file = \"key.pem\"\n" +
			okKeystore, "tls.cert_file", 4, "no.pem\" does not exist"},
		{"key without cert", okIMAP + "[tls]\nkey_file = \"key.pem\"\n" + okKeystore,
			"tls.cert_file", 3, "required when tls.key_file is set"},
		{"cert key mismatch", okIMAP + "[tls]\ncert_file = \"cert.pem\"\nkey_file = " +
			"\"cert.pem\"\n" + okKeystore, "tls.cert_file", 4, "cannot load with tls.key_file"},
		{"ca missing", "[imap]\nupstream = \"h:1\"\nupstream_ca_file = \"no-ca.pem\"\n" +
			okTLS + okKeystore, "imap.upstream_ca_file", 3, "does not exist"},
		{"ca not pem", "[imap]\nupstream = \"h:1\"\nupstream_ca_file = \"master.key\"\n" +
			okTLS + okKeystore, "imap.upstream_ca_file", 3, "no PEM certificate found"},
		{"master key missing", okIMAP + okTLS + "[keystore]\nmaster_key_file = \"none.key\"\n",
			"keystore.master_key_file", 7, "keys init"},
		{"master key mode", okIMAP + okTLS + "[keystore]\nmaster_key_file = \"loose.key\"\n",
			"keystore.master_key_file", 7, "(mode 0644); chmod 600"},
		{"master key not base64", okIMAP + okTLS + "[keystore]\nmaster_key_file = " +
			"\"raw.key\"\n", "keystore.master_key_file", 7, "raw.key\" is not base64"},
		{"master key both", okIMAP + okTLS + okKeystore + "master_key_env = \"K\"\n",
			"keystore.master_key_env", 9, "set both master_key_file and master_key_env"},
		{"master key env unset", okIMAP + okTLS + "[keystore]\nmaster_key_env = \"K\"\n",
			"keystore.master_key_env", 7, "K is not set"},
		{"keystore path not dir", okIMAP + okTLS + "[keystore]\npath = \"cert.pem\"\n" +
			"master_key_file = \"master.key\"\n", "keystore.path", 7, "is not a directory"},
		{"upstream required", "[imap]\nlisten = \"127.0.0.1:1143\"\n" + okTLS + okKeystore,
			"imap.upstream", 1, "required when [imap] has a listener"},
		{"pop3 upstream required", okAll + "[pop3]\nlisten = \"127.0.0.1:1110\"\n",
			"pop3.upstream", 9, "required when [pop3] has a listener"},
		{"tls_listen needs cert", okIMAP + "tls_listen = \"127.0.0.1:1993\"\n" +
			"allow_insecure_auth = true\n" + okKeystore, "imap.tls_listen", 3,
			"needs a certificate"},
		{"listen without tls", okIMAP + okKeystore, "imap.listen", 1, "cannot offer STARTTLS"},
		{"no listener", "[imap]\nlisten = \"\"\n" + okTLS + okKeystore, "imap.listen", 2,
			"no listener is set"},
		{"same address twice", okAll + "[pop3]\nupstream = \"h:110\"\nlisten = " +
			"\"127.0.0.1:1143\"\n", "pop3.listen", 11, "already used by imap.listen"},
		{"authserv id", okAll + "[status]\nauthserv_id = \"my proxy\"\n",
			"status.authserv_id", 10, "without spaces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, testDir(t), tt.text, Options{})
			probs := problems(t, err)
			for _, p := range probs {
				if p.Key == tt.key && strings.Contains(p.Message, tt.msg) {
					if tt.line != 0 && p.Line != tt.line {
						t.Errorf("line %d, want %d: %s", p.Line, tt.line, p)
					}
					if len(probs) != 1 && tt.name != "wrong type table" {
						t.Errorf("want only this problem, got:\n%v", err)
					}
					return
				}
			}
			t.Errorf("no problem with key %q and message %q in:\n%v", tt.key, tt.msg, err)
		})
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	text := `[imap]
listen = "127.0.0.1:1143"
upstream = "mail.example.org"
upstream_tls = "tls"
upstream_timeout = "soon"
[tls]
cert_file = "missing.pem"
key_file = "key.pem"
[keystore]
master_key_file = "master.key"
[log]
levle = "debug"
format = "yaml"
`
	_, err := load(t, testDir(t), text, Options{})
	probs := problems(t, err)
	want := []string{"imap.upstream", "imap.upstream_tls", "imap.upstream_timeout",
		"tls.cert_file", "log.levle", "log.format"}
	if len(probs) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(probs), len(want), err)
	}
	for i, p := range probs {
		if p.Key != want[i] {
			t.Errorf("problem %d key %q, want %q (problems are in file order)", i, p.Key, want[i])
		}
	}
	if !errors.Is(err, ErrInvalid) {
		t.Error("errors.Is(err, ErrInvalid) is false")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) || !strings.HasSuffix(lines[0], "config.toml:3: imap.upstream: "+
		`"mail.example.org" is not host:port (IPv6: [::1]:143)`) {
		t.Errorf("Error() = %q", err.Error())
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{"f.toml", 3, "imap.listen", "bad"}, "f.toml:3: imap.listen: bad"},
		{Problem{"f.toml", 0, "imap.upstream", "required"}, "f.toml: imap.upstream: required"},
		{Problem{"f.toml", 0, "", "does not exist"}, "f.toml: does not exist"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.toml")
	_, err := Load(path)
	probs := problems(t, err)
	if len(probs) != 1 || !strings.Contains(probs[0].Message, "does not exist") {
		t.Errorf("got %v", err)
	}
}

func TestLoadUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads any file")
	}
	dir := testDir(t)
	if err := os.Chmod(filepath.Join(dir, "key.pem"), 0); err != nil {
		t.Fatal(err)
	}
	_, err := load(t, dir, okAll, Options{})
	probs := problems(t, err)
	if len(probs) != 1 || probs[0].Key != "tls.key_file" ||
		!strings.Contains(probs[0].Message, "not readable") {
		t.Errorf("got %v", err)
	}
}

func TestDefaults(t *testing.T) {
	dir := testDir(t)
	cfg, err := load(t, dir, okAll, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.Path = filepath.Join(dir, "config.toml")
	want.IMAP.Upstream = "127.0.0.1:143"
	want.IMAP.UpstreamServerName = "127.0.0.1"
	want.TLS.CertFile = filepath.Join(dir, "cert.pem")
	want.TLS.KeyFile = filepath.Join(dir, "key.pem")
	want.Keystore.Path = filepath.Join(dir, "vault")
	want.Keystore.MasterKeyFile = filepath.Join(dir, "master.key")
	want.Status.AuthservID = cfg.Status.AuthservID
	cfg.warnings = nil
	if !reflect.DeepEqual(*cfg, want) {
		t.Errorf("got  %+v\nwant %+v", *cfg, want)
	}
	if cfg.Status.AuthservID == "" {
		t.Error("authserv_id not filled from the host name")
	}
	if cfg.IMAP.Listen != "127.0.0.1:1143" || cfg.POP3.Enabled() ||
		cfg.IMAP.UpstreamTimeout != 30*time.Second || cfg.Log.Level != "info" ||
		!cfg.Log.Audit || cfg.Cache.DecryptedMaxBytes != 256<<20 {
		t.Errorf("defaults: %+v", cfg)
	}
}

func TestMasterKeyDefaultAndEnv(t *testing.T) {
	dir := testDir(t)
	_, err := load(t, dir, okIMAP+okTLS, Options{})
	probs := problems(t, err)
	if len(probs) != 1 || !strings.Contains(probs[0].Message, DefaultMasterKeyFile) {
		t.Errorf("default master key file: %v", err)
	}

	cfg, err := load(t, dir, okIMAP+okTLS+"[keystore]\nmaster_key_file = \"later.key\"\n",
		Options{MasterKeyMayBeMissing: true})
	if err != nil || cfg.Keystore.MasterKeyFile != filepath.Join(dir, "later.key") {
		t.Errorf("MasterKeyMayBeMissing: %v %+v", err, cfg)
	}

	env := func(v string) func(string) string {
		return func(name string) string {
			if name == "K" {
				return v
			}
			return ""
		}
	}
	text := okIMAP + okTLS + "[keystore]\nmaster_key_env = \"K\"\n"
	cfg, err = load(t, dir, text, Options{Getenv: env(testMasterKey)})
	if err != nil || cfg.Keystore.MasterKeyFile != "" || cfg.Keystore.MasterKeyEnv != "K" {
		t.Errorf("env key: %v %+v", err, cfg)
	}
	secret := "c2VjcmV0"
	_, err = load(t, dir, text, Options{Getenv: env(secret)})
	if err == nil || !strings.Contains(err.Error(), "holds 6 bytes, want 32") ||
		strings.Contains(err.Error(), secret) {
		t.Errorf("short env key: %v", err)
	}
	_, err = load(t, dir, text, Options{Getenv: env("not base64!")})
	if err == nil || !strings.Contains(err.Error(), "variable K is not base64") {
		t.Errorf("bad env key: %v", err)
	}
}

func TestWarnings(t *testing.T) {
	dir := testDir(t)
	text := `[imap]
listen = "0.0.0.0:1143"
upstream = "mail.example.org:143"
upstream_tls = "none"
upstream_ca_file = "ca.pem"
allow_insecure_auth = true
[pop3]
upstream = "mail.example.org:110"
` + okKeystore
	cfg, err := load(t, dir, text, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"config.toml:2: imap.listen: 0.0.0.0:1143 is not a loopback address",
		`config.toml:4: imap.upstream_tls: is "none" to mail.example.org:143`,
		"config.toml:5: imap.upstream_ca_file: is ignored",
		"config.toml:6: imap.allow_insecure_auth: is true",
		"config.toml:8: pop3.upstream: no pop3 listener",
	}
	got := cfg.Warnings()
	if len(got) != len(want) {
		t.Fatalf("warnings:\n%s", strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("warning %d = %q, want it to contain %q", i, got[i], want[i])
		}
	}
}

func TestNoWarningsForLoopbackPlaintextUpstream(t *testing.T) {
	cfg, err := load(t, testDir(t), okAll+"[pop3]\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg2, err := load(t, testDir(t), "[imap]\nupstream = \"localhost:143\"\n"+
		"upstream_tls = \"none\"\n"+okTLS+okKeystore, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if w := append(cfg.Warnings(), cfg2.Warnings()...); len(w) != 0 {
		t.Errorf("unexpected warnings: %q", w)
	}
}

func TestCertExpiryWarning(t *testing.T) {
	dir := testDir(t)
	later := func() time.Time { return time.Now().Add(400 * 24 * time.Hour) }
	cfg, err := load(t, dir, okAll, Options{Now: later})
	if err != nil {
		t.Fatal(err)
	}
	if w := cfg.Warnings(); len(w) != 1 || !strings.Contains(w[0], "certificate expired") {
		t.Errorf("warnings %q", w)
	}
}

func TestKeyLines(t *testing.T) {
	text := `# comment
top = 1
[imap]
listen = "x"   # note
notes = """
fake = 1
"""
"quoted.key" = 2
[pop3 . 'deep']
a.b = 3
`
	got := keyLines([]byte(text))
	want := map[string]int{"top": 2, "imap": 3, "imap.listen": 4, "imap.notes": 5,
		"imap.quoted.key": 8, "pop3.deep": 9, "pop3.deep.a.b": 10}
	for k, line := range want {
		if got[k] != line {
			t.Errorf("line of %q = %d, want %d", k, got[k], line)
		}
	}
	if _, ok := got["imap.fake"]; ok {
		t.Error("key inside a multi-line string was taken for a key")
	}
}

func TestParseLogLevel(t *testing.T) {
	for _, s := range logLevels {
		if _, err := ParseLogLevel(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if l, _ := ParseLogLevel("warn"); l != hclog.Warn {
		t.Errorf("warn = %v", l)
	}
	if _, err := ParseLogLevel("warning"); !errors.Is(err, ErrLogLevel) {
		t.Errorf("warning: %v", err)
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct{ prefix, name, want string }{
		{"imap", "upstream_tsl", "imap.upstream_tls"},
		{"imap", "listn", "imap.listen"},
		{"", "imapp", "imap"},
		{"", "listen", "imap.listen"},
		{"log", "colour", ""},
	}
	for _, tt := range tests {
		got := suggest(tt.prefix, tt.name)
		ok := got == "" && tt.want == "" ||
			tt.want != "" && strings.Contains(got, `"`+tt.want+`"`)
		if !ok {
			t.Errorf("suggest(%q, %q) = %q, want %q", tt.prefix, tt.name, got, tt.want)
		}
	}
}
