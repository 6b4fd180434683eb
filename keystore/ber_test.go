package keystore

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBERToDER(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"der unchanged", "300602010104010a", "300602010104010a"},
		{"indefinite sequence", "3080020101040100" + "0000", "3006020101040100"},
		{"chunked octet string", "2480040161040262630000", "0403616263"},
		{"definite chunked", "240704016104026263", "0403616263"},
		{"nested indefinite", "3080a080308002010200000000" + "0000", "3007a0053003020102"},
		{"explicit tag kept constructed", "a0800403616263" + "0000", "a0050403616263"},
		{"non-minimal length", "04820003616263", "0403616263"},
		{"high tag number", "bf8a3b03020101", "bf8a3b03020101"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, _ := hex.DecodeString(tt.in)
			got, err := berToDER(in)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(got) != tt.want {
				t.Errorf("got %x, want %s", got, tt.want)
			}
		})
	}
}

func TestBERToDERRejects(t *testing.T) {
	for name, in := range map[string]string{
		"empty":               "",
		"truncated":           "0405616263",
		"no end marker":       "30800201010",
		"primitive indef":     "048001610000",
		"trailing":            "0401610000",
		"chunk of wrong type": "2480020101" + "0000",
		"length too long":     "0485ffffffffff",
	} {
		raw, _ := hex.DecodeString(in)
		if _, err := berToDER(raw); !errors.Is(err, errBER) {
			t.Errorf("%s: err = %v, want errBER", name, err)
		}
	}
	deep := strings.Repeat("3080", maxBERDepth+2) + strings.Repeat("0000", maxBERDepth+2)
	raw, _ := hex.DecodeString(deep)
	if _, err := berToDER(raw); !errors.Is(err, errBER) {
		t.Errorf("deep nesting: err = %v", err)
	}
}

// FuzzBERToDER checks that no input panics and that output is a fixed
// point: DER converts to itself.
func FuzzBERToDER(f *testing.F) {
	f.Add([]byte{0x30, 0x80, 0x04, 0x01, 0x61, 0x00, 0x00})
	for _, name := range []string{"thunderbird/Bob.p12", "rfc9216/alice.p12"} {
		if data, err := os.ReadFile(filepath.Join(sharedTestdata, name)); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := berToDER(in)
		if err != nil {
			return
		}
		again, err := berToDER(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not a fixed point: %x -> %x (%v)", out, again, err)
		}
	})
}

// FuzzDecodePKCS12 checks that crafted files fail cleanly.
func FuzzDecodePKCS12(f *testing.F) {
	seeds := []string{"thunderbird/Bob.p12", "thunderbird/Fran.p12", "rfc9216/alice.p12"}
	for _, name := range seeds {
		if data, err := os.ReadFile(filepath.Join(sharedTestdata, name)); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		pairs, err := decodePKCS12(in, "nss")
		if err == nil {
			for _, p := range pairs {
				if checkKeyPair(p.cert, p.key) != nil {
					t.Fatal("returned a mismatched pair")
				}
			}
		}
	})
}
