package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// TestAuditLog: each decryption attempt is logged with the user, mailbox,
// UID and outcome (issue 2, "Logs"), read here from the JSON log format.
func TestAuditLog(t *testing.T) {
	f := newFixture(t, proxyOptions{jsonLog: true})
	p := loginInbox(t, f.px.addr, userAlice)
	uids := uidsByMessageID(t, p)
	for _, m := range env.corpus.messages {
		if m.smime() {
			wholeBody(t, p, uids[m.messageID()])
		}
	}
	mustOK(t, "LOGOUT", p.Logout().Wait())
	events := logEvents(t, f.px.logPath)

	for _, m := range env.corpus.messages {
		if !m.smime() {
			continue
		}
		// The log's outcome is the contract's DecryptOutcome: "decrypted" or
		// the status field's reason.
		outcome := "decrypted"
		if !m.decrypts() {
			outcome = statusParam(m.status, "reason")
		}
		if !hasEvent(events, uids[m.messageID()], outcome) {
			t.Errorf("%s: no log line with user=%s mailbox=INBOX uid=%d outcome=%s",
				m.name, userAlice, uids[m.messageID()], outcome)
		}
	}
}

// logEvents parses the proxy's JSON log, one object per line.
func logEvents(t *testing.T, path string) []map[string]any {
	t.Helper()
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	var events []map[string]any
	sc := bufio.NewScanner(file)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev map[string]any
		if json.Unmarshal(sc.Bytes(), &ev) == nil {
			events = append(events, ev)
		}
	}
	if len(events) == 0 {
		t.Fatalf("no JSON lines in the proxy's log:\n%s", readFile(path))
	}
	return events
}

func hasEvent(events []map[string]any, uid imap.UID, outcome string) bool {
	for _, ev := range events {
		if fmt.Sprint(ev["uid"]) == fmt.Sprint(uid) && ev["user"] == userAlice &&
			ev["mailbox"] == "INBOX" && ev["outcome"] == outcome {
			return true
		}
	}
	return false
}
