package pipeline

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smimeproxy/smimeproxy/smime"
	"github.com/smimeproxy/smimeproxy/smime/cms"
)

// bigEncryptedMessage returns a message of about size bytes: outer fields
// and a base64 AES-256-CBC envelope to bob holding a base64 attachment.
func bigEncryptedMessage(b *testing.B, size int) []byte {
	b.Helper()
	// base64 twice (inner attachment, outer envelope) grows data by ~16/9.
	payload := make([]byte, size*9/16)
	rng := rand.NewChaCha8([32]byte{1})
	_, _ = rng.Read(payload)
	var inner bytes.Buffer
	inner.WriteString("Content-Type: application/octet-stream\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n")
	writeBase64Lines(&inner, payload)
	der, err := cms.Encrypt(inner.Bytes(), []*x509.Certificate{testKey(b, "bob").Certificate},
		cms.EncryptOptions{Cipher: "aes-256-cbc"})
	if err != nil {
		b.Fatal(err)
	}
	var msg bytes.Buffer
	msg.WriteString(outerFields + "MIME-Version: 1.0\r\n" +
		"Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n")
	writeBase64Lines(&msg, der)
	return msg.Bytes()
}

func writeBase64Lines(w *bytes.Buffer, data []byte) {
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		w.WriteString(enc[:76])
		w.WriteString("\r\n")
		enc = enc[76:]
	}
	w.WriteString(enc + "\r\n")
}

// BenchmarkTransform20MB decrypts a 20 MB message per iteration, without
// the cache. Besides time and allocations it reports alloc/msg (bytes
// allocated per byte of message) and peak/msg (largest heap growth seen
// while transforming, per byte of message; sampled, so a lower bound).
func BenchmarkTransform20MB(b *testing.B) {
	raw := bigEncryptedMessage(b, 20<<20)
	keys := &countingKeys{keys: []smime.Key{testKey(b, "bob")}}
	p := New(Options{Limits: cms.Limits{MaxInputBytes: 64 << 20}})
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	var peak int64
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		runtime.GC() // so that peak/msg starts from the same heap each time
		b.StartTimer()
		stop := sampleHeapGrowth(&peak)
		out := p.Transform(context.Background(), MessageRef{}, keys, raw)
		stop()
		if out.Decrypt == nil || out.Decrypt.Outcome != smime.OutcomeDecrypted {
			b.Fatalf("result %v (%v)", out.Decrypt, errOf(out))
		}
	}
	b.ReportMetric(float64(peak)/float64(len(raw)), "peak/msg")
	b.ReportMetric(float64(len(raw))/(1<<20), "msg-MB")
}

// sampleHeapGrowth records, until stop is called, the largest growth of
// live heap objects over the level at the start.
func sampleHeapGrowth(peak *int64) (stop func()) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() int64 {
		metrics.Read(sample)
		return int64(sample[0].Value.Uint64())
	}
	base := read()
	var done atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !done.Load() {
			if grown := read() - base; grown > *peak {
				*peak = grown
			}
			time.Sleep(200 * time.Microsecond)
		}
	}()
	return func() {
		done.Store(true)
		wg.Wait()
	}
}

// BenchmarkTransformPlain20KB is the cost a plain message pays: the header
// scan of NeedsTransform and Transform, no copy.
func BenchmarkTransformPlain20KB(b *testing.B) {
	raw := []byte(outerFields + "Content-Type: text/plain; charset=utf-8\r\n\r\n" +
		strings.Repeat("a plain line of text that goes on for a while, 20 KB of it\r\n", 340))
	p := New(Options{AuthServID: "proxy.example.org"})
	keys := &countingKeys{}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if p.NeedsTransform(raw) {
			b.Fatal("plain message needs transform")
		}
		if out := p.Transform(context.Background(), MessageRef{}, keys, raw); out.Changed {
			b.Fatal("plain message changed")
		}
	}
}
