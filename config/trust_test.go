package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTrustRevocationDefaults(t *testing.T) {
	dir := testDir(t)
	cfg, err := load(t, dir, okAll, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Trust.Dir != DefaultTrustDir || cfg.Trust.Roots != nil ||
		cfg.Revocation.Mode != "crl" || cfg.Revocation.FailOpen ||
		cfg.Revocation.Timeout != 5*time.Second ||
		cfg.Revocation.CacheDir != DefaultRevocationCacheDir ||
		cfg.Revocation.MaxCRLBytes != 10<<20 {
		t.Fatalf("%+v %+v", cfg.Trust, cfg.Revocation)
	}
}

func TestTrustPathsResolved(t *testing.T) {
	dir := testDir(t)
	os.Mkdir(filepath.Join(dir, "inters"), 0o755)
	text := okAll + "[trust]\nroots = [\"ca.pem\"]\nintermediates = [\"inters\"]\n" +
		"dir = \"managed\"\n[revocation]\ncache_dir = \"rev\"\nmode = \"both\"\n"
	cfg, err := load(t, dir, text, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr := cfg.Trust
	if tr.Roots[0] != filepath.Join(dir, "ca.pem") ||
		tr.Intermediates[0] != filepath.Join(dir, "inters") ||
		tr.Dir != filepath.Join(dir, "managed") ||
		cfg.Revocation.CacheDir != filepath.Join(dir, "rev") {
		t.Fatalf("%+v %+v", tr, cfg.Revocation)
	}
	if len(cfg.Warnings()) != 0 {
		t.Errorf("warnings: %q", cfg.Warnings())
	}
}

func TestTrustRevocationProblems(t *testing.T) {
	dir := testDir(t)
	os.MkdirAll(filepath.Join(dir, "managed", "roots"), 0o755)
	writeFile(t, filepath.Join(dir, "managed", "roots", "junk.pem"), nil, 0o644)
	tests := []struct {
		name string
		text string
		key  string
		line int
		msg  string
	}{
		{"root not a certificate", "[trust]\nroots = [\"ca.pem\", \"master.key\"]\n",
			"trust.roots", 10, `master.key": trust: not a certificate file: neither PEM nor DER`},
		{"root missing", "[trust]\nroots = [\"none.pem\"]\n", "trust.roots", 10,
			"none.pem\" does not exist"},
		{"intermediate bad", "[trust]\nintermediates = [\"key.pem\"]\n",
			"trust.intermediates", 10, "key.pem\": trust: not a certificate file: no CERTIFICATE"},
		{"managed bad", "[trust]\ndir = \"managed\"\n", "trust.dir", 10, "junk.pem"},
		{"dir is a file", "[trust]\ndir = \"ca.pem\"\n", "trust.dir", 10, "not a directory"},
		{"roots not array", "[trust]\nroots = \"ca.pem\"\n", "trust.roots", 10,
			"must be an array of strings, not a string"},
		{"roots not strings", "[trust]\nroots = [1]\n", "trust.roots", 10,
			"element 1 must be a string"},
		{"bad mode", "[revocation]\nmode = \"always\"\n", "revocation.mode", 10,
			`use one of "crl", "ocsp", "both", "off"`},
		{"zero timeout", "[revocation]\ntimeout = \"0s\"\n", "revocation.timeout", 10,
			"greater than 0"},
		{"crl size", "[revocation]\nmax_crl_bytes = 0\n", "revocation.max_crl_bytes", 10,
			"greater than 0"},
		{"cache not dir", "[revocation]\ncache_dir = \"ca.pem\"\n", "revocation.cache_dir",
			10, "not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, dir, okAll+tt.text, Options{})
			if err == nil {
				t.Fatal("no error")
			}
			for _, p := range problems(t, err) {
				if p.Key == tt.key && strings.Contains(p.Message, tt.msg) &&
					(tt.line == 0 || p.Line == tt.line) {
					return
				}
			}
			t.Fatalf("no problem %s:%d %q in:\n%v", tt.key, tt.line, tt.msg, err)
		})
	}
}

func TestRevocationWarnings(t *testing.T) {
	dir := testDir(t)
	for text, want := range map[string]string{
		"[revocation]\nmode = \"off\"\n":    "revocation.mode",
		"[revocation]\nfail_open = true\n":  "revocation.fail_open",
		"[revocation]\nmode = \"ocsp\"\n":   "",
		"[revocation]\nfail_open = false\n": "",
	} {
		cfg, err := load(t, dir, okAll+text, Options{})
		if err != nil {
			t.Fatal(err)
		}
		w := strings.Join(cfg.Warnings(), "\n")
		if (want == "") != (w == "") || !strings.Contains(w, want) {
			t.Errorf("%q: warnings %q", text, w)
		}
	}
}
