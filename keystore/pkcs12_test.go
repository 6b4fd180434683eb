package keystore

import (
	"context"
	"crypto"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestImportPKCS12Files(t *testing.T) {
	tests := []struct {
		file, password, user string
		wantKeys             int
		wantAlg              string
		wantSubject          string
	}{
		// NSS export, OpenSSL 3 style: PBES2, AES-256-CBC, HMAC-SHA256 MAC.
		{"thunderbird/Bob.p12", "nss", "bob@example.com", 1, "rsa-2048", "CN=Bob"},
		// 3DES key and certificate safes, SHA-1 MAC.
		{"thunderbird/Fran.p12", "nss", "fran@example.com", 1, "rsa-2048", "CN=Fran"},
		// EC P-384 key, PBES2.
		{"thunderbird/Alice-ec.p12", "nss", "alice@example.com", 1, "ec-p384", "CN=Alice"},
		// Five safes, two keys (signing, decryption), 3DES: the split path.
		{"rfc9216/alice.p12", "alice", "alice@smime.example", 2, "rsa-2048", "CN=Alice Lovelace"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			v, _ := newTestVault(t)
			infos, err := v.ImportPKCS12(tt.user, readTestdata(t, tt.file), tt.password)
			if err != nil {
				t.Fatalf("import: %v", err)
			}
			if len(infos) != tt.wantKeys {
				t.Fatalf("imported %d keys, want %d: %+v", len(infos), tt.wantKeys, infos)
			}
			for _, info := range infos {
				if info.Algorithm != tt.wantAlg || !strings.Contains(info.Subject, tt.wantSubject) {
					t.Errorf("info = %+v, want algorithm %s subject with %q",
						info, tt.wantAlg, tt.wantSubject)
				}
			}
			keys, err := v.Keys(context.Background(), tt.user)
			if err != nil || len(keys) != tt.wantKeys {
				t.Fatalf("Keys = %d keys, %v", len(keys), err)
			}
			for _, k := range keys {
				if err := checkKeyPair(k.Certificate, k.Private); err != nil {
					t.Errorf("key %s: %v", k.ID, err)
				}
			}
		})
	}
}

// TestImportRFC9216Pairs checks that each of the two keys of RFC 9216's
// Alice went with its own certificate, whatever order the file uses.
func TestImportRFC9216Pairs(t *testing.T) {
	v, _ := newTestVault(t)
	infos, err := v.ImportPKCS12("alice", readTestdata(t, "rfc9216/alice.p12"), "alice")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, name := range []string{"rfc9216/alice.sign.crt", "rfc9216/alice.encrypt.crt"} {
		want[KeyID(parsePEMCert(t, readTestdata(t, name)))] = true
	}
	for _, info := range infos {
		if !want[info.ID] {
			t.Errorf("unexpected key %s (%s)", info.ID, info.Subject)
		}
		delete(want, info.ID)
	}
	if len(want) != 0 {
		t.Errorf("missing keys %v", want)
	}
}

func TestImportPKCS12OpenSSL(t *testing.T) {
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	tests := []struct {
		name     string
		ec       bool
		flags    []string
		wantInfo []string // substrings of openssl pkcs12 -info
	}{
		{"openssl3-default", false, nil, []string{"PBES2", "AES-256-CBC", "MAC: sha256"}},
		{"legacy", false, []string{"-legacy"},
			[]string{"pbeWithSHA1And40BitRC2-CBC", "pbeWithSHA1And3-KeyTripleDES-CBC"}},
		{"legacy-rc2-key", false,
			[]string{"-legacy", "-keypbe", "PBE-SHA1-RC2-40", "-certpbe", "PBE-SHA1-RC2-40"},
			[]string{"Shrouded Keybag: pbeWithSHA1And40BitRC2-CBC"}},
		{"ec-default", true, nil, []string{"PBES2"}},
	}
	// One key per type: RSA generation is slow on a busy machine.
	rsaCert, rsaKey := selfSigned(t, "Gen RSA", false, start)
	ecCert, ecKey := selfSigned(t, "Gen EC", true, start)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, priv := rsaCert, crypto.Signer(rsaKey)
			if tt.ec {
				cert, priv = ecCert, ecKey
			}
			p12 := opensslP12(t, cert, priv, "s3cret pw", tt.flags...)
			info := opensslInfo(t, p12, "s3cret pw")
			for _, w := range tt.wantInfo {
				if !strings.Contains(info, w) {
					t.Fatalf("openssl made no %q:\n%s", w, info)
				}
			}
			v, _ := newTestVault(t)
			infos, err := v.ImportPKCS12("gen@example.org", p12, "s3cret pw")
			if err != nil {
				t.Fatal(err)
			}
			if len(infos) != 1 || infos[0].ID != KeyID(cert) {
				t.Fatalf("infos = %+v, want the one key %s", infos, KeyID(cert))
			}

			// The same file with BER framing takes the rewriting path.
			pairs, err := decodePKCS12(indefiniteOuter(t, p12), "s3cret pw")
			if err != nil || len(pairs) != 1 || KeyID(pairs[0].cert) != KeyID(cert) {
				t.Fatalf("BER framing: %d pairs, %v", len(pairs), err)
			}
			_, err = decodePKCS12(indefiniteOuter(t, p12), "s3cret px")
			if !errors.Is(err, ErrBadPassword) {
				t.Fatalf("BER framing, wrong password: %v", err)
			}
		})
	}
}

// indefiniteOuter re-frames a DER PFX's outer SEQUENCE with indefinite
// length, as NSS writes it; the MAC stays valid.
func indefiniteOuter(t *testing.T, der []byte) []byte {
	t.Helper()
	h, err := readBERHeader(der)
	if err != nil || der[0] != 0x30 || h.headerSize+h.length != len(der) {
		t.Fatalf("not a DER SEQUENCE: %v", err)
	}
	out := append([]byte{0x30, 0x80}, der[h.headerSize:]...)
	return append(out, 0, 0)
}

func TestImportWrongPassword(t *testing.T) {
	files := []string{"thunderbird/Bob.p12", "thunderbird/Fran.p12", "rfc9216/alice.p12"}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			v, dir := newTestVault(t)
			_, err := v.ImportPKCS12("bob@example.com", readTestdata(t, file), "hunter2-guess")
			if !errors.Is(err, ErrBadPassword) {
				t.Fatalf("err = %v, want ErrBadPassword", err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error repeats the password: %v", err)
			}
			assertNoEntries(t, dir)
		})
	}
}

func TestImportGarbage(t *testing.T) {
	v, dir := newTestVault(t)
	_, err := v.ImportPKCS12("bob@example.com", []byte("not a pfx"), "x")
	if !errors.Is(err, ErrPKCS12) {
		t.Fatalf("err = %v, want ErrPKCS12", err)
	}
	assertNoEntries(t, dir)
}

func TestImportIdempotentAndAppends(t *testing.T) {
	v, _ := newTestVault(t)
	ctx := context.Background()
	bob := readTestdata(t, "thunderbird/Bob.p12")
	for range 2 {
		if _, err := v.ImportPKCS12("bob@example.com", bob, "nss"); err != nil {
			t.Fatal(err)
		}
	}
	if keys, _ := v.Keys(ctx, "bob@example.com"); len(keys) != 1 {
		t.Fatalf("re-import: %d keys, want 1", len(keys))
	}
	// A second, different key for the same user is added, not replaced.
	_, err := v.ImportPKCS12("bob@example.com", readTestdata(t, "thunderbird/Dave.p12"), "nss")
	if err != nil {
		t.Fatal(err)
	}
	if keys, _ := v.Keys(ctx, "bob@example.com"); len(keys) != 2 {
		t.Fatalf("append: %d keys, want 2", len(keys))
	}
}

// assertNoEntries fails if any key file exists under the vault dir.
func assertNoEntries(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("file stored: %s", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
