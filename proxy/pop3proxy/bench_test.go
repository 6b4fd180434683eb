package pop3proxy

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkFirstStat measures the first STAT of a maildrop of 200
// messages, half encrypted: classification, fetching and decryption.
func BenchmarkFirstStat(b *testing.B) {
	f := newBenchFixture(b, 200)
	for i := range b.N {
		b.StopTimer()
		waitIdle(b, f.server) // then no session reads what changes here
		f.server.sizes = newSizeCache(1000)
		f.server.opts.Pipeline = pipelineForBench()
		b.StartTimer()
		c := f.dial(f.addr, true)
		if n, _ := statB(b, c); n != 200 {
			b.Fatalf("iteration %d: STAT %d", i, n)
		}
		c.Quit()
	}
}

// BenchmarkRetrPlain retrieves 100 plain 20 KB messages one by one from
// the fake server, directly and through the proxy.
func BenchmarkRetrPlain(b *testing.B) {
	f := newBenchFixture(b, 0)
	body := strings.Repeat("lorem ipsum dolor sit amet lorem ipsum dolor sit amet\r\n", 370)
	for i := range 100 {
		f.up.add(fmt.Sprintf("p%d", i), fmt.Sprintf("Subject: %d\r\n\r\n%s", i, body))
	}
	for _, bc := range []struct{ name, addr string }{{"direct", f.up.addr}, {"proxy", f.addr}} {
		b.Run(bc.name, func(b *testing.B) {
			c := f.dial(bc.addr, true)
			b.ResetTimer()
			for range b.N {
				for n := 1; n <= 100; n++ {
					if _, err := c.Retr(n); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

func newBenchFixture(b *testing.B, n int) *fixture {
	f := newFixture(b, fixtureOptions{insecureAuth: true, emptyMaildrop: true})
	for i := range n {
		if i%2 == 0 {
			f.up.add(fmt.Sprintf("p%d", i), plainMessage)
		} else {
			f.up.add(fmt.Sprintf("e%d", i), encryptedMessage(b, f.cert, fmt.Sprintf("s%d", i),
				secretInner))
		}
	}
	return f
}
