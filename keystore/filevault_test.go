package keystore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	v, dir := newTestVault(t)
	ctx := context.Background()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rsaCert, rsaKey := selfSigned(t, "Alice RSA", false, start)
	ecCert, ecKey := selfSigned(t, "Alice EC", true, start.Add(time.Hour))

	for _, p := range []keyPair{{rsaKey, rsaCert}, {ecKey, ecCert}} {
		if _, err := v.Add(" Alice@Example.org ", p.cert, p.key); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := v.Keys(ctx, "alice@example.org")
	if err != nil || len(keys) != 2 {
		t.Fatalf("Keys = %d, %v", len(keys), err)
	}
	// Newest first: the EC certificate starts an hour later.
	if keys[0].ID != KeyID(ecCert) || keys[1].ID != KeyID(rsaCert) {
		t.Errorf("order = %s, %s", keys[0].ID, keys[1].ID)
	}
	for _, k := range keys {
		if err := checkKeyPair(k.Certificate, k.Private); err != nil {
			t.Errorf("%s: %v", k.ID, err)
		}
	}

	// Layout and modes.
	userDir := filepath.Join(dir, "users", "alice@example.org")
	assertMode(t, userDir, 0o700)
	assertMode(t, filepath.Join(userDir, KeyID(rsaCert)+".json"), 0o600)
}

func TestEntryHasNoPlainKey(t *testing.T) {
	v, dir := newTestVault(t)
	cert, key := selfSigned(t, "Bob", true, time.Now())
	if _, err := v.Add("bob", cert, key); err != nil {
		t.Fatal(err)
	}
	data := readEntryFile(t, dir, "bob", KeyID(cert))
	der, _ := marshalPKCS8(key)
	if strings.Contains(string(data), hex.EncodeToString(der[len(der)-16:])) ||
		strings.Contains(string(data), string(der[len(der)-16:])) {
		t.Fatal("entry contains private key bytes")
	}
}

func TestKeyInfo(t *testing.T) {
	v, _ := newTestVault(t)
	infos, err := v.ImportPKCS12("bob@example.com", readTestdata(t, "thunderbird/Bob.p12"), "nss")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := v.Keys(context.Background(), "bob@example.com")
	if err != nil || len(keys) != 1 {
		t.Fatal(keys, err)
	}
	c := keys[0].Certificate
	want := KeyInfo{
		User:      "bob@example.com",
		ID:        KeyID(c),
		Subject:   "CN=Bob,O=BOGUS NSS,L=Mountain View,ST=California,C=US,emailAddress=Bob@example.com",
		Issuer:    "CN=NSS Test CA (RSA),O=BOGUS NSS,L=Mountain View,ST=California,C=US",
		Serial:    fmt.Sprintf("%x", c.SerialNumber),
		SKI:       hex.EncodeToString(c.SubjectKeyId),
		NotBefore: c.NotBefore,
		NotAfter:  c.NotAfter,
		Algorithm: "rsa-2048",
	}
	if len(infos) != 1 || infos[0] != want {
		t.Fatalf("info = %+v\nwant %+v", infos, want)
	}
	if !strings.Contains(want.Subject, "CN=Bob") || !strings.Contains(want.Issuer, "NSS Test CA") {
		t.Errorf("subject/issuer = %q / %q", want.Subject, want.Issuer)
	}
	if want.NotAfter.Year() != 2031 || len(want.ID) != 24 {
		t.Errorf("not after %v, id %q", want.NotAfter, want.ID)
	}
	listed, err := v.List(context.Background(), "BOB@example.com")
	if err != nil || len(listed) != 1 || listed[0] != want {
		t.Errorf("List = %+v, %v", listed, err)
	}
}

func TestUsersAreSeparate(t *testing.T) {
	v, _ := newTestVault(t)
	ctx := context.Background()
	aliceP12 := readTestdata(t, "thunderbird/Alice-ec.p12")
	if _, err := v.ImportPKCS12("alice@x", aliceP12, "nss"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.ImportPKCS12("bob@x", readTestdata(t, "thunderbird/Bob.p12"), "nss"); err != nil {
		t.Fatal(err)
	}
	// Names that differ only in ways that must not alias another user.
	for _, user := range []string{"bob@x", "bob@x.", "bob", "alice@x2", "bob@y"} {
		keys, err := v.Keys(ctx, user)
		if err != nil {
			t.Fatalf("%s: %v", user, err)
		}
		for _, k := range keys {
			if strings.Contains(k.Certificate.Subject.String(), "Alice") {
				t.Errorf("Keys(%q) returned Alice's key %s", user, k.ID)
			}
		}
	}
	all, err := v.List(ctx, "")
	if err != nil || len(all) != 2 {
		t.Fatalf("List all = %+v, %v", all, err)
	}
	for _, info := range all {
		if info.User != "alice@x" && info.User != "bob@x" {
			t.Errorf("user %q", info.User)
		}
	}
	if keys, err := v.Keys(ctx, "nobody@x"); err != nil || len(keys) != 0 {
		t.Errorf("unknown user: %v, %v", keys, err)
	}
}

func TestInvalidUsers(t *testing.T) {
	v, dir := newTestVault(t)
	cert, key := selfSigned(t, "X", true, time.Now())
	bad := []string{"", " ", "..", ".", "../bob", "a/b", `a\b`, "bob/..", "a\x00b",
		"a b", "a\nb", "x..y", strings.Repeat("a", 81)}
	for _, user := range bad {
		if _, err := v.Add(user, cert, key); !errors.Is(err, ErrInvalidUser) {
			t.Errorf("Add(%q): err = %v, want ErrInvalidUser", user, err)
		}
		if _, err := v.Keys(context.Background(), user); !errors.Is(err, ErrInvalidUser) {
			t.Errorf("Keys(%q): err = %v, want ErrInvalidUser", user, err)
		}
	}
	assertNoEntries(t, dir)
}

func TestEscapeUser(t *testing.T) {
	for user, want := range map[string]string{
		"alice@example.org":    "alice@example.org",
		"a.b+tag@x-y_z.org":    "a.b+tag@x-y_z.org",
		".hidden":              "%2Ehidden",
		"user:1":               "user%3A1",
		"j\u00f6rg@example.de": "j%C3%B6rg@example.de",
	} {
		got := escapeUser(user)
		if got != want {
			t.Errorf("escapeUser(%q) = %q, want %q", user, got, want)
		}
		back, err := unescapeUser(got)
		if err != nil || back != user {
			t.Errorf("unescapeUser(%q) = %q, %v", got, back, err)
		}
	}
	for _, name := range []string{"%2", "%zz", "%2e%2e", "A", "%41"} {
		if _, err := unescapeUser(name); err == nil {
			t.Errorf("unescapeUser(%q) accepted", name)
		}
	}
}

func TestTamperDetected(t *testing.T) {
	for _, field := range []string{"private_key", "nonce"} {
		t.Run(field, func(t *testing.T) {
			v, dir := newTestVault(t)
			cert, key := selfSigned(t, "Carol", false, time.Now())
			if _, err := v.Add("carol", cert, key); err != nil {
				t.Fatal(err)
			}
			editEntry(t, dir, "carol", KeyID(cert), func(m map[string]any) {
				b := decodeB64Field(t, m, field)
				b[len(b)/2] ^= 0x01
				m[field] = b
			})
			_, err := v.Keys(context.Background(), "carol")
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Keys after flipping a bit in %s: err = %v, want ErrCorrupt", field, err)
			}
			if _, err := v.List(context.Background(), "carol"); !errors.Is(err, ErrCorrupt) {
				t.Errorf("List: err = %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestWrongMasterKey(t *testing.T) {
	v, dir := newTestVault(t)
	cert, key := selfSigned(t, "Dan", true, time.Now())
	if _, err := v.Add("dan", cert, key); err != nil {
		t.Fatal(err)
	}
	other := make([]byte, MasterKeySize)
	rand.Read(other)
	v2, err := OpenFileVault(dir, other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v2.Keys(context.Background(), "dan"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v, want ErrCorrupt", err)
	}
}

// TestMovedEntry copies alice's entry into mallory's directory, in the
// three ways an attacker with write access could try.
func TestMovedEntry(t *testing.T) {
	for _, edit := range []string{"as is", "user field rewritten", "other id"} {
		t.Run(edit, func(t *testing.T) {
			v, dir := newTestVault(t)
			cert, key := selfSigned(t, "Alice", false, time.Now())
			id := KeyID(cert)
			if _, err := v.Add("alice", cert, key); err != nil {
				t.Fatal(err)
			}
			mcert, mkey := selfSigned(t, "Mallory", true, time.Now())
			if _, err := v.Add("mallory", mcert, mkey); err != nil {
				t.Fatal(err)
			}
			data := readEntryFile(t, dir, "alice", id)
			target := id
			if edit == "other id" {
				target = KeyID(mcert)
			}
			dst := filepath.Join(dir, "users", "mallory", target+".json")
			if err := os.WriteFile(dst, data, 0o600); err != nil {
				t.Fatal(err)
			}
			if edit == "user field rewritten" {
				editEntry(t, dir, "mallory", id, func(m map[string]any) { m["user"] = "mallory" })
			}
			if _, err := v.Keys(context.Background(), "mallory"); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestRemove(t *testing.T) {
	v, _ := newTestVault(t)
	ctx := context.Background()
	cert, key := selfSigned(t, "Eve", true, time.Now())
	if _, err := v.Add("eve", cert, key); err != nil {
		t.Fatal(err)
	}
	if err := v.Remove("eve", "../../x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("bad id: %v", err)
	}
	if err := v.Remove("other", KeyID(cert)); !errors.Is(err, ErrNotFound) {
		t.Errorf("other user: %v", err)
	}
	if err := v.Remove("EVE", KeyID(cert)); err != nil {
		t.Fatal(err)
	}
	if keys, err := v.Keys(ctx, "eve"); err != nil || len(keys) != 0 {
		t.Errorf("after remove: %v, %v", keys, err)
	}
	if err := v.Remove("eve", KeyID(cert)); !errors.Is(err, ErrNotFound) {
		t.Errorf("second remove: %v", err)
	}
}

func TestAddMismatchedKey(t *testing.T) {
	v, dir := newTestVault(t)
	cert, _ := selfSigned(t, "F", true, time.Now())
	_, otherKey := selfSigned(t, "G", true, time.Now())
	if _, err := v.Add("f", cert, otherKey); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("err = %v, want ErrKeyMismatch", err)
	}
	assertNoEntries(t, dir)
}

func TestOpenFileVaultKeyLength(t *testing.T) {
	if _, err := OpenFileVault(t.TempDir(), make([]byte, 16)); !errors.Is(err, ErrMasterKey) {
		t.Fatalf("err = %v", err)
	}
}

func TestVaultDoesNotPrintSecrets(t *testing.T) {
	v, dir := newTestVault(t)
	for _, s := range []string{fmt.Sprint(v), fmt.Sprintf("%#v", v), fmt.Sprintf("%+v", *v)} {
		if !strings.Contains(s, dir) || strings.Contains(s, "aead") {
			t.Errorf("printed %q", s)
		}
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != want {
		t.Errorf("%s: mode %04o, want %04o", path, st.Mode().Perm(), want)
	}
}

func readEntryFile(t *testing.T, dir, user, id string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "users", user, id+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// editEntry rewrites an entry's JSON in place through edit.
func editEntry(t *testing.T, dir, user, id string, edit func(map[string]any)) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readEntryFile(t, dir, user, id), &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "users", user, id+".json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func decodeB64Field(t *testing.T, m map[string]any, field string) []byte {
	t.Helper()
	var b []byte
	raw, _ := json.Marshal(m[field])
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReimportRepairs(t *testing.T) {
	v, dir := newTestVault(t)
	cert, key := selfSigned(t, "Hal", true, time.Now())
	if _, err := v.Add("hal", cert, key); err != nil {
		t.Fatal(err)
	}
	editEntry(t, dir, "hal", KeyID(cert), func(m map[string]any) { m["nonce"] = "AAAA" })
	if _, err := v.Keys(context.Background(), "hal"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged: %v", err)
	}
	if _, err := v.Add("hal", cert, key); err != nil {
		t.Fatal(err)
	}
	if keys, err := v.Keys(context.Background(), "hal"); err != nil || len(keys) != 1 {
		t.Fatalf("after re-add: %d keys, %v", len(keys), err)
	}
}
