package integration

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// pyJob is the input of testdata/imapcheck.py.
type pyJob struct {
	Host      string      `json:"host"`
	Port      string      `json:"port"`
	TLS       string      `json:"tls"`
	CAFile    string      `json:"cafile"`
	User      string      `json:"user"`
	Password  string      `json:"password"`
	Mode      string      `json:"mode"`
	Mailboxes []pyMailbox `json:"mailboxes"`
	Items     []string    `json:"items"`
}

type pyMailbox struct {
	Name string     `json:"name"`
	UIDs []imap.UID `json:"uids"`
}

// pyResult is its output; Fetch is keyed "MAILBOX/UID", then by item name.
type pyResult struct {
	Capabilities []string                      `json:"capabilities"`
	LoginOK      bool                          `json:"login_ok"`
	LoginError   string                        `json:"login_error"`
	Fetch        map[string]map[string]pyValue `json:"fetch"`
}

// pyValue is an IMAP string (S, base64) or any other value in canonical
// text (V).
type pyValue struct {
	S *string `json:"s,omitempty"`
	V *string `json:"v,omitempty"`
}

func (v pyValue) String() string {
	if v.S != nil {
		return fmt.Sprintf("%q", v.bytes())
	}
	if v.V != nil {
		return *v.V
	}
	return "(absent)"
}

func (v pyValue) bytes() []byte {
	if v.S == nil {
		return nil
	}
	b, _ := base64.StdEncoding.DecodeString(*v.S)
	return b
}

// pythonItems is what imaplib asks for each message, RFC822 forms included
// (RFC822 and RFC822.TEXT set \Seen, so they come last).
var pythonItems = []string{
	"BODY.PEEK[]", "RFC822.SIZE", "BODY.PEEK[HEADER]", "BODY.PEEK[TEXT]", "BODY.PEEK[1]",
	"BODY.PEEK[HEADER.FIELDS (Subject From X-SMIME-Status)]", "BODY.PEEK[]<10.20>",
	"BODYSTRUCTURE", "BODY", "ENVELOPE", "RFC822.HEADER", "RFC822.TEXT", "RFC822",
}

func runPython(t *testing.T, addr string, job pyJob) *pyResult {
	t.Helper()
	job.Host, job.Port, _ = net.SplitHostPort(addr)
	job.CAFile = env.pki.caCert
	in, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	out, err := run(".", in, "python3", "testdata/imapcheck.py")
	if err != nil {
		t.Fatalf("imapcheck.py against %s: %v", addr, err)
	}
	var res pyResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("imapcheck.py output: %v\n%s", err, out)
	}
	return &res
}

// TestPythonImaplib reads every message through the proxy with Python's
// imaplib over STARTTLS and compares each answer, at the protocol level, with
// Dovecot's answer for the same bytes: plain messages as stored, S/MIME
// messages as the proxy shows them (stored on Dovecot as references).
func TestPythonImaplib(t *testing.T) {
	f := newFixture(t, proxyOptions{})
	s := newFetchSession(t, f)
	proxyBox := pyMailbox{Name: "INBOX"}
	plainBox := pyMailbox{Name: "INBOX"}
	refBox := pyMailbox{Name: referenceMailbox}
	directKey := map[string]string{} // message name -> key in Dovecot's result
	for _, m := range env.corpus.messages {
		proxyUID, directUID := s.uids(t, m)
		proxyBox.UIDs = append(proxyBox.UIDs, proxyUID)
		if m.smime() || m.name == "plain-forged-status" {
			ref := s.reference(t, wholeBody(t, s.proxy, proxyUID))
			refBox.UIDs = append(refBox.UIDs, ref)
			directKey[m.name] = fmt.Sprintf("%s/%d", referenceMailbox, ref)
		} else {
			plainBox.UIDs = append(plainBox.UIDs, directUID)
			directKey[m.name] = fmt.Sprintf("INBOX/%d", directUID)
		}
	}
	job := pyJob{TLS: "starttls", User: userAlice, Password: testUsers[userAlice],
		Mode: "fetch", Items: pythonItems}
	job.Mailboxes = []pyMailbox{proxyBox}
	viaProxy := runPython(t, f.px.addr, job)
	job.Mailboxes = []pyMailbox{plainBox, refBox}
	direct := runPython(t, f.dv.imapAddr, job)

	for _, m := range env.corpus.messages {
		t.Run(m.name, func(t *testing.T) {
			proxyUID, _ := s.uids(t, m)
			got := viaProxy.Fetch[fmt.Sprintf("INBOX/%d", proxyUID)]
			want := direct.Fetch[directKey[m.name]]
			exact := !m.smime() && m.name != "plain-forged-status"
			comparePython(t, got, want, exact)
			checkPythonConsistent(t, got)
		})
	}
}

// comparePython compares the items of one message. Unless exact (the
// proxy passes the message through), BODYSTRUCTURE and BODY are compared
// with their MIME parameters sorted: the proxy builds them itself.
func comparePython(t *testing.T, got, want map[string]pyValue, exact bool) {
	t.Helper()
	if !exact {
		for _, n := range []string{"BODYSTRUCTURE", "BODY"} {
			delete(got, n)
			delete(want, n)
		}
	}
	names := map[string]bool{}
	for n := range got {
		names[n] = true
	}
	for n := range want {
		names[n] = true
	}
	var sorted []string
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		if g, w := got[n], want[n]; g.String() != w.String() {
			t.Errorf("%s through the proxy:\n  %s\nDovecot:\n  %s", n, g, w)
		}
	}
}

// checkPythonConsistent: the RFC822 forms equal their BODY[] counterparts
// (RFC 3501 section 6.4.5) and the sizes agree.
func checkPythonConsistent(t *testing.T, got map[string]pyValue) {
	t.Helper()
	body := got["BODY[]"].bytes()
	pairs := [][2]string{{"RFC822", "BODY[]"}, {"RFC822.HEADER", "BODY[HEADER]"},
		{"RFC822.TEXT", "BODY[TEXT]"}}
	for _, p := range pairs {
		if !bytes.Equal(got[p[0]].bytes(), got[p[1]].bytes()) {
			t.Errorf("%s differs from %s", p[0], p[1])
		}
	}
	if size := got["RFC822.SIZE"].String(); size != fmt.Sprint(len(body)) {
		t.Errorf("RFC822.SIZE %s, len(BODY[]) %d", size, len(body))
	}
}

// TestPythonLoginFailure: imaplib sees the upstream's refusal text.
func TestPythonLoginFailure(t *testing.T) {
	f := newFixture(t, proxyOptions{})
	job := pyJob{TLS: "none", User: userAlice, Password: "wrong", Mode: "login"}
	got := runPython(t, f.px.addr, job)
	want := runPython(t, f.dv.imapAddr, job)
	if got.LoginOK || got.LoginError != want.LoginError {
		t.Errorf("imaplib login through the proxy: ok %t, error %q; Dovecot: %q",
			got.LoginOK, got.LoginError, want.LoginError)
	}
	job.Password = testUsers[userAlice]
	if ok := runPython(t, f.px.addr, job); !ok.LoginOK {
		t.Errorf("imaplib login with the right password: %s", ok.LoginError)
	}
}
