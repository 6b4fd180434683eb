package imapproxy

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkFetchEncrypted20MB fetches one 20 MB AES-256-CBC message through
// the proxy and reports the proxy's peak heap growth as a multiple of the
// message size. Both ends allocate nothing per fetch: the upstream writes
// a response prepared beforehand and the client is a raw socket that
// discards what it reads, so the growth measured in this process is the
// proxy's alone.
//
//	go test -run='^$' -bench=FetchEncrypted20MB -benchtime=5x ./proxy/imapproxy
func BenchmarkFetchEncrypted20MB(b *testing.B) {
	f := newFixture(b, fixtureOptions{insecureAuth: true, noCache: true})
	content := make([]byte, 11<<20) // about 20 MiB once encoded twice in base64
	rand.Read(content)
	inner := "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		wrapLines(content)
	msg := encryptedMessage(b, f.cert, "big", inner)
	f.server.opts.Upstream.Address = serveOnLoopback(b, scriptedUpstream(msg))

	var peak float64
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		growth := measurePeakHeap(func() { rawFetch(b, f.proxy, "UID FETCH 1 BODY.PEEK[]") })
		peak = max(peak, float64(growth)/float64(len(msg)))
	}
	b.ReportMetric(peak, "peak-heap/msg")
	b.ReportMetric(float64(len(msg))/(1<<20), "msg-MiB")
}

// scriptedUpstream answers just what the proxy sends for one client that
// logs in, selects INBOX and fetches message 1 whole: the reply to the
// fetch is built once, before any client connects.
func scriptedUpstream(msg string) func(net.Listener) error {
	fetchReply := []byte(fmt.Sprintf("* 1 FETCH (UID 1 BODY[] {%d}\r\n%s)\r\n", len(msg), msg))
	return func(ln net.Listener) error {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return err
			}
			go serveScripted(conn, fetchReply)
		}
	}
}

func serveScripted(conn net.Conn, fetchReply []byte) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	io.WriteString(conn, "* OK [CAPABILITY IMAP4rev1 UIDPLUS] ready\r\n")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		tag, cmd, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch verb, _, _ := strings.Cut(strings.ToUpper(cmd), " "); verb {
		case "SELECT":
			io.WriteString(conn, "* 1 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n")
		case "UID":
			conn.Write(fetchReply)
		case "LOGOUT":
			io.WriteString(conn, "* BYE bye\r\n"+tag+" OK done\r\n")
			return
		}
		io.WriteString(conn, tag+" OK done\r\n")
	}
}

func wrapLines(data []byte) string {
	enc := []byte(base64.StdEncoding.EncodeToString(data))
	var sb strings.Builder
	for len(enc) > 76 {
		sb.Write(enc[:76])
		sb.WriteString("\r\n")
		enc = enc[76:]
	}
	sb.Write(enc)
	sb.WriteString("\r\n")
	return sb.String()
}

// measurePeakHeap runs fn while sampling the live heap every millisecond
// and returns the largest growth over the heap before fn.
func measurePeakHeap(fn func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	base := read()
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		ticker := time.NewTicker(time.Millisecond)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case <-ticker.C:
				if v := read(); v > peak.Load() {
					peak.Store(v)
				}
			}
		}
	}()
	fn()
	close(done)
	if peak.Load() < base {
		return 0
	}
	return peak.Load() - base
}

// rawFetch logs in, selects INBOX, sends one command and discards the
// answer up to its tagged completion, holding no more than a line.
func rawFetch(b *testing.B, addr, command string) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReaderSize(conn, 64<<10)
	send := func(tag, line string) {
		if _, err := fmt.Fprintf(conn, "%s %s\r\n", tag, line); err != nil {
			b.Fatal(err)
		}
		for {
			text, err := r.ReadString('\n')
			if err != nil {
				b.Fatal(err)
			}
			if strings.HasPrefix(text, tag+" ") {
				if !strings.HasPrefix(text, tag+" OK") {
					b.Fatalf("%s: %s", line, text)
				}
				return
			}
			if n, ok := literalSize(text); ok {
				if _, err := io.CopyN(io.Discard, r, n); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	if _, err := r.ReadString('\n'); err != nil {
		b.Fatal(err)
	}
	send("a", "LOGIN "+testUser+" "+testPassword)
	send("b", "SELECT INBOX")
	send("c", command)
	send("d", "LOGOUT")
}

func literalSize(line string) (int64, bool) {
	line = strings.TrimRight(line, "\r\n")
	if !strings.HasSuffix(line, "}") {
		return 0, false
	}
	open := strings.LastIndexByte(line, '{')
	if open < 0 {
		return 0, false
	}
	var n int64
	_, err := fmt.Sscanf(line[open+1:len(line)-1], "%d", &n)
	return n, err == nil
}

// BenchmarkFetchPlain500 fetches 500 plain 20 KB messages with one UID
// FETCH 1:* BODY.PEEK[], straight from the in-memory upstream and through
// the proxy, for profiling the proxy's relay path:
//
//	go test -run='^$' -bench=FetchPlain500 -cpuprofile=cpu.out ./proxy/imapproxy
func BenchmarkFetchPlain500(b *testing.B) {
	f := newFixture(b, fixtureOptions{insecureAuth: true})
	body := strings.Repeat("All work and no play makes a dull message body.\r\n", 400)
	for i := 0; i < 500; i++ {
		f.deliver(plainMessage + body)
	}
	for _, target := range []struct{ name, addr string }{{"direct", f.upstream}, {"proxy", f.proxy}} {
		b.Run(target.name, func(b *testing.B) {
			b.SetBytes(int64(500 * (len(plainMessage) + len(body))))
			for i := 0; i < b.N; i++ {
				rawFetch(b, target.addr, "UID FETCH 1:* BODY.PEEK[]")
			}
		})
	}
}
