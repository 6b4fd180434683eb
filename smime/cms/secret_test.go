package cms

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestSecretRecipients(t *testing.T) {
	content := sampleContent(2000)
	kek := bytes.Repeat([]byte{7}, 32)
	id := []byte("kek-1")
	pw := []byte("pass word")
	der, err := EncryptFor(content, []EncryptRecipient{
		{KEKID: id, KEK: kek}, {Password: pw},
	}, EncryptOptions{Cipher: "aes-128-gcm", PBKDF2Iterations: 100})
	if err != nil {
		t.Fatal(err)
	}
	env := parse(t, der)
	if len(env.Recipients) != 2 || env.Recipients[0].ID.Form() != "kek-id" {
		t.Fatalf("recipients %+v", env.Recipients)
	}
	got, err := env.DecryptWithSecret(id, kek)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("secret: %v", err)
	}
	got, err = env.DecryptWithPassword(pw)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("password: %v", err)
	}
	_, err = env.DecryptWithPassword([]byte("pass Word"))
	wantDecryptErr(t, err)
	_, err = env.DecryptWithSecret(id, bytes.Repeat([]byte{8}, 32))
	wantDecryptErr(t, err)
	_, err = env.DecryptWithSecret(id, kek[:16])
	wantDecryptErr(t, err)
	if _, err := env.DecryptWithSecret([]byte("other"), kek); !errors.Is(err, ErrNoRecipient) {
		t.Fatalf("other id: %v", err)
	}
	rsaOnly := newFixture(t).encrypt(t, content, EncryptOptions{})
	if _, err := parse(t, rsaOnly).DecryptWithPassword(pw); !errors.Is(err, ErrNoRecipient) {
		t.Fatalf("no password recipient: %v", err)
	}
}

func TestSecretsDoNotPrint(t *testing.T) {
	k := SecretKey{ID: []byte{0xab}, Key: []byte("topsecret")}
	p := PasswordKey("hunter2")
	r := EncryptRecipient{KEKID: []byte{1}, KEK: []byte("topsecret")}
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%#v %x %s", k, k, k),
		fmt.Sprintf("%v %#v %x %s", p, p, p, p), fmt.Sprintf("%v %#v %+v", r, r, r)} {
		if strings.Contains(s, "topsecret") || strings.Contains(s, "hunter2") ||
			strings.Contains(s, "746f70") || strings.Contains(s, "68756e") {
			t.Fatalf("secret printed: %s", s)
		}
	}
}

func TestPasswordHostile(t *testing.T) {
	pw := []byte("pw")
	der, err := EncryptFor([]byte("x"), []EncryptRecipient{{Password: pw}},
		EncryptOptions{PBKDF2Iterations: 10})
	if err != nil {
		t.Fatal(err)
	}
	pbkdf2OID := unhex(t, "06 09 2a 86 48 86 f7 0d 01 05 0c")
	salt := wrap(0x04, make([]byte, 8))
	for _, tc := range []struct {
		params []byte
		want   error
	}{
		{wrap(0x30, salt, unhex(t, "02 04 7f ff ff ff")), ErrLimit},
		{wrap(0x30, salt, unhex(t, "02 01 00")), ErrMalformed},
		{wrap(0x30, salt, unhex(t, "02 01 01 02 01 7f")), ErrMalformed},
		{wrap(0x30, salt, unhex(t, "02 01 01"), wrap(0x30, unhex(t, "06 03 2a 03 04"))),
			ErrUnsupported},
		{wrap(0x30, unhex(t, "02 01 01")), ErrMalformed},
	} {
		env := parse(t, der)
		env.Recipients[0].detail = append(append([]byte{}, pbkdf2OID...), tc.params...)
		if _, err := env.DecryptWithPassword(pw); !errors.Is(err, tc.want) {
			t.Errorf("params %x: got %v, want %v", tc.params, err, tc.want)
		}
	}
	// The KEK cipher must be a CBC cipher.
	env := parse(t, der)
	env.Recipients[0].keyAlg.params = wrap(0x30, unhex(t, "06 09 60 86 48 01 65 03 04 01 2e"),
		wrap(0x30, wrap(0x04, make([]byte, 12))))
	if _, err := env.DecryptWithPassword(pw); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("gcm kek: %v", err)
	}
	// Short and odd wrapped keys.
	for _, n := range []int{0, 16, 31, 33} {
		env = parse(t, der)
		env.Recipients[0].encryptedKey = make([]byte, n)
		_, err := env.DecryptWithPassword(pw)
		wantDecryptErr(t, err)
	}
}
