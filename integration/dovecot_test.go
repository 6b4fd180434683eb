package integration

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Test mailbox users and their passwords (passdb scheme PLAIN).
var testUsers = map[string]string{
	"alice@example.org": "alice-imap-password",
	"bob@example.org":   "bob-imap-password",
	"carol@example.org": "carol-imap-password",
}

const userAlice, userBob, userCarol = "alice@example.org", "bob@example.org", "carol@example.org"

// dovecot is a private Dovecot instance for one test.
type dovecot struct {
	dir       string
	conf      string
	mailDir   string
	logPath   string
	imapAddr  string
	imapsAddr string
	pop3Addr  string
	pop3sAddr string
	uid, gid  int // vmail
	cmd       *exec.Cmd
	exited    chan struct{}
	seq       atomic.Int64 // Maildir file name counter
}

func lookupVmail() (*user.User, error) { return user.Lookup("vmail") }

// startDovecot writes a self-contained config into a temp dir, starts
// `dovecot -F` on free loopback ports and stops it when the test ends.
func startDovecot(tb testing.TB) *dovecot {
	tb.Helper()
	requireEnv(tb)
	d := &dovecot{dir: testDir(tb)}
	d.mailDir = filepath.Join(d.dir, "mail")
	d.logPath = filepath.Join(d.dir, "dovecot.log")
	d.conf = filepath.Join(d.dir, "dovecot.conf")
	if err := d.prepare(); err != nil {
		tb.Fatal(err)
	}
	d.start(tb)
	if err := waitPort(d.imapAddr, 15*time.Second, d.exited); err != nil {
		tb.Fatalf("dovecot: %v\n%s", err, readFile(d.logPath))
	}
	return d
}

func (d *dovecot) prepare() error {
	u, err := lookupVmail()
	if err != nil {
		return err
	}
	d.uid, _ = strconv.Atoi(u.Uid)
	d.gid, _ = strconv.Atoi(u.Gid)
	if err := os.Mkdir(d.mailDir, 0o755); err != nil {
		return err
	}
	if err := os.Chown(d.mailDir, d.uid, d.gid); err != nil {
		return err
	}
	ports, err := freePorts(4)
	if err != nil {
		return err
	}
	d.imapAddr, d.imapsAddr = loopback(ports[0]), loopback(ports[1])
	d.pop3Addr, d.pop3sAddr = loopback(ports[2]), loopback(ports[3])
	if err := os.WriteFile(filepath.Join(d.dir, "passwd"), d.passwd(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(d.conf, []byte(d.config(ports)), 0o644)
}

func (d *dovecot) passwd() []byte {
	var b bytes.Buffer
	for _, name := range []string{userAlice, userBob, userCarol} {
		fmt.Fprintf(&b, "%s:{PLAIN}%s:%d:%d::%s\n", name, testUsers[name], d.uid, d.gid,
			filepath.Join(d.mailDir, name))
	}
	return b.Bytes()
}

func (d *dovecot) config(ports []int) string {
	return fmt.Sprintf(`# Written by smimeproxy's integration tests.
base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
instance_name = smimeproxy-test-%[2]d
listen = 127.0.0.1
protocols = imap pop3
ssl = yes
ssl_cert = <%[3]s
ssl_key = <%[4]s
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
passdb {
  driver = passwd-file
  args = scheme=PLAIN %[1]s/passwd
}
userdb {
  driver = passwd-file
  args = %[1]s/passwd
}
mail_location = maildir:~/Maildir
first_valid_uid = %[5]d
last_valid_uid = %[5]d
pop3_uidl_format = %%08Xu%%08Xv
# IDLE notices new mail by inotify; where that is unavailable, poll often.
mailbox_idle_check_interval = 1s
default_process_limit = 1000
default_client_limit = 4000
default_vsz_limit = 0
service imap-login {
  inet_listener imap {
    port = %[6]d
  }
  inet_listener imaps {
    port = %[7]d
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = %[8]d
  }
  inet_listener pop3s {
    port = %[9]d
    ssl = yes
  }
}
# Dovecot delays the next login from an address after a failed one (auth
# penalty, via anvil); the tests fail logins on purpose from 127.0.0.1, so
# the auth process is kept away from anvil's penalty socket.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
protocol imap {
  mail_max_userip_connections = 1000
}
protocol pop3 {
  mail_max_userip_connections = 1000
}
`, d.dir, ports[0], env.pki.serverCert, env.pki.serverKey, d.uid,
		ports[0], ports[1], ports[2], ports[3])
}

func (d *dovecot) start(tb testing.TB) {
	tb.Helper()
	d.cmd = exec.Command("dovecot", "-F", "-c", d.conf)
	out, err := os.Create(filepath.Join(d.dir, "dovecot.stderr"))
	if err != nil {
		tb.Fatal(err)
	}
	d.cmd.Stdout, d.cmd.Stderr = out, out
	if err := d.cmd.Start(); err != nil {
		tb.Fatalf("start dovecot: %v", err)
	}
	d.exited = make(chan struct{})
	go func() {
		_ = d.cmd.Wait()
		out.Close()
		close(d.exited)
	}()
	tb.Cleanup(func() {
		stopProcess(d.cmd.Process, d.exited)
		if tb.Failed() {
			tb.Logf("dovecot log:\n%s%s", readFile(d.logPath),
				readFile(filepath.Join(d.dir, "dovecot.stderr")))
		}
	})
}

// stopProcess sends SIGTERM, and SIGKILL if the process is still there after
// a grace period. Only the process this test started is signalled.
func stopProcess(p *os.Process, exited <-chan struct{}) {
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = p.Kill()
		<-exited
	}
}

// userMaildir is the Maildir of user's INBOX, created on first use.
func (d *dovecot) userMaildir(tb testing.TB, name string) string {
	tb.Helper()
	home := filepath.Join(d.mailDir, name)
	md := filepath.Join(home, "Maildir")
	for _, dir := range []string{home, md, md + "/cur", md + "/new", md + "/tmp"} {
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			tb.Fatal(err)
		}
		if err := os.Chown(dir, d.uid, d.gid); err != nil {
			tb.Fatal(err)
		}
	}
	return md
}

// deliver writes raw into user's INBOX the way an MDA does: into tmp/, then
// renamed into new/ with a unique name, owned by vmail.
func (d *dovecot) deliver(tb testing.TB, name string, raw []byte) {
	tb.Helper()
	md := d.userMaildir(tb, name)
	now := time.Now()
	base := fmt.Sprintf("%d.M%dP%dQ%d.smimeproxy-test", now.Unix(), now.Nanosecond()/1000,
		os.Getpid(), d.seq.Add(1))
	tmp := filepath.Join(md, "tmp", base)
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.Chown(tmp, d.uid, d.gid); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(md, "new", base)); err != nil {
		tb.Fatal(err)
	}
}

// maildirFiles returns the contents of every message file in user's INBOX.
func (d *dovecot) maildirFiles(tb testing.TB, name string) [][]byte {
	tb.Helper()
	md := d.userMaildir(tb, name)
	var files [][]byte
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(md, sub))
		if err != nil {
			tb.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(md, sub, e.Name()))
			if err != nil {
				tb.Fatal(err)
			}
			files = append(files, b)
		}
	}
	return files
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// waitPort waits until addr accepts connections, or the process has exited.
func waitPort(addr string, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("exited before listening on %s", addr)
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("nothing listening on %s after %v", addr, timeout)
}

func readFile(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)\n", err)
	}
	return string(b)
}
