package config

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

const examplePath = "../smimeproxy.example.toml"

// TestExampleValid loads the example with its file paths pointed at files
// this test creates: the example must be a working config, not just a sketch.
func TestExampleValid(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	dir := testDir(t)
	text := strings.NewReplacer(
		"/etc/smimeproxy/tls/cert.pem", filepath.Join(dir, "cert.pem"),
		"/etc/smimeproxy/tls/key.pem", filepath.Join(dir, "key.pem"),
		"/etc/smimeproxy/master.key", filepath.Join(dir, "master.key"),
		"/var/lib/smimeproxy/vault", filepath.Join(dir, "vault"),
	).Replace(string(data))
	cfg, err := load(t, dir, text, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if w := cfg.Warnings(); len(w) != 0 {
		t.Errorf("the example should not warn: %q", w)
	}
	if cfg.IMAP.TLSListen == "" || cfg.POP3.Enabled() || !cfg.TLS.Enabled() {
		t.Errorf("example: %+v", cfg)
	}
}

// TestExampleComplete checks that the example mentions every key, either
// set or as a commented-out "# key =" line, and that its values that are
// not marked as examples equal the defaults.
func TestExampleComplete(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	var tree map[string]any
	md, err := toml.Decode(string(data), &tree)
	if err != nil {
		t.Fatal(err)
	}
	defined := map[string]bool{}
	for _, k := range md.Keys() {
		defined[k.String()] = true
	}
	for _, key := range knownKeys() {
		leaf := key[strings.LastIndexByte(key, '.')+1:]
		commented := regexp.MustCompile(`(?m)^# ` + leaf + ` = `).Match(data)
		if !defined[key] && !commented {
			t.Errorf("example config lacks %s", key)
		}
	}
	c := &collector{}
	cfg := Defaults()
	decodeTable(c, "", tree, &cfg)
	def := Defaults()
	cfg.IMAP.TLSListen, cfg.IMAP.Upstream = "", "" // marked as example values
	cfg.TLS = TLS{}
	cfg.Keystore.MasterKeyFile = ""
	if len(c.problems) != 0 || !reflect.DeepEqual(cfg, def) {
		t.Errorf("example values differ from the defaults:\n%+v\n%+v\n%v", cfg, def, c.problems)
	}
}
