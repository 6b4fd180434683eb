package pop3proxy

import (
	"bufio"
	"crypto/md5"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// fakeServer is a scripted POP3 mailbox server on 127.0.0.1:0 with one
// user and a maildrop that persists across sessions, as a real one does.
type fakeServer struct {
	t        testing.TB
	addr     string
	user     string
	password string
	// caps is the CAPA list; nil answers CAPA with -ERR.
	caps []string
	// apop puts a timestamp in the greeting.
	apop bool
	// tlsConfig enables STLS.
	tlsConfig *tls.Config
	// dropAt closes the connection halfway through RETR of that message.
	dropAt atomic.Int32

	mu    sync.Mutex
	msgs  []*fakeMessage
	quits int // QUITs received in the TRANSACTION state

	retrs, tops atomic.Int32
	conns       atomic.Int32
}

type fakeMessage struct {
	uidl string
	data string // CRLF line endings
}

func newFakeServer(t testing.TB, user, password string) *fakeServer {
	t.Helper()
	f := &fakeServer{t: t, user: user, password: password, caps: []string{
		"TOP", "UIDL", "USER", "PIPELINING", "RESP-CODES", "SASL PLAIN LOGIN", "EXPIRE NEVER",
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			f.conns.Add(1)
			go f.serve(conn)
		}
	}()
	return f
}

func (f *fakeServer) add(uidl, data string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, &fakeMessage{uidl: uidl, data: data})
}

func (f *fakeServer) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.msgs)
}

// fakeSession is one connection to the fake server.
type fakeSession struct {
	f       *fakeServer
	conn    net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	stamp   string
	user    string
	in      bool
	msgs    []*fakeMessage // snapshot at login
	deleted map[int]bool
}

func (f *fakeServer) serve(conn net.Conn) {
	defer conn.Close()
	s := &fakeSession{f: f, conn: conn, r: bufio.NewReader(conn), w: bufio.NewWriter(conn),
		deleted: map[int]bool{}}
	greeting := "+OK fake ready"
	if f.apop {
		s.stamp = fmt.Sprintf("<%d.%d@fake.test>", f.conns.Load(), len(f.addr))
		greeting += " " + s.stamp
	}
	s.send(greeting)
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return
		}
		if !s.handle(strings.TrimRight(line, "\r\n")) {
			return
		}
	}
}

func (s *fakeSession) send(lines ...string) {
	for _, l := range lines {
		s.w.WriteString(l + "\r\n")
	}
	s.w.Flush()
}

func (s *fakeSession) multi(status string, body string) {
	s.w.WriteString(status + "\r\n")
	writeMultiline(s.w, []byte(body))
	s.w.Flush()
}

func (s *fakeSession) handle(line string) bool {
	name, args := parseCommand(line)
	if !s.in {
		return s.handleAuth(name, args, line)
	}
	switch name {
	case "STAT":
		n, total := 0, 0
		for i, m := range s.msgs {
			if !s.deleted[i] {
				n, total = n+1, total+len(m.data)
			}
		}
		s.send(fmt.Sprintf("+OK %d %d", n, total))
	case "LIST", "UIDL":
		s.listing(name, args)
	case "RETR", "TOP":
		return s.retr(name, args)
	case "DELE":
		if i, ok := s.index(args); ok {
			s.deleted[i] = true
			s.send("+OK Marked to be deleted.")
		}
	case "RSET":
		s.deleted = map[int]bool{}
		s.send("+OK")
	case "NOOP":
		s.send("+OK")
	case "QUIT":
		s.update()
		s.send("+OK Logging out, messages deleted.")
		return false
	case "CAPA":
		s.capa()
	default:
		s.send("-ERR Unknown command")
	}
	return true
}

func (s *fakeSession) handleAuth(name string, args []string, line string) bool {
	switch name {
	case "CAPA":
		s.capa()
	case "STLS":
		if s.f.tlsConfig == nil {
			s.send("-ERR no TLS")
			return true
		}
		s.send("+OK Begin TLS")
		tlsConn := tls.Server(s.conn, s.f.tlsConfig)
		if tlsConn.Handshake() != nil {
			return false
		}
		s.conn, s.r, s.w = tlsConn, bufio.NewReader(tlsConn), bufio.NewWriter(tlsConn)
	case "USER":
		s.user = strings.Join(args, " ")
		s.send("+OK")
	case "PASS":
		s.login(s.user, argument(line))
	case "APOP":
		sum := md5.Sum([]byte(s.stamp + s.f.password))
		if len(args) == 2 && s.stamp != "" && args[1] == hex.EncodeToString(sum[:]) {
			s.login(args[0], s.f.password)
		} else {
			s.send("-ERR [AUTH] Authentication failed.")
		}
	case "AUTH":
		s.auth(args)
	case "QUIT":
		s.send("+OK Bye")
		return false
	default:
		s.send("-ERR Unknown command in AUTHORIZATION")
	}
	return true
}

func (s *fakeSession) auth(args []string) {
	var user, pass string
	switch {
	case len(args) >= 1 && strings.EqualFold(args[0], "PLAIN"):
		resp := ""
		if len(args) == 2 {
			resp = args[1]
		} else {
			s.send("+ ")
			resp = s.readLine()
		}
		dec, _ := base64.StdEncoding.DecodeString(resp)
		parts := strings.Split(string(dec), "\x00")
		if len(parts) == 3 {
			user, pass = parts[1], parts[2]
		}
	case len(args) == 1 && strings.EqualFold(args[0], "LOGIN"):
		s.send("+ VXNlcm5hbWU6")
		u, _ := base64.StdEncoding.DecodeString(s.readLine())
		s.send("+ UGFzc3dvcmQ6")
		p, _ := base64.StdEncoding.DecodeString(s.readLine())
		user, pass = string(u), string(p)
	default:
		s.send("-ERR Unsupported mechanism")
		return
	}
	s.login(user, pass)
}

func (s *fakeSession) readLine() string {
	line, _ := s.r.ReadString('\n')
	return strings.TrimRight(line, "\r\n")
}

func (s *fakeSession) login(user, pass string) {
	if user != s.f.user || pass != s.f.password {
		s.send("-ERR [AUTH] Invalid user name or password (fake).")
		return
	}
	s.f.mu.Lock()
	s.msgs = append([]*fakeMessage(nil), s.f.msgs...)
	s.f.mu.Unlock()
	s.in = true
	s.send("+OK Logged in.")
}

func (s *fakeSession) capa() {
	if s.f.caps == nil {
		s.send("-ERR Unknown command")
		return
	}
	caps := s.f.caps
	if s.f.tlsConfig != nil {
		caps = append(caps[:len(caps):len(caps)], "STLS")
	}
	s.multi("+OK", strings.Join(caps, "\r\n"))
}

func (s *fakeSession) index(args []string) (int, bool) {
	if len(args) == 0 {
		s.send("-ERR Syntax")
		return 0, false
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 || n > len(s.msgs) || s.deleted[n-1] {
		s.send("-ERR There's no message " + args[0] + ".")
		return 0, false
	}
	return n - 1, true
}

func (s *fakeSession) listing(name string, args []string) {
	value := func(i int) string {
		if name == "LIST" {
			return strconv.Itoa(len(s.msgs[i].data))
		}
		return s.msgs[i].uidl
	}
	if len(args) == 1 {
		if i, ok := s.index(args); ok {
			s.send(fmt.Sprintf("+OK %d %s", i+1, value(i)))
		}
		return
	}
	var b strings.Builder
	for i := range s.msgs {
		if !s.deleted[i] {
			fmt.Fprintf(&b, "%d %s\r\n", i+1, value(i))
		}
	}
	s.multi("+OK", b.String())
}

func (s *fakeSession) retr(name string, args []string) bool {
	i, ok := s.index(args)
	if !ok {
		return true
	}
	data := s.msgs[i].data
	if name == "TOP" {
		s.f.tops.Add(1)
		n, _ := strconv.Atoi(args[1])
		data = string(top([]byte(data), n))
	} else {
		s.f.retrs.Add(1)
	}
	if name == "RETR" && int(s.f.dropAt.Load()) == i+1 {
		s.w.WriteString("+OK\r\n" + data[:len(data)/2])
		s.w.Flush()
		return false
	}
	s.multi("+OK", data)
	return true
}

// update is the UPDATE state: marked messages leave the maildrop.
func (s *fakeSession) update() {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.f.quits++
	var keep []*fakeMessage
	for _, m := range s.f.msgs {
		gone := false
		for i, mine := range s.msgs {
			if mine == m && s.deleted[i] {
				gone = true
			}
		}
		if !gone {
			keep = append(keep, m)
		}
	}
	s.f.msgs = keep
}
