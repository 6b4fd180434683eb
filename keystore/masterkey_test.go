package keystore

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInitMasterKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "etc", "master.key")
	created, err := InitMasterKey(path)
	if err != nil || !created {
		t.Fatalf("InitMasterKey = %v, %v; want created", created, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode = %04o, want 0600", st.Mode().Perm())
	}
	first, err := LoadMasterKey(path)
	if err != nil || len(first) != MasterKeySize {
		t.Fatalf("LoadMasterKey = %d bytes, %v", len(first), err)
	}

	// A second init must leave the key alone.
	created, err = InitMasterKey(path)
	if err != nil || created {
		t.Fatalf("second InitMasterKey = %v, %v; want not created", created, err)
	}
	second, _ := LoadMasterKey(path)
	if string(first) != string(second) {
		t.Error("second init changed the key")
	}
}

func TestLoadMasterKeyPermissions(t *testing.T) {
	for _, tt := range []struct {
		mode os.FileMode
		ok   bool
	}{
		{0o600, true}, {0o400, true}, {0o640, false}, {0o644, false}, {0o604, false},
	} {
		path := writeKeyFile(t, base64.StdEncoding.EncodeToString(make([]byte, 32))+"\n", tt.mode)
		_, err := LoadMasterKey(path)
		if tt.ok != (err == nil) {
			t.Errorf("mode %04o: err = %v, want ok=%v", tt.mode, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrMasterKey) {
			t.Errorf("mode %04o: err = %v, want ErrMasterKey", tt.mode, err)
		}
	}
}

func TestLoadMasterKeyContent(t *testing.T) {
	for name, content := range map[string]string{
		"short":   base64.StdEncoding.EncodeToString(make([]byte, 16)),
		"long":    base64.StdEncoding.EncodeToString(make([]byte, 33)),
		"not b64": strings.Repeat("!", 44),
		"empty":   "",
	} {
		_, err := LoadMasterKey(writeKeyFile(t, content, 0o600))
		if !errors.Is(err, ErrMasterKey) {
			t.Errorf("%s: err = %v, want ErrMasterKey", name, err)
		}
	}
	_, err := LoadMasterKey(filepath.Join(t.TempDir(), "missing"))
	if !errors.Is(err, ErrMasterKey) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestMasterKeyFromEnv(t *testing.T) {
	const name = "SMIMEPROXY_TEST_MASTER_KEY"
	want := make([]byte, 32)
	want[0], want[31] = 1, 2
	t.Setenv(name, base64.StdEncoding.EncodeToString(want))
	got, err := MasterKeyFromEnv(name)
	if err != nil || string(got) != string(want) {
		t.Fatalf("MasterKeyFromEnv = %x, %v", got, err)
	}
	t.Setenv(name, "c2hvcnQ=")
	if _, err := MasterKeyFromEnv(name); !errors.Is(err, ErrMasterKey) {
		t.Errorf("short key: err = %v", err)
	}
	if _, err := MasterKeyFromEnv(name + "_UNSET"); !errors.Is(err, ErrMasterKey) {
		t.Errorf("unset: err = %v", err)
	}
}

func writeKeyFile(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}
