package main

import (
	"strings"
	"testing"
)

func TestKeysImportSecret(t *testing.T) {
	e := newKeysEnv(t)
	if code, out, errOut := e.run(t, "", "init"); code != 0 {
		t.Fatalf("init = %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := e.run(t, "000102030405060708090a0b0c0d0e0f\n", "import-secret",
		"-user", "alice", "-kind", "kek", "-id", "c0ffee")
	if code != 0 || !strings.Contains(out, "stored kek c0ffee for alice") {
		t.Fatalf("kek = %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = e.run(t, "pass phrase\n", "import-secret",
		"-user", "alice", "-kind", "password", "-id", "archive")
	if code != 0 {
		t.Fatalf("password = %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, "pass phrase") || strings.Contains(out+errOut, "0a0b0c") {
		t.Fatalf("secret printed:\n%s%s", out, errOut)
	}
	code, out, _ = e.run(t, "", "list", "-user", "alice")
	if code != 0 || !strings.Contains(out, "kek c0ffee") || !strings.Contains(out, "password") {
		t.Fatalf("list = %d\n%s", code, out)
	}
	for _, args := range [][]string{
		{"-user", "alice", "-kind", "pin", "-id", "x"},
		{"-user", "alice", "-kind", "kek", "-id", "not hex"},
	} {
		code, _, _ := e.run(t, "00\n", append([]string{"import-secret"}, args...)...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code, _, _ := e.run(t, "0011\n", "import-secret", "-user", "alice", "-kind", "kek",
		"-id", "01"); code != 1 {
		t.Errorf("short kek: exit %d, want 1", code)
	}
}
