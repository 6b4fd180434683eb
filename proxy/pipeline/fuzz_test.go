package pipeline

import (
	"bytes"
	"context"
	"testing"

	"github.com/smimeproxy/smimeproxy/smime"
)

// FuzzTransform feeds arbitrary messages to the MIME walker and checks the
// pipeline's promises: no panic, the input untouched, plain messages
// byte for byte, exactly one status field on S/MIME output and none on
// other output, and an unopened envelope's body unchanged. The seeds in
// testdata/fuzz/FuzzTransform include envelopes to the test key "bob",
// so the decryption path is reached too, also
// inside a message/rfc822 attachment (attached-envelope).
func FuzzTransform(f *testing.F) {
	keys := bobKeys(f)
	f.Add([]byte("From: a@example.org\r\nSubject: x\r\n\r\nbody\r\n"))
	f.Add([]byte("Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHA6CAMIACAQA=\r\n"))
	f.Add([]byte("X-SMIME-Status: decrypted\nAuthentication-Results: proxy.example.org; x\n\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		p := New(Options{AuthServID: ourID})
		p.onPanic = func(v any) { t.Fatalf("recovered panic: %v", v) }
		in := bytes.Clone(raw)
		needs := needsTransform(p, raw)
		if transform, scan := p.Triage(raw); transform != p.NeedsTransform(raw) ||
			scan != p.NeedsBodyScan(raw) {
			t.Fatalf("Triage = %t, %t disagrees", transform, scan)
		}
		out := p.Transform(context.Background(), MessageRef{}, keys, raw)
		if !bytes.Equal(in, raw) {
			t.Fatal("Transform modified its input")
		}
		if needs != out.Changed {
			t.Fatalf("NeedsTransform %t but Changed %t", needs, out.Changed)
		}
		if !out.Changed {
			if !bytes.Equal(out.Message, raw) {
				t.Fatal("unchanged output differs from input")
			}
			return
		}
		checkFuzzOutput(t, raw, out)
	})
}

func checkFuzzOutput(t *testing.T, raw []byte, out *Output) {
	statuses := 0
	s := newFieldScanner(out.Message)
	for f, ok := s.next(); ok; f, ok = s.next() {
		if f.is(out.Message, smime.StatusHeader) {
			statuses++
		}
	}
	if len(out.Attachments) > 0 {
		if statuses != 1 || out.Decrypt != nil {
			t.Fatalf("%d status fields on a message with attachments", statuses)
		}
		return
	}
	if out.Decrypt == nil && out.Signed == nil {
		if statuses != 0 {
			t.Fatalf("%d status fields on a non-S/MIME message", statuses)
		}
		return
	}
	if statuses != 1 {
		t.Fatalf("%d status fields on an S/MIME message", statuses)
	}
	if out.Decrypt == nil || out.Decrypt.Outcome == smime.OutcomeDecrypted {
		return
	}
	if !bytes.HasSuffix(out.Message, bodyOf(raw)) {
		t.Fatal("body of an unopened envelope changed")
	}
}
