package pop3proxy

import (
	"bufio"
	"bytes"
	"testing"
)

// FuzzCodec checks the codec on arbitrary bytes: stuffing then unstuffing
// gives the canonical message back, of the length LIST would report, and
// parsing arbitrary server output never panics or loops.
func FuzzCodec(f *testing.F) {
	f.Add([]byte("Subject: x\r\n\r\n.\r\n..\r\nbody"))
	f.Add([]byte("+OK\r\nTOP\r\nSASL PLAIN\r\n.\r\n"))
	f.Add([]byte("-ERR [AUTH] no\r\n"))
	f.Add([]byte("+OK 2 messages\r\n1 120\r\n2 x\r\n.\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var wire bytes.Buffer
		w := bufio.NewWriter(&wire)
		if err := writeMultiline(w, data); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		got, err := readMultiline(bufio.NewReader(&wire), nil, 1<<30)
		if err != nil {
			t.Fatalf("reading back: %v", err)
		}
		if int64(len(got)) != wireLen(data) || !bytes.Equal(got, canonical(data)) {
			t.Fatalf("round trip: %q became %q (wireLen %d)", data, got, wireLen(data))
		}
		if len(top(got, 3)) > len(got) {
			t.Fatal("top longer than the message")
		}

		r := bufio.NewReaderSize(bytes.NewReader(data), 16)
		for range 4 {
			line, err := readLine(r, 64)
			if err != nil {
				break
			}
			if ok, _, err := parseStatus(line); err == nil && ok {
				body, _ := readMultiline(r, nil, 1<<10)
				parseCapa(body)
				parseListing(body, parseSizeField)
				parseListing(body, parseUIDLField)
			}
			apopTimestamp(line)
			parseCommand(line)
		}
	})
}
