package config

import (
	"path/filepath"
	"strings"
	"testing"
)

const goodAdminToken = "0123456789abcdef0123456789abcdef"

func TestAdminOffByDefault(t *testing.T) {
	cfg, err := load(t, testDir(t), okAll, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Admin.Enabled() || cfg.Admin.HTTPS() {
		t.Errorf("admin on by default: %+v", cfg.Admin)
	}
}

func TestAdminValid(t *testing.T) {
	dir := testDir(t)
	writeFile(t, filepath.Join(dir, "admin.token"), []byte(goodAdminToken+"\n"), 0o600)
	text := okAll + "[admin]\nlisten = \"127.0.0.1:9143\"\ntoken_file = \"admin.token\"\n" +
		"cert_file = \"cert.pem\"\nkey_file = \"key.pem\"\n"
	cfg, err := load(t, dir, text, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Admin.Enabled() || !cfg.Admin.HTTPS() ||
		cfg.Admin.TokenFile != filepath.Join(dir, "admin.token") {
		t.Errorf("admin: %+v", cfg.Admin)
	}
	token, err := cfg.Admin.Token(nil)
	if err != nil || string(token) != goodAdminToken {
		t.Errorf("token %q, %v", token, err)
	}
	if tc, err := cfg.Admin.ServerTLSConfig(); err != nil || tc == nil {
		t.Errorf("TLS config: %v", err)
	}
	if w := cfg.Warnings(); len(w) != 0 {
		t.Errorf("warnings: %q", w)
	}
}

func TestAdminTokenEnv(t *testing.T) {
	text := okAll + "[admin]\nlisten = \"127.0.0.1:9143\"\ntoken_env = \"ADMIN_TOKEN\"\n"
	getenv := func(name string) string {
		if name == "ADMIN_TOKEN" {
			return goodAdminToken
		}
		return ""
	}
	cfg, err := load(t, testDir(t), text, Options{Getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	if token, err := cfg.Admin.Token(getenv); err != nil || string(token) != goodAdminToken {
		t.Errorf("token %q, %v", token, err)
	}
}

func TestAdminProblems(t *testing.T) {
	dir := testDir(t)
	writeFile(t, filepath.Join(dir, "short.token"), []byte("abc\n"), 0o600)
	writeFile(t, filepath.Join(dir, "loose.token"), []byte(goodAdminToken), 0o644)
	writeFile(t, filepath.Join(dir, "admin.token"), []byte(goodAdminToken), 0o600)
	admin := func(lines string) string { return okAll + "[admin]\n" + lines }
	tests := []struct {
		name, text, key, msg string
	}{
		{"no token", admin("listen = \"127.0.0.1:9143\"\n"), "admin.token_file", "required"},
		{"both tokens", admin("listen = \"127.0.0.1:9143\"\ntoken_file = \"admin.token\"\n" +
			"token_env = \"X\"\n"), "admin.token_env", "keep only one"},
		{"short token", admin("listen = \"127.0.0.1:9143\"\ntoken_file = \"short.token\"\n"),
			"admin.token_file", "at least 16"},
		{"loose token", admin("listen = \"127.0.0.1:9143\"\ntoken_file = \"loose.token\"\n"),
			"admin.token_file", "chmod 600"},
		{"missing token", admin("listen = \"127.0.0.1:9143\"\ntoken_file = \"none.token\"\n"),
			"admin.token_file", "does not exist"},
		{"unset env", admin("listen = \"127.0.0.1:9143\"\ntoken_env = \"NOPE\"\n"),
			"admin.token_env", "at least 16"},
		{"bad listen", admin("listen = \"9143\"\ntoken_file = \"admin.token\"\n"),
			"admin.listen", "not host:port"},
		{"clash", admin("listen = \"127.0.0.1:1143\"\ntoken_file = \"admin.token\"\n"),
			"admin.listen", "already used by imap.listen"},
		{"cert without key", admin("listen = \"127.0.0.1:9143\"\ntoken_file = \"admin.token\"\n" +
			"cert_file = \"cert.pem\"\n"), "admin.key_file", "required"},
		{"bad pair", admin("listen = \"127.0.0.1:9143\"\ntoken_file = \"admin.token\"\n" +
			"cert_file = \"cert.pem\"\nkey_file = \"master.key\"\n"), "admin.cert_file", "cannot load"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, dir, tt.text, Options{})
			if err == nil {
				t.Fatal("loaded")
			}
			for _, p := range problems(t, err) {
				if p.Key == tt.key && strings.Contains(p.Message, tt.msg) {
					if strings.Contains(p.String(), goodAdminToken) {
						t.Errorf("problem shows the token: %s", p)
					}
					return
				}
			}
			t.Errorf("no problem %s %q in %v", tt.key, tt.msg, err)
		})
	}
}

func TestAdminWarnings(t *testing.T) {
	dir := testDir(t)
	writeFile(t, filepath.Join(dir, "admin.token"), []byte(goodAdminToken), 0o600)
	for _, tt := range []struct{ text, want string }{
		{okAll + "[admin]\nlisten = \"0.0.0.0:9143\"\ntoken_file = \"admin.token\"\n",
			"in the clear"},
		{okAll + "[admin]\ntoken_file = \"admin.token\"\n", "admin server is off"},
	} {
		cfg, err := load(t, dir, tt.text, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if w := strings.Join(cfg.Warnings(), "\n"); !strings.Contains(w, tt.want) {
			t.Errorf("warnings %q lack %q", w, tt.want)
		}
	}
}
