package pop3proxy

import (
	"strconv"
	"strings"
)

// cmdStat answers STAT (RFC 1939 section 5) with the sizes RETR will
// return.
func (sess *session) cmdStat(_ []string, _ string) error {
	drop, err := sess.loadMaildrop()
	if err != nil {
		return sess.relay("STAT", "", err)
	}
	live := drop.live()
	if err := sess.size(live); err != nil {
		return sess.relay("STAT", "", err)
	}
	var total int64
	for _, m := range live {
		total += m.size
	}
	return sess.reply("+OK " + strconv.Itoa(len(live)) + " " + strconv.FormatInt(total, 10))
}

// cmdList answers LIST [msg] (RFC 1939 section 5) with the sizes RETR
// will return.
func (sess *session) cmdList(args []string, _ string) error {
	if len(args) > 1 {
		return sess.reply("-ERR Syntax: LIST [msg]")
	}
	if len(args) == 1 {
		m, err := sess.lookup(args[0])
		if m == nil {
			return err
		}
		if err := sess.size([]*message{m}); err != nil {
			return sess.relay("LIST", "", err)
		}
		return sess.reply("+OK " + strconv.Itoa(m.num) + " " + strconv.FormatInt(m.size, 10))
	}
	drop, err := sess.loadMaildrop()
	if err != nil {
		return sess.relay("LIST", "", err)
	}
	live := drop.live()
	if err := sess.size(live); err != nil {
		return sess.relay("LIST", "", err)
	}
	var b strings.Builder
	for _, m := range live {
		b.WriteString(strconv.Itoa(m.num) + " " + strconv.FormatInt(m.size, 10) + "\r\n")
	}
	return sess.replyMulti(strconv.Itoa(len(live))+" messages", []byte(b.String()))
}

// cmdUIDL answers UIDL [msg] (RFC 1939 section 7) with the mailbox
// server's unique ids, unchanged: clients keep state by them.
func (sess *session) cmdUIDL(args []string, _ string) error {
	if len(args) > 1 {
		return sess.reply("-ERR Syntax: UIDL [msg]")
	}
	drop, err := sess.loadMaildrop()
	if err != nil {
		return sess.relay("UIDL", "", err)
	}
	if drop.uidlRefusal != nil {
		return sess.reply(errLine(drop.uidlRefusal.Text))
	}
	if len(args) == 1 {
		m, err := sess.lookup(args[0])
		if m == nil {
			return err
		}
		return sess.reply("+OK " + strconv.Itoa(m.num) + " " + m.uidl)
	}
	var b strings.Builder
	for _, m := range drop.live() {
		b.WriteString(strconv.Itoa(m.num) + " " + m.uidl + "\r\n")
	}
	return sess.replyMulti("Unique-ID listing follows", []byte(b.String()))
}

// cmdDele relays DELE (RFC 1939 section 5); the server deletes the
// message only if the session reaches the UPDATE state.
func (sess *session) cmdDele(args []string, _ string) error {
	if len(args) != 1 {
		return sess.reply("-ERR Syntax: DELE msg")
	}
	m, err := sess.lookup(args[0])
	if m == nil {
		return err
	}
	text, err := sess.up.Cmd("DELE %d", m.num)
	if err == nil {
		m.deleted = true
	}
	return sess.relay("DELE", text, err)
}

// cmdRset relays RSET (RFC 1939 section 5).
func (sess *session) cmdRset(_ []string, _ string) error {
	text, err := sess.up.Cmd("RSET")
	if err == nil && sess.drop != nil {
		for _, m := range sess.drop.msgs {
			m.deleted = false
		}
	}
	return sess.relay("RSET", text, err)
}

// cmdNoop relays NOOP, which keeps the upstream connection alive too.
func (sess *session) cmdNoop(_ []string, _ string) error {
	text, err := sess.up.Cmd("NOOP")
	return sess.relay("NOOP", text, err)
}

// cmdQuit relays QUIT. In the TRANSACTION state this is the UPDATE state
// (RFC 1939 section 6): the server deletes what was marked, and its
// answer, +OK or -ERR, says whether that worked.
func (sess *session) cmdQuit(_ []string, _ string) error {
	text, err := sess.up.Quit()
	if sess.state == stateAuthorization && err != nil && !isRefusal(err) {
		text, err = "Bye", nil
	}
	if sess.state == stateTransaction {
		sess.log.Info("update state reached", "deleted", sess.deletedCount(), "ok", err == nil)
	}
	sess.relay("QUIT", text, err)
	return errEndSession
}

func (sess *session) deletedCount() int {
	n := 0
	if sess.drop != nil {
		for _, m := range sess.drop.msgs {
			if m.deleted {
				n++
			}
		}
	}
	return n
}
