package smime

import (
	"bytes"
	"encoding/base64"
	"errors"
	"testing"
)

func TestDecodeBase64(t *testing.T) {
	data := make([]byte, 1000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	enc := base64.StdEncoding.EncodeToString(data)
	wrapped := wrap76(enc, "\r\n")
	tests := []struct {
		name string
		in   string
	}{
		{"plain", enc},
		{"CRLF wrapped", wrapped},
		{"LF wrapped", wrap76(enc, "\n")},
		{"spaces and tabs", " " + wrap76(enc, " \t\r\n") + "\r\n\r\n"},
		{"no padding", enc[:len(enc)-1]},
		{"footer after padding", wrapped + "\r\n--\r\nList footer: see https://x/\r\n"},
	}
	for _, tt := range tests {
		got, err := decodeBase64([]byte(tt.in), 0)
		if err != nil || !bytes.Equal(got, data[:len(got)]) || len(got) < len(data)-1 {
			t.Errorf("%s: got %d bytes, %v", tt.name, len(got), err)
		}
	}
}

func TestDecodeBase64Errors(t *testing.T) {
	enc := wrap76(base64.StdEncoding.EncodeToString(make([]byte, 300)), "\r\n")
	if _, err := decodeBase64([]byte(enc[:100]+"!"+enc[100:]), 0); !errors.Is(err,
		ErrTransferEncoding) {
		t.Errorf("bad byte: err = %v, want ErrTransferEncoding", err)
	}
	if _, err := decodeBase64([]byte("QUJDR"), 0); !errors.Is(err, ErrTransferEncoding) {
		t.Errorf("one dangling byte: err = %v, want ErrTransferEncoding", err)
	}
	if _, err := decodeBase64([]byte(enc), 200); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over limit: err = %v, want ErrTooLarge", err)
	}
	if got, err := decodeBase64([]byte(enc), 300); err != nil || len(got) != 300 {
		t.Errorf("at limit: %d bytes, %v", len(got), err)
	}
}

func TestExtractCMS(t *testing.T) {
	der := []byte{0x30, 0x82, 0x00, 0x03, 1, 2, 3}
	pemText := "-----BEGIN PKCS7-----\n" + base64.StdEncoding.EncodeToString(der) +
		"\n-----END PKCS7-----\n"
	b64 := base64.StdEncoding.EncodeToString(der)
	tests := []struct {
		body, cte string
	}{
		{string(der), "binary"},
		{string(der), ""},
		{string(der), " 8BIT "},
		{b64, "base64"},
		{b64, "Base64"},
		{b64 + "\r\n", "7bit"}, // QUIRK: undeclared base64
		{pemText, ""},
		{pemText, "7bit"},
		{base64.StdEncoding.EncodeToString([]byte(pemText)), "base64"},
		{"=30=82=00=03=01=02=03", "quoted-printable"},
	}
	for _, tt := range tests {
		got, err := extractCMS([]byte(tt.body), tt.cte, 1000)
		if err != nil || !bytes.Equal(got, der) {
			t.Errorf("extractCMS(%q, %q) = %x, %v", tt.body, tt.cte, got, err)
		}
	}
	for _, cte := range []string{"x-uuencode", "base32"} {
		if _, err := extractCMS(der, cte, 0); !errors.Is(err, ErrTransferEncoding) {
			t.Errorf("cte %q: err = %v", cte, err)
		}
	}
	if _, err := extractCMS(der, "binary", 3); !errors.Is(err, ErrTooLarge) {
		t.Errorf("binary over limit: err = %v", err)
	}
	if _, err := extractCMS([]byte("  \r\n"), "binary", 0); !errors.Is(err, ErrTransferEncoding) {
		t.Errorf("empty: err = %v", err)
	}
}

func TestNormalizeCRLF(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"a\r\nb\r\n", "a\r\nb\r\n"},
		{"a\nb\n", "a\r\nb\r\n"},
		{"\n\n", "\r\n\r\n"},
		{"a\r\nb\nc", "a\r\nb\r\nc"},
		{"a\rb", "a\rb"},
		{"bin\x00ary\n", "bin\x00ary\n"},
	}
	for _, tt := range tests {
		if got := NormalizeCRLF([]byte(tt.in)); string(got) != tt.want {
			t.Errorf("NormalizeCRLF(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	crlf := []byte("x\r\ny\r\n")
	if got := NormalizeCRLF(crlf); &got[0] != &crlf[0] {
		t.Error("NormalizeCRLF copied input that needed no change")
	}
}

func wrap76(s, eol string) string {
	var b bytes.Buffer
	for len(s) > 76 {
		b.WriteString(s[:76] + eol)
		s = s[76:]
	}
	b.WriteString(s)
	return b.String()
}

func encodeBase64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
