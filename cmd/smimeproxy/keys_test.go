package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// keysTestdata is the team's shared test data, seen from this package.
const keysTestdata = "../../../shared/testdata"

// keysEnv is a temp dir with a config whose vault and master key live in it.
type keysEnv struct {
	dir, config, masterKey, vault string
}

func newKeysEnv(t *testing.T) *keysEnv {
	t.Helper()
	dir := t.TempDir()
	e := &keysEnv{
		dir:       dir,
		config:    filepath.Join(dir, "smimeproxy.toml"),
		masterKey: filepath.Join(dir, "secret", "master.key"),
		vault:     filepath.Join(dir, "vault"),
	}
	text := fmt.Sprintf(`[imap]
listen = "127.0.0.1:0"
upstream = "127.0.0.1:143"
upstream_tls = "none"
allow_insecure_auth = true

[keystore]
path = %q
master_key_file = %q
`, e.vault, e.masterKey)
	if err := os.WriteFile(e.config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// run calls the CLI entry point with stdin and returns exit code and output.
func (e *keysEnv) run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args = append([]string{"keys", args[0], "-config", e.config}, args[1:]...)
	code := runMain(args, strings.NewReader(stdin), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestKeysCLI(t *testing.T) {
	e := newKeysEnv(t)
	code, out, errOut := e.run(t, "", "init")
	if code != 0 || !strings.Contains(out, "created master key") {
		t.Fatalf("init = %d\n%s%s", code, out, errOut)
	}
	if st, err := os.Stat(e.masterKey); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("master key: %v %v", st, err)
	}
	before, _ := os.ReadFile(e.masterKey)
	if code, out, _ := e.run(t, "", "init"); code != 0 || !strings.Contains(out, "left unchanged") {
		t.Fatalf("second init = %d %s", code, out)
	}
	if after, _ := os.ReadFile(e.masterKey); !bytes.Equal(before, after) {
		t.Fatal("second init changed the master key")
	}

	// Password from a file, with the trailing newline an editor adds.
	pwFile := filepath.Join(e.dir, "pw")
	os.WriteFile(pwFile, []byte("nss\n"), 0o600)
	bob := filepath.Join(keysTestdata, "thunderbird/Bob.p12")
	code, out, errOut = e.run(t, "", "import", "-user", "Bob@Example.com", "-p12", bob,
		"-password-file", pwFile)
	if code != 0 || !strings.Contains(out, "bob@example.com") || !strings.Contains(out, "CN=Bob") {
		t.Fatalf("import = %d\n%s%s", code, out, errOut)
	}
	bobID := keyIDFromTable(t, out)

	// Password on stdin.
	alice := filepath.Join(keysTestdata, "thunderbird/Alice-ec.p12")
	code, out, errOut = e.run(t, "nss\n", "import", "-user", "alice@example.com", "-p12", alice)
	if code != 0 || !strings.Contains(out, "ec-p384") {
		t.Fatalf("import stdin = %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, "nss") {
		t.Errorf("output shows the password:\n%s%s", out, errOut)
	}

	code, out, _ = e.run(t, "", "list")
	if code != 0 || !strings.Contains(out, "SUBJECT") || strings.Count(out, "\n") != 3 {
		t.Fatalf("list = %d\n%s", code, out)
	}
	code, out, _ = e.run(t, "", "list", "-user", "bob@example.com")
	if code != 0 || strings.Contains(out, "alice") || !strings.Contains(out, bobID) {
		t.Fatalf("list -user = %d\n%s", code, out)
	}

	remove := []string{"remove", "-user", "bob@example.com", "-id", bobID}
	if code, _, errOut := e.run(t, "", remove...); code != 0 {
		t.Fatalf("remove = %d %s", code, errOut)
	}
	code, _, errOut = e.run(t, "", remove...)
	if code != 1 || !strings.Contains(errOut, "not found") {
		t.Fatalf("second remove = %d %s", code, errOut)
	}
	_, out, _ = e.run(t, "", "list")
	if strings.Contains(out, bobID) {
		t.Fatalf("removed key still listed:\n%s", out)
	}
}

func TestKeysImportWrongPassword(t *testing.T) {
	e := newKeysEnv(t)
	if code, _, errOut := e.run(t, "", "init"); code != 0 {
		t.Fatal(errOut)
	}
	bob := filepath.Join(keysTestdata, "thunderbird/Bob.p12")
	code, out, errOut := e.run(t, "not-the-pw\n", "import", "-user", "bob@x", "-p12", bob)
	if code != 1 || !strings.Contains(errOut, "wrong PKCS#12 password") {
		t.Fatalf("import = %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, "not-the-pw") {
		t.Error("output shows the password")
	}
	if _, out, _ := e.run(t, "", "list"); strings.Count(out, "\n") != 1 {
		t.Errorf("something was stored:\n%s", out)
	}
}

func TestKeysUsageErrors(t *testing.T) {
	e := newKeysEnv(t)
	for _, args := range [][]string{
		{"keys"},
		{"keys", "frobnicate"},
		{"keys", "import", "-config", e.config},
		{"keys", "import", "-config", e.config, "-user", "u"},
		{"keys", "remove", "-config", e.config, "-user", "u"},
		{"keys", "list"},
		{"keys", "list", "-config", e.config, "extra"},
		{"keys", "list", "-bogus"},
	} {
		var stdout, stderr bytes.Buffer
		if code := runMain(args, strings.NewReader(""), &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, stderr.String())
		}
	}
}

func TestKeysNeedsMasterKey(t *testing.T) {
	e := newKeysEnv(t)
	// No init: the config check reports the missing master key file.
	code, _, errOut := e.run(t, "", "list")
	if code != 1 || !strings.Contains(errOut, "keys init") {
		t.Fatalf("list without init = %d %s", code, errOut)
	}
}

// keyIDFromTable returns the key id column of the first data row.
func keyIDFromTable(t *testing.T, out string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		fields := strings.Fields(line)
		if len(fields) > 2 && strings.Contains(fields[0], "@") {
			return fields[1]
		}
	}
	t.Fatalf("no key row in:\n%s", out)
	return ""
}
