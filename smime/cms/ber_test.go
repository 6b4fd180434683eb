package cms

import (
	"bytes"
	"encoding/hex"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNormalizeBER(t *testing.T) {
	long := bytes.Repeat([]byte{0xab}, 200)
	chunked := []byte{0x24, 0x80}
	for i := 0; i < 4; i++ {
		chunked = append(chunked, 0x04, 50)
		chunked = append(chunked, long[:50]...)
	}
	chunked = append(chunked, 0, 0)
	cases := []struct{ name, in, want string }{
		{"der", "30 03 02 01 05", "30 03 02 01 05"},
		{"indefinite", "30 80 02 01 05 00 00", "30 03 02 01 05"},
		{"nested indefinite", "30 80 31 80 02 01 05 00 00 00 00", "30 05 31 03 02 01 05"},
		{"chunks", "24 80 04 02 aa bb 04 01 cc 00 00", "04 03 aa bb cc"},
		{"definite chunks", "24 07 04 02 aa bb 04 01 cc", "04 03 aa bb cc"},
		{"nested chunks", "24 80 24 80 04 01 aa 00 00 04 01 bb 00 00", "04 02 aa bb"},
		{"empty chunks", "24 80 00 00", "04 00"},
		{"utf8 chunks", "2c 80 0c 01 61 0c 01 62 00 00", "0c 02 61 62"},
		{"non-minimal length", "04 81 03 aa bb cc", "04 03 aa bb cc"},
		{"implicit context kept", "a0 80 04 01 aa 00 00", "a0 03 04 01 aa"},
		{"high tag", "bf 81 00 80 02 01 01 00 00", "bf 81 00 03 02 01 01"},
		{"trailing zeros", "30 03 02 01 05 00 00", "30 03 02 01 05"},
		{"long form", hex.EncodeToString(chunked), "04 81 c8" + hex.EncodeToString(long)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormalizeBER(unhex(t, tc.in), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, tc.want); !bytes.Equal(got, want) {
				t.Fatalf("got % x, want % x", got, want)
			}
		})
	}
	t.Run("der shares memory", func(t *testing.T) {
		in := unhex(t, "30 03 02 01 05")
		got, _ := NormalizeBER(in, Limits{})
		if &got[0] != &in[0] {
			t.Fatal("DER input was copied")
		}
	})
}

func TestNormalizeBERErrors(t *testing.T) {
	cases := []struct {
		name, in string
		want     error
	}{
		{"empty", "", ErrMalformed},
		{"one byte", "30", ErrMalformed},
		{"missing eoc", "30 80 02 01 05", ErrMalformed},
		{"primitive indefinite", "04 80 aa 00 00", ErrMalformed},
		{"short content", "30 05 02 01 05", ErrMalformed},
		{"eoc in definite", "30 02 00 00", ErrMalformed},
		{"eoc at top", "00 00", ErrMalformed},
		{"trailing data", "30 00 01", ErrMalformed},
		{"mixed chunks", "24 80 02 01 00 00 00", ErrMalformed},
		{"five length octets", "04 85 00 00 00 00 01 aa", ErrMalformed},
		{"2 GB length", "30 84 7f ff ff ff 02 01 05", ErrMalformed},
		{"2 GB inner length", "30 80 04 84 7f ff ff ff aa 00 00", ErrMalformed},
		{"bad high tag", "1f 81 81 81 81 81 00", ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NormalizeBER(unhex(t, tc.in), Limits{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("input limit", func(t *testing.T) {
		_, err := NormalizeBER(make([]byte, 100), Limits{MaxInputBytes: 99})
		if !errors.Is(err, ErrLimit) {
			t.Fatalf("got %v", err)
		}
	})
}

// TestAbsurdLength: a 2 GB declared length in a 1 KB input fails at once
// without allocating anything near that size.
func TestAbsurdLength(t *testing.T) {
	in := make([]byte, 1024)
	copy(in, unhex(t, "30 84 7f ff ff ff 06 09 2a 86 48 86 f7 0d 01 07 03 a0 84 7f ff ff f0"))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := ParseEnvelope(in, Limits{})
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("got %v, want ErrMalformed", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("allocated %d bytes", alloc)
	}
	if elapsed > time.Second {
		t.Errorf("took %v", elapsed)
	}
}

func TestDeepNesting(t *testing.T) {
	const depth = 10_000
	indefinite := append(bytes.Repeat([]byte{0x30, 0x80}, depth),
		make([]byte, 2*depth)...)
	// Definite lengths, built from the inside out.
	definite := []byte{0x05, 0x00}
	for i := 0; i < depth; i++ {
		definite = append(appendLength([]byte{0x30}, len(definite)), definite...)
	}
	for name, in := range map[string][]byte{"indefinite": indefinite, "definite": definite} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			_, err := ParseEnvelope(in, Limits{})
			if !errors.Is(err, ErrLimit) {
				t.Fatalf("got %v, want ErrLimit", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
	t.Run("within limit", func(t *testing.T) {
		in := append(bytes.Repeat([]byte{0x30, 0x80}, 10), make([]byte, 20)...)
		if _, err := NormalizeBER(in, Limits{MaxNestingDepth: 10}); err != nil {
			t.Fatal(err)
		}
		if _, err := NormalizeBER(in, Limits{MaxNestingDepth: 9}); !errors.Is(err, ErrLimit) {
			t.Fatalf("got %v, want ErrLimit", err)
		}
	})
}
