package pipeline

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/smimeproxy/smimeproxy/smime/cms"
)

func compressedMessage(body string) []byte {
	return []byte("From: a@example.org\r\nSubject: packed\r\n" +
		"Content-Type: application/pkcs7-mime; smime-type=compressed-data; name=smime.p7z\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + body + "\r\n")
}

// TestCompressedDataIsOpened: an outer RFC 3274 compressed-data entity is
// replaced by what it holds, and the status says so.
func TestCompressedDataIsOpened(t *testing.T) {
	inner := "Content-Type: text/plain\r\n\r\nsquashed but readable\r\n"
	raw := compressedMessage(base64.StdEncoding.EncodeToString(cms.Compress([]byte(inner))))
	p := newTestPipeline(t, Options{})
	if !p.NeedsTransform(raw) {
		t.Fatal("NeedsTransform = false for compressed-data")
	}
	out := p.Transform(context.Background(), bobRef, bobKeys(t), raw)
	msg := string(out.Message)
	if !out.Changed || !strings.Contains(msg, "squashed but readable") {
		t.Fatalf("not opened:\n%s", msg)
	}
	if got := fieldValue(t, out.Message, "X-SMIME-Status"); got != "decompressed" {
		t.Errorf("status %q, want decompressed", got)
	}
	if strings.Contains(msg, "smime-type=compressed-data") {
		t.Errorf("the outer content type survived:\n%s", msg)
	}
}

// TestCorruptCompressedDataKeepsBody: a compressed layer that does not
// inflate reaches the client unchanged, with the reason.
func TestCorruptCompressedDataKeepsBody(t *testing.T) {
	raw := compressedMessage("bm90IGNtcw==")
	p := newTestPipeline(t, Options{})
	out := p.Transform(context.Background(), bobRef, bobKeys(t), raw)
	if got := fieldValue(t, out.Message, "X-SMIME-Status"); got != "not-decompressed; reason=corrupt" {
		t.Errorf("status %q", got)
	}
	if !strings.HasSuffix(string(out.Message), "\r\n\r\nbm90IGNtcw==\r\n") {
		t.Errorf("body changed:\n%s", out.Message)
	}
}
