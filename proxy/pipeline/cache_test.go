package pipeline

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/smimeproxy/smimeproxy/smime"
)

func TestCache(t *testing.T) {
	raw := encryptedMessage(t, "", innerEntity, []string{"-aes256"}, "bob")
	keys := bobKeys(t)
	p := newTestPipeline(t, Options{CacheBytes: 1 << 20})
	first := p.Transform(context.Background(), bobRef, keys, raw)
	second := p.Transform(context.Background(), bobRef, keys, raw)
	if first != second || keys.calls.Load() != 1 {
		t.Fatalf("second transform not from cache (keys asked %d times)", keys.calls.Load())
	}
	cached, ok := p.Cached(bobRef)
	if !ok || cached.Size() != len(first.Message) {
		t.Fatalf("Cached = %v, %t", cached, ok)
	}

	// Same mailbox and UID, another user: never bob's plaintext.
	carolRef := bobRef
	carolRef.User = "carol@example.org"
	if _, ok := p.Cached(carolRef); ok {
		t.Fatal("carol sees bob's cache entry")
	}
	carolKeys := &countingKeys{keys: []smime.Key{testKey(t, "carol")}}
	out := p.Transform(context.Background(), carolRef, carolKeys, raw)
	if out.Decrypt.Outcome != smime.OutcomeNoKey || carolKeys.calls.Load() != 1 {
		t.Fatalf("carol got %s", out.Decrypt.Outcome)
	}
	if bytes.Contains(out.Message, []byte("the code is 42")) {
		t.Fatal("carol got bob's plaintext")
	}
	again, _ := p.Cached(bobRef)
	if again != first {
		t.Error("bob's entry replaced by carol's")
	}

	// POP3 refs are cached by UIDL; refs without identity are not cached.
	pop := MessageRef{User: "bob@example.org", POP3UIDL: "u1"}
	p.Transform(context.Background(), pop, keys, raw)
	if _, ok := p.Cached(pop); !ok {
		t.Error("pop3 ref not cached")
	}
	for _, ref := range []MessageRef{{Mailbox: "INBOX", UID: 1}, {User: "bob@example.org"}} {
		p.Transform(context.Background(), ref, keys, raw)
		if _, ok := p.Cached(ref); ok {
			t.Errorf("ref %+v cached", ref)
		}
	}
}

func TestCacheIsBounded(t *testing.T) {
	raw := encryptedMessage(t, "", innerEntity, []string{"-aes256"}, "bob")
	keys := bobKeys(t)
	probe := newTestPipeline(t, Options{}).Transform(context.Background(), bobRef, keys, raw)
	entry := int64(probe.Size()+len(bobRef.User)+len(bobRef.Mailbox)) + entryOverhead
	p := newTestPipeline(t, Options{CacheBytes: 2*entry + entry/2})
	refs := make([]MessageRef, 4)
	for i := range refs {
		refs[i] = bobRef
		refs[i].UID = uint32(100 + i)
		p.Transform(context.Background(), refs[i], keys, raw)
		if i == 1 {
			p.Cached(refs[0]) // refs[0] is now the most recently used
		}
	}
	n, used := p.cache.stats()
	if n != 2 || used > p.opts.CacheBytes {
		t.Fatalf("cache holds %d entries, %d bytes (bound %d)", n, used, p.opts.CacheBytes)
	}
	for i, want := range []bool{false, false, true, true} {
		if _, ok := p.Cached(refs[i]); ok != want {
			t.Errorf("ref %d cached = %t, want %t", i, ok, want)
		}
	}
	tiny := newTestPipeline(t, Options{CacheBytes: 10})
	tiny.Transform(context.Background(), bobRef, keys, raw)
	if n, _ := tiny.cache.stats(); n != 0 {
		t.Error("entry larger than the cache was stored")
	}
}

func TestCacheConcurrent(t *testing.T) {
	raw := encryptedMessage(t, "", innerEntity, []string{"-aes256"}, "bob")
	keys := bobKeys(t)
	p := newTestPipeline(t, Options{CacheBytes: 8 << 10})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				ref := bobRef
				ref.UID = uint32(i % 5)
				ref.User = []string{"bob", "carol"}[g%2]
				out := p.Transform(context.Background(), ref, keys, raw)
				if out.Decrypt == nil || out.Decrypt.Outcome != smime.OutcomeDecrypted {
					t.Errorf("outcome %v", out.Decrypt)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	if _, used := p.cache.stats(); used > p.opts.CacheBytes {
		t.Errorf("cache over its bound: %d", used)
	}
}
