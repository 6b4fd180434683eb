package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkConfigMasterKey is in the keystore's format: base64 of 32 bytes.
var checkConfigMasterKey = []byte("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")

func writeCheckConfig(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	err := os.WriteFile(filepath.Join(dir, "master.key"), checkConfigMasterKey, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "smimeproxy.toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheckConfig(t *testing.T) {
	good := writeCheckConfig(t, `[imap]
listen = "127.0.0.1:0"
upstream = "127.0.0.1:143"
allow_insecure_auth = true
[keystore]
path = "vault"
master_key_file = "master.key"
`)
	bad := writeCheckConfig(t, `[imap]
upstream = "mail.example.org"
upstream_tls = "ssl"
[keystore]
master_key_file = "master.key"
[log]
levle = "debug"
`)
	tests := []struct {
		name       string
		args       []string
		code       int
		wantStdout string
		wantStderr []string
	}{
		{"good", []string{"-config", good}, 0, good + ": ok\n",
			[]string{"warning: " + good + ":4: imap.allow_insecure_auth: is true"}},
		{"bad", []string{"-config", bad}, 1, "", []string{
			bad + ":1: imap.listen: without tls.cert_file and tls.key_file",
			bad + `:2: imap.upstream: "mail.example.org" is not host:port`,
			bad + `:3: imap.upstream_tls: "ssl" is not allowed: use one of "none", ` +
				`"starttls", "implicit"`,
			bad + `:7: log.levle: unknown key; did you mean "log.level"?`,
			bad + ": 4 problem(s)",
		}},
		{"missing file", []string{"-config", bad + ".nope"}, 1, "",
			[]string{bad + `.nope: file "` + bad + `.nope" does not exist`}},
		{"no flag", nil, 2, "", []string{"usage: smimeproxy check-config"}},
		{"extra arg", []string{"-config", good, "x"}, 2, "", []string{"usage:"}},
		{"bad flag", []string{"-cfg", good}, 2, "", []string{"flag provided but not defined"}},
		{"help", []string{"-h"}, 0, "", []string{"usage:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"check-config"}, tt.args...)
			code := runMain(args, strings.NewReader(""), &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.code, &stderr)
			}
			if stdout.String() != tt.wantStdout {
				t.Errorf("stdout %q, want %q", &stdout, tt.wantStdout)
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, &stderr)
				}
			}
		})
	}
}
