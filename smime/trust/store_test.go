package trust

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

const testdata = "../../../shared/testdata"

func TestLoadFormats(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	rootPEM := writePEM(t, filepath.Join(dir, "root.pem"), p.root.cert)
	interDir := filepath.Join(dir, "inter")
	writeBytes(t, filepath.Join(interDir, "inter.der"), p.inter.cert.Raw)
	writeBytes(t, filepath.Join(interDir, ".hidden"), []byte("not a certificate"))
	// A bundle with the root again: listed twice, kept once, as root.
	writePEM(t, filepath.Join(interDir, "bundle.crt"), p.root.cert, p.inter.cert)

	s, err := Load([]string{rootPEM}, []string{interDir})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Roots()) != 1 || len(s.Intermediates()) != 1 || len(s.Entries()) != 2 {
		t.Fatalf("roots %d, intermediates %d", len(s.Roots()), len(s.Intermediates()))
	}
	if !s.Roots()[0].Equal(p.root.cert) || !s.Intermediates()[0].Equal(p.inter.cert) {
		t.Fatal("wrong certificates")
	}
	if s.Entries()[0].File != rootPEM {
		t.Errorf("entry file = %q", s.Entries()[0].File)
	}
}

func TestLoadBadFilesAllReported(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "roots", "junk.pem")
	writeBytes(t, bad, []byte("hello"))
	badPEM := filepath.Join(dir, "roots", "key.pem")
	writeBytes(t, badPEM, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	missing := filepath.Join(dir, "missing.pem")

	_, err := Load([]string{filepath.Join(dir, "roots")}, []string{missing})
	var lerr *LoadError
	if !errors.As(err, &lerr) || len(lerr.Files) != 3 {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"junk.pem", "key.pem: trust: not a certificate file: no " +
		"CERTIFICATE block", "missing.pem"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if !errors.Is(err, ErrBadFile) {
		t.Error("not ErrBadFile")
	}
	if lerr.Files[2].Kind != KindIntermediate {
		t.Errorf("kind = %s", lerr.Files[2].Kind)
	}
}

func TestLoadDirManagedMayBeMissing(t *testing.T) {
	s, err := LoadDir(nil, nil, filepath.Join(t.TempDir(), "trust"))
	if err != nil || len(s.Entries()) != 0 {
		t.Fatalf("%v %v", s, err)
	}
}

func TestManagedAddRemove(t *testing.T) {
	p := newPKI(t)
	m := Managed{Dir: filepath.Join(t.TempDir(), "trust")}
	path, added, err := m.Add(p.root.cert, KindRoot)
	if err != nil || !added {
		t.Fatal(added, err)
	}
	if _, added, _ := m.Add(p.root.cert, KindRoot); added {
		t.Error("second add reported added")
	}
	if _, _, err := m.Add(p.leaf.cert, KindIntermediate); !errors.Is(err, ErrBadFile) {
		t.Errorf("leaf as intermediate: %v", err)
	}
	if _, _, err := m.Add(p.inter.cert, KindIntermediate); err != nil {
		t.Fatal(err)
	}
	s, err := LoadDir(nil, nil, m.Dir)
	if err != nil || len(s.Roots()) != 1 || len(s.Intermediates()) != 1 {
		t.Fatalf("%v %v", s, err)
	}
	if filepath.Base(path) != Fingerprint(p.root.cert)+".pem" {
		t.Errorf("path %s", path)
	}

	if _, err := m.Remove("abc"); !errors.Is(err, ErrNotFound) {
		t.Errorf("short prefix: %v", err)
	}
	fp := strings.ToUpper(Fingerprint(p.root.cert))
	e, err := m.Remove(fp[:2] + ":" + fp[2:12])
	if err != nil || !e.Cert.Equal(p.root.cert) || e.Kind != KindRoot {
		t.Fatal(e, err)
	}
	if _, err := m.Remove(fp); !errors.Is(err, ErrNotFound) {
		t.Errorf("second remove: %v", err)
	}
	s, _ = LoadDir(nil, nil, m.Dir)
	if len(s.Roots()) != 0 || len(s.Intermediates()) != 1 {
		t.Fatal("remove did not take")
	}
}

func TestLoadRFC4134DER(t *testing.T) {
	certs, err := ReadFile(filepath.Join(testdata, "rfc4134", "CarlRSASelf.cer"))
	if err != nil || len(certs) != 1 || certs[0].Subject.CommonName != "CarlRSA" {
		t.Fatalf("%v %v", certs, err)
	}
}
