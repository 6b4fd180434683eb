package smime

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestResultStatus(t *testing.T) {
	tests := []struct {
		res  DecryptResult
		want string
	}{
		{DecryptResult{Outcome: OutcomeDecrypted, Cipher: "aes-256-cbc", KeyID: "k1"},
			"decrypted; cipher=aes-256-cbc; key=k1"},
		{DecryptResult{Outcome: OutcomeDecrypted, Cipher: "aes-128-gcm", KeyID: "sha1:ab cd"},
			`decrypted; cipher=aes-128-gcm; key="sha1:ab cd"`},
		{DecryptResult{Outcome: OutcomeNoKey, Err: errors.New("secret detail")},
			"not-decrypted; reason=no-key"},
		{DecryptResult{Outcome: OutcomeUnsupported, Detail: "rc2-cbc"},
			"not-decrypted; reason=unsupported-algorithm; detail=rc2-cbc"},
		{DecryptResult{Outcome: OutcomeCouldNotDecrypt, KeyID: "k1", Cipher: "aes-256-cbc",
			Err: errors.New("bad padding")}, "not-decrypted; reason=could-not-decrypt"},
		{DecryptResult{Outcome: OutcomeCorrupt}, "not-decrypted; reason=corrupt"},
		{DecryptResult{Outcome: OutcomeTooLarge}, "not-decrypted; reason=too-large"},
		{DecryptResult{}, "not-decrypted; reason=corrupt"},
	}
	for _, tt := range tests {
		got := tt.res.Status().String()
		if got != tt.want {
			t.Errorf("status of %v = %q, want %q", tt.res, got, tt.want)
		}
		back, err := ParseStatus(got)
		if err != nil || back.String() != got {
			t.Errorf("ParseStatus(%q) = %q, %v; want a round trip", got, back.String(), err)
		}
	}
}

func TestStatusCannotInjectHeaderLines(t *testing.T) {
	res := DecryptResult{Outcome: OutcomeDecrypted, Cipher: "aes\r\nBcc: x",
		KeyID: "id\"\\\r\nX-Evil: 1\x00é"}
	got := res.Status().String()
	if strings.ContainsAny(got, "\r\n\x00") {
		t.Fatalf("status %q contains a line break or NUL", got)
	}
	for i := 0; i < len(got); i++ {
		if got[i] >= 0x7f {
			t.Fatalf("status %q contains 8-bit byte", got)
		}
	}
	st, err := ParseStatus(got)
	if err != nil {
		t.Fatalf("ParseStatus(%q): %v", got, err)
	}
	if key, _ := st.Get("key"); key != "id\"\\??X-Evil: 1???" {
		t.Errorf("key = %q", key)
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		value string
		want  Status
	}{
		{"decrypted; cipher=aes-256-cbc; key=abc",
			Status{"decrypted", []StatusParam{{"cipher", "aes-256-cbc"}, {"key", "abc"}}}},
		{"  not-decrypted ;reason=no-key;",
			Status{"not-decrypted", []StatusParam{{"reason", "no-key"}}}},
		{`decrypted; signed; valid; signer="Alice <a@example.org>"; cipher=x`,
			Status{"decrypted", []StatusParam{{"signed", ""}, {"valid", ""},
				{"signer", "Alice <a@example.org>"}, {"cipher", "x"}}}},
		{"decrypted;\r\n key = \"a\\\"b\"", Status{"decrypted", []StatusParam{{"key", `a"b`}}}},
	}
	for _, tt := range tests {
		got, err := ParseStatus(tt.value)
		if err != nil {
			t.Errorf("ParseStatus(%q): %v", tt.value, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseStatus(%q) = %#v, want %#v", tt.value, got, tt.want)
		}
	}
	if v, ok := tt0().Get("CIPHER"); !ok || v != "aes-256-cbc" {
		t.Errorf("Get is not case-insensitive: %q %v", v, ok)
	}
}

func tt0() Status {
	st, _ := ParseStatus("decrypted; cipher=aes-256-cbc")
	return st
}

func TestParseStatusErrors(t *testing.T) {
	for _, v := range []string{"", ";", "decrypted key=x", "decrypted; =x", "decrypted; key=",
		`decrypted; key="abc`, "decrypted; key=a b", "décrypted"} {
		if st, err := ParseStatus(v); !errors.Is(err, ErrStatusSyntax) {
			t.Errorf("ParseStatus(%q) = %#v, %v; want ErrStatusSyntax", v, st, err)
		}
	}
}

func TestDecryptResultDoesNotPrintInner(t *testing.T) {
	res := DecryptResult{Outcome: OutcomeDecrypted, Inner: []byte("TOP SECRET")}
	for _, s := range []string{res.String(), res.GoString(), fmt.Sprintf("%v", res),
		fmt.Sprintf("%+v", res), fmt.Sprintf("%#v", res), fmt.Sprintf("%s", res),
		fmt.Sprintf("%x", res)} {
		if strings.Contains(s, "TOP SECRET") || strings.Contains(s, "544f5020") {
			t.Errorf("formatted result leaks content: %q", s)
		}
	}
}
