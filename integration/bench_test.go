package integration

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// BenchmarkFetchPlain500 fetches 500 plain 20 KB messages (UID FETCH 1:*
// BODY.PEEK[]) straight from Dovecot, through a bare TCP relay, and through
// the proxy, all without TLS upstream so that only the hop and the proxy's
// work differ; the -tls variants use STARTTLS to Dovecot (the client talks
// plaintext to the proxy). Issue 2's target: proxy <= 1.25 x direct.
func BenchmarkFetchPlain500(b *testing.B) {
	requireBinary(b)
	dv := startDovecot(b)
	var total int64
	for i := range 500 {
		msg := plainMessage20K(i)
		total += int64(len(crlf(msg)))
		dv.deliver(b, userAlice, msg)
	}
	plainProxy := startProxy(b, dv, proxyOptions{upstreamTLS: "none"})
	tlsProxy := startProxy(b, dv, proxyOptions{})
	relay := startRelay(b, dv.imapAddr)

	cases := []struct {
		name     string
		addr     string
		starttls bool
	}{
		{"direct", dv.imapAddr, false},
		{"relay", relay, false},
		{"proxy", plainProxy.addr, false},
		{"direct-tls", dv.imapAddr, true},
		{"proxy-tls", tlsProxy.addr, false},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			c := benchClient(b, bc.addr, bc.starttls)
			b.SetBytes(total)
			b.ResetTimer()
			for range b.N {
				if n := fetchAllDiscard(b, c); n != total {
					b.Fatalf("fetched %d bytes, want %d", n, total)
				}
			}
		})
	}
}

// BenchmarkFetchEncrypted20MB fetches one 20 MB AES-256-CBC message through
// the proxy and reports the proxy's peak resident memory (VmHWM: the proxy
// is a child process) and its ratio to the message size. Issue 2's target:
// peak heap <= 4 x message size.
func BenchmarkFetchEncrypted20MB(b *testing.B) {
	requireBinary(b)
	dv := startDovecot(b)
	msg, innerLen := bigEncryptedMessage(b)
	dv.deliver(b, userAlice, msg)
	px := startProxy(b, dv, proxyOptions{})
	c := benchClient(b, px.addr, false)
	baseline := peakRSS(b, px.pid())

	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for range b.N {
		if n := fetchAllDiscard(b, c); n < int64(innerLen) {
			b.Fatalf("fetched %d bytes, want the decrypted %d and more", n, innerLen)
		}
	}
	b.StopTimer()
	peak := peakRSS(b, px.pid())
	mb := float64(peak) / (1 << 20)
	b.ReportMetric(mb, "peak-rss-MB")
	b.ReportMetric(float64(baseline)/(1<<20), "start-rss-MB")
	b.ReportMetric(float64(len(msg))/(1<<20), "msg-MB")
	b.ReportMetric(float64(peak)/float64(len(msg)), "peak-rss/msg-size")
}

func plainMessage20K(i int) []byte {
	var sb strings.Builder
	fmt.Fprintf(&sb, "From: sender@example.net\nTo: alice@example.org\n"+
		"Subject: bulk %d\nMessage-ID: <bulk-%d@test.smimeproxy.invalid>\n"+
		"Content-Type: text/plain; charset=us-ascii\n\n", i, i)
	line := strings.Repeat("lorem ipsum dolor sit amet ", 3) + "\n"
	for sb.Len() < 20*1024 {
		sb.WriteString(line)
	}
	return []byte(sb.String())
}

// bigEncryptedMessage is a ~20 MB S/MIME message to alice and the length of
// its inner entity.
func bigEncryptedMessage(b *testing.B) ([]byte, int) {
	b.Helper()
	random := make([]byte, 10_800_000) // base64 inside and out: ~20 MB on disk
	if _, err := rand.Read(random); err != nil {
		b.Fatal(err)
	}
	var sb strings.Builder
	sb.WriteString("Content-Type: application/octet-stream; name=\"big.bin\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(random)
	for len(enc) > 76 {
		sb.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	sb.WriteString(enc + "\r\n")
	inner := []byte(sb.String())
	spec := encSpec{name: "big", cipher: "-aes256", recipients: []string{idAlice}}
	dir := b.TempDir()
	smime, err := opensslEncrypt(dir, env.pki, spec, inner, "SMIME")
	if err != nil {
		b.Fatal(err)
	}
	return append([]byte(outerHeader("big", "alice@example.org")), smime...), len(inner)
}

func benchClient(b *testing.B, addr string, starttls bool) *imapclient.Client {
	b.Helper()
	var c *imapclient.Client
	var err error
	if starttls {
		c, err = imapclient.DialStartTLS(addr, &imapclient.Options{TLSConfig: clientTLS(b)})
	} else {
		c, err = imapclient.DialInsecure(addr, nil)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	if err := c.Login(userAlice, testUsers[userAlice]).Wait(); err != nil {
		b.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		b.Fatal(err)
	}
	return c
}

// fetchAllDiscard streams BODY.PEEK[] of every message and returns the bytes
// read, without keeping them: the client's memory must not be what we time.
func fetchAllDiscard(b *testing.B, c *imapclient.Client) int64 {
	all := imap.UIDSet{}
	all.AddRange(1, 0)
	cmd := c.Fetch(all, &imap.FetchOptions{
		BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
	var n int64
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		for item := msg.Next(); item != nil; item = msg.Next() {
			if body, ok := item.(imapclient.FetchItemDataBodySection); ok && body.Literal != nil {
				k, err := io.Copy(io.Discard, body.Literal)
				if err != nil {
					b.Fatal(err)
				}
				n += k
			}
		}
	}
	if err := cmd.Close(); err != nil {
		b.Fatalf("UID FETCH 1:* BODY.PEEK[]: %v", err)
	}
	return n
}

// startRelay is a bare TCP relay to upstream: the cost of one more hop with
// no IMAP work, to tell the proxy's own cost from the extra connection's.
func startRelay(tb testing.TB, upstream string) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	tb.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			client, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); relayConn(client, upstream) }()
		}
	}()
	return l.Addr().String()
}

func relayConn(client net.Conn, upstream string) {
	defer client.Close()
	server, err := net.Dial("tcp", upstream)
	if err != nil {
		return
	}
	defer server.Close()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(server, client)
		server.Close()
		close(done)
	}()
	_, _ = io.Copy(client, server)
	client.Close()
	<-done
}

// peakRSS reads VmHWM (peak resident set size) of a process, in bytes.
func peakRSS(tb testing.TB, pid int) int64 {
	tb.Helper()
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 3 && fields[0] == "VmHWM:" && fields[2] == "kB" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb << 10
		}
	}
	tb.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}
