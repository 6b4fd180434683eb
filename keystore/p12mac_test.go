package keystore

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"testing"
)

// Expected values come from `openssl kdf ... PKCS12KDF` (OpenSSL 3.0), which
// takes the password bytes as given, and, for the BMPString case, from the
// Bouncy Castle PKCS#12 KDF test vector.
func TestP12KDF(t *testing.T) {
	salt := []byte{0x0A, 0x58, 0xCF, 0x64, 0x53, 0x0D, 0x82, 0x3F}
	tests := []struct {
		h        func() hash.Hash
		v        int
		salt, pw []byte
		rounds   int
		id       byte
		want     string
	}{
		{sha1.New, 64, salt, []byte("smeg"), 1, 1,
			"cdf5d700bdb714fdc96a189db3acc281be29a33e39facb89"},
		{sha1.New, 64, salt, macPasswords("smeg")[0], 1, 1,
			"8aaae6297b6cb04642ab5b077851284eb7128f1a2a7fbca3"},
		{sha256.New, 64, []byte{1, 2, 3, 4, 5, 6, 7, 8}, []byte("sesame"), 2048, 3,
			"c0f47a182e298d5de20b1f44f0c31c66ec30f13349facf7240c3895bb8537d27"},
		{sha512.New, 128, []byte{0}, []byte("pässwörd"), 3, 3,
			"8308dd843e5d6207bad2f40546cbf19cf61048ca68eff1d69a420d1c496bea34" +
				"445ca6556bb98f7a9d1b63147f418d090eaf766aa1f1607fb0f67df9cc12920f" +
				"002240464828"},
	}
	for i, tt := range tests {
		got := hex.EncodeToString(p12KDF(tt.h, tt.v, tt.salt, tt.pw, tt.rounds, tt.id, len(tt.want)/2))
		if got != tt.want {
			t.Errorf("%d: got %s\nwant %s", i, got, tt.want)
		}
	}
}

func TestMacPasswords(t *testing.T) {
	got := macPasswords("a\u00e9")
	if len(got) != 1 || hex.EncodeToString(got[0]) != "006100e90000" {
		t.Errorf("BMPString = %x", got)
	}
	if got := macPasswords(""); len(got) != 2 {
		t.Errorf("empty password: %d candidates, want 2", len(got))
	}
}
